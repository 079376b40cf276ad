/**
 * Redaction: nothing Peregrine exports or stores may carry credentials or card numbers. One implementation for the
 * sensor (at the source, ebpf/agent/records.ts) and the detectors (findings are masked before they are encoded for
 * Elasticsearch, Kafka or a webhook, while detectors judge the raw values in memory). Pure string functions.
 * Masks are typed (`[REDACTED:jwt]`) so detectors still see that a secret was there. Applied to header values, request
 * targets (path and query), bodies (JSON, forms, text) and command lines — before anything is encoded or written.
 */

export interface RedactionConfig {
  /** Extra header names whose values are always masked (case-insensitive). */
  headers: string[];
  /** Extra field names (JSON keys, form/query parameters) whose values are always masked. */
  fields: string[];
}

export const DEFAULT_REDACTION: RedactionConfig = { headers: [], fields: [] };

export const ALWAYS_MASKED_HEADERS: ReadonlySet<string> = new Set([
  'authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'api-key', 'x-auth-token',
  'x-access-token', 'x-amz-security-token', 'x-csrf-token', 'x-xsrf-token', 'x-goog-api-key',
]);

// Field names, compared after lower-casing and removing everything but letters and digits.
const SENSITIVE_EXACT = new Set([
  'pass', 'pwd', 'pw', 'pin', 'ssn', 'cvv', 'cvc', 'cvv2', 'auth', 'sid', 'session', 'sessionid',
  'cookie', 'otp', 'mfa', 'iban', 'pan', 'cardnumber', 'ccnumber', 'creditcard', 'card',
  'signature', 'sig', 'code', 'key',
]);
const SENSITIVE_PARTS = [
  'password', 'passwd', 'passphrase', 'secret', 'token', 'apikey', 'accesskey', 'privatekey',
  'credential', 'authorization', 'clientsecret', 'sessionkey', 'securitycode',
];

// Names repeat endlessly (the same headers and fields on every request): remember the verdicts,
// per config. The last config is kept at hand (the sensor has one), sparing the WeakMap look-up.
interface Verdicts { fields: Map<string, boolean>; headers: Map<string, HeaderVerdict> }
const verdicts = new WeakMap<RedactionConfig, Verdicts>();
let lastConfig: RedactionConfig | undefined;
let lastVerdicts: Verdicts | undefined;

function verdictsFor(config: RedactionConfig): Verdicts {
  if (config === lastConfig) return lastVerdicts!;
  let v = verdicts.get(config);
  if (!v) verdicts.set(config, (v = { fields: new Map(), headers: new Map() }));
  lastConfig = config;
  lastVerdicts = v;
  return v;
}

function remember<T>(cache: Map<string, T>, name: string, verdict: T): T {
  if (cache.size >= 10_000) cache.clear();
  cache.set(name, verdict);
  return verdict;
}

export function isSensitiveField(name: string, config: RedactionConfig = DEFAULT_REDACTION): boolean {
  const cache = verdictsFor(config).fields;
  const verdict = cache.get(name);
  return verdict ?? remember(cache, name, decideField(name, config));
}

function decideField(name: string, config: RedactionConfig): boolean {
  const norm = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (norm === '') return false;
  if (SENSITIVE_EXACT.has(norm) || SENSITIVE_PARTS.some((p) => norm.includes(p))) return true;
  return config.fields.some((f) => f.toLowerCase().replace(/[^a-z0-9]/g, '') === norm);
}

/** What happens to a header's value: masked, redacted as a URL, or scrubbed of secret shapes. */
const enum HeaderVerdict { Scrub, Mask, Url }

function headerVerdict(name: string, config: RedactionConfig): HeaderVerdict {
  const cache = verdictsFor(config).headers;
  const verdict = cache.get(name);
  if (verdict !== undefined) return verdict;
  const lower = name.toLowerCase();
  const sensitive = ALWAYS_MASKED_HEADERS.has(lower) || config.headers.some((h) => h.toLowerCase() === lower) || decideField(lower, config);
  return remember(cache, name, sensitive ? HeaderVerdict.Mask : lower === 'referer' || lower === 'location' ? HeaderVerdict.Url : HeaderVerdict.Scrub);
}

export function isSensitiveHeader(name: string, config: RedactionConfig = DEFAULT_REDACTION): boolean {
  return headerVerdict(name, config) === HeaderVerdict.Mask;
}

export const mask = (kind: string): string => `[REDACTED:${kind}]`;

/** Luhn checksum over a string of digits. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

interface Pattern {
  kind: string;
  re: RegExp;
  /** Keep a prefix group (e.g. the word "Bearer") and mask the rest. */
  keepPrefix?: boolean;
}

// Secret shapes, valid anywhere in a string. Order matters: longer, more specific shapes first.
const PATTERNS: Pattern[] = [
  { kind: 'private-key', re: /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g },
  // A JWT, or the head of one cut by an excerpt: base64url of '{"' followed by more of it.
  { kind: 'jwt', re: /\beyJ[A-Za-z0-9_-]{6,}(?:\.[A-Za-z0-9_-]*){0,2}/g },
  { kind: 'bearer', re: /(\b(?:Bearer|Basic|Digest|Token|Negotiate)\s+)[A-Za-z0-9._~+/=-]{6,}/gi, keepPrefix: true },
  { kind: 'aws-key', re: /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|A3T[A-Z0-9])[A-Z0-9]{16}\b/g },
  { kind: 'gcp-key', re: /\bAIza[0-9A-Za-z_-]{35}\b/g },
  { kind: 'github-token', re: /\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})\b/g },
  { kind: 'slack-token', re: /\bxox[abposr]-[A-Za-z0-9-]{10,}\b/g },
  { kind: 'stripe-key', re: /\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}\b/g },
  { kind: 'api-key', re: /\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}\b/g },
  { kind: 'azure-key', re: /\b(?:AccountKey|SharedAccessKey|sig)=[A-Za-z0-9%+/=]{20,}/g },
  { kind: 'url-credentials', re: /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)[^\s@/]+(?=@)/gi, keepPrefix: true },
];

// 13–19 digits, optionally grouped by spaces or dashes; checked with Luhn before masking.
const CARD = /(?<![0-9])(?:[0-9][ -]?){12,18}[0-9](?![0-9])/g;
// A digit run cut off by the end of an excerpt could be the start of a card number.
const TRAILING_DIGITS = /(?:[0-9][ -]?){11,}[0-9]?$/;

// One pass that finds whether any shape below could be present: most strings (paths, dates,
// user agents) have none, and skip the dozen pattern passes.
const MAYBE_SECRET = /eyJ|[Bb]earer|BEARER|[Bb]asic|BASIC|[Dd]igest|[Tt]oken|TOKEN|[Nn]egotiate|A[KSGIRNP][A-Z0-9]{3}|A3T|AIza|gh[pousr]_|github_pat_|xox[abposr]-|_(?:live|test)_|sk-|AccountKey|SharedAccessKey|sig=|:\/\/[^\s:/@]+:|PRIVATE KEY|(?:[0-9][ -]?){12}/;
const TRAILING_DIGIT = /[0-9][ -]?$/;

// Short texts recur (header values, JSON values, query values): scrubText is a pure function of
// the text, so the ones it leaves unchanged are remembered (a text with a secret is never kept).
// Bounded; cleared when full.
const SCRUB_MEMO_MAX_LENGTH = 128;
const scrubMemo = new Set<string>();

/** Masks secret shapes (tokens, keys, JWTs, Luhn-valid card numbers) inside any text. */
export function scrubText(text: string, truncated = false): string {
  if (truncated || text.length > SCRUB_MEMO_MAX_LENGTH) return scrub(text, truncated);
  if (scrubMemo.has(text)) return text;
  const out = scrub(text, false);
  if (out === text) {
    if (scrubMemo.size >= 8192) scrubMemo.clear();
    scrubMemo.add(text);
  }
  return out;
}

function scrub(text: string, truncated: boolean): string {
  if (!MAYBE_SECRET.test(text) && !(truncated && TRAILING_DIGIT.test(text))) return text;
  let out = text;
  for (const p of PATTERNS) {
    p.re.lastIndex = 0;
    out = out.replace(p.re, (match: string, prefix?: string) =>
      p.keepPrefix && typeof prefix === 'string' ? `${prefix}${mask(p.kind)}` : mask(p.kind));
  }
  out = out.replace(CARD, (match) => (luhnValid(match.replace(/[ -]/g, '')) ? mask('card') : match));
  if (truncated) out = out.replace(TRAILING_DIGITS, mask('truncated-digits'));
  return out;
}

/** `application/x-www-form-urlencoded` decoding; a text without '%' or '+' is its own decoding. */
function formDecode(raw: string): string {
  if (raw.indexOf('%') < 0 && raw.indexOf('+') < 0) return raw;
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return raw; // malformed escapes: judge the raw text
  }
}

function redactPair(pair: string, config: RedactionConfig, truncated: boolean): string {
  const eq = pair.indexOf('=');
  if (eq < 0) return scrubText(pair, truncated);
  const rawName = pair.slice(0, eq);
  if (isSensitiveField(formDecode(rawName), config)) return `${rawName}=${mask('field')}`;
  const decoded = formDecode(pair.slice(eq + 1));
  const scrubbed = scrubText(decoded, truncated);
  return scrubbed === decoded ? pair : `${rawName}=${encodeURIComponent(scrubbed)}`;
}

/** Masks the value of every sensitive `name=value` pair, and secret shapes in the others. */
export function redactFormEncoded(text: string, config: RedactionConfig = DEFAULT_REDACTION, truncated = false): string {
  if (text.indexOf('&') < 0) return redactPair(text, config, truncated); // the usual one-pair query
  const parts = text.split('&');
  const last = parts.length - 1;
  for (let i = 0; i <= last; i++) parts[i] = redactPair(parts[i], config, truncated && i === last);
  return parts.join('&');
}

/** Path segments and query of a request target. */
export function redactTarget(target: string, config: RedactionConfig = DEFAULT_REDACTION): string {
  const q = target.indexOf('?');
  const path = q >= 0 ? target.slice(0, q) : target;
  const scrubbedPath = scrubText(path);
  if (q < 0) return scrubbedPath;
  return `${scrubbedPath}?${redactFormEncoded(target.slice(q + 1), config)}`;
}

function redactJsonValue(value: unknown, config: RedactionConfig): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (typeof value === 'number') {
    const digits = String(value);
    return /^[0-9]{13,19}$/.test(digits) && luhnValid(digits) ? mask('card') : value;
  }
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = redactJsonValue(value[i], config);
    return out;
  }
  if (value && typeof value === 'object') {
    // In place: the value is a fresh JSON.parse result nobody else holds.
    const obj = value as Record<string, unknown>;
    for (const k in obj) {
      const v = obj[k];
      obj[k] = isSensitiveField(k, config) && v !== null ? mask('field') : redactJsonValue(v, config);
    }
    return obj;
  }
  return value;
}

/**
 * Whether the JSON redaction would hand `text` back unchanged, decided in one scan without
 * building the document: the text is JSON exactly as JSON.stringify writes it (no whitespace or
 * escapes, no surrogates, integers of at most 12 digits without leading zeros or "-0", no
 * fractions or exponents, no duplicate, numeric or __proto__ keys — each of which the parse and
 * stringify round trip would rewrite), no key is sensitive, no string value has a secret shape
 * (scrubText leaves it as it is), and no number is long enough to be a card. False whenever unsure:
 * the full parse, redact and stringify then runs.
 */
function jsonUnchanged(text: string, config: RedactionConfig): boolean {
  return scanJsonValue(text, 0, config, 0) === text.length;
}

const MAX_JSON_DEPTH = 32;

/** The end of the canonical, redaction-free JSON value at `i`, or -1. */
function scanJsonValue(text: string, i: number, config: RedactionConfig, depth: number): number {
  const c = text.charCodeAt(i);
  if (c === 34) {
    const end = scanJsonString(text, i);
    if (end < 0) return -1;
    const value = text.slice(i + 1, end - 1);
    return scrubText(value) === value ? end : -1;
  }
  if (c === 123) return depth < MAX_JSON_DEPTH ? scanJsonObject(text, i, config, depth + 1) : -1;
  if (c === 91) {
    if (depth >= MAX_JSON_DEPTH) return -1;
    i++;
    if (text.charCodeAt(i) === 93) return i + 1;
    for (;;) {
      i = scanJsonValue(text, i, config, depth + 1);
      if (i < 0) return -1;
      const d = text.charCodeAt(i);
      if (d === 93) return i + 1;
      if (d !== 44) return -1;
      i++;
    }
  }
  if (c === 45 || (c >= 48 && c <= 57)) {
    const start = i;
    if (c === 45) i++;
    const first = text.charCodeAt(i);
    if (first < 48 || first > 57) return -1;
    const digitsFrom = i;
    while (i < text.length && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
    const digits = i - digitsFrom;
    if (digits > 12 || (first === 48 && (digits > 1 || c === 45))) return -1; // leading zeros, -0, card-length
    const next = text.charCodeAt(i);
    if (next === 46 || next === 101 || next === 69) return -1; // fractions and exponents: stringify may rewrite them
    return i > start ? i : -1;
  }
  if (text.startsWith('true', i)) return i + 4;
  if (text.startsWith('false', i)) return i + 5;
  if (text.startsWith('null', i)) return i + 4;
  return -1;
}

/** The end (after the closing quote) of an escape-free, surrogate-free string at `i`, or -1. */
function scanJsonString(text: string, i: number): number {
  for (i++; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) return i + 1;
    if (c < 32 || c === 92 || (c >= 0xd800 && c <= 0xdfff)) return -1;
  }
  return -1;
}

function scanJsonObject(text: string, i: number, config: RedactionConfig, depth: number): number {
  i++;
  if (text.charCodeAt(i) === 125) return i + 1;
  const keys: string[] = [];
  for (;;) {
    if (text.charCodeAt(i) !== 34) return -1;
    const keyEnd = scanJsonString(text, i);
    if (keyEnd < 0) return -1;
    const key = text.slice(i + 1, keyEnd - 1);
    // Index-like keys are reordered by the round trip, duplicates collapsed, __proto__ special.
    if (/^[0-9]+$/.test(key) || key === '__proto__' || keys.includes(key) || isSensitiveField(key, config)) return -1;
    keys.push(key);
    if (text.charCodeAt(keyEnd) !== 58) return -1;
    i = scanJsonValue(text, keyEnd + 1, config, depth);
    if (i < 0) return -1;
    const d = text.charCodeAt(i);
    if (d === 125) return i + 1;
    if (d !== 44) return -1;
    i++;
  }
}

// "key": "value" / "key": 123 pairs in JSON that did not parse (an excerpt cut mid-document).
const JSON_PAIR = /("((?:[^"\\]|\\.){1,128})"\s*:\s*)("(?:[^"\\]|\\.)*(?:"|$)|-?[0-9][0-9.eE+-]*|true|false|null|[[{])/g;
// key=value / key: value pairs in free text.
const TEXT_PAIR = /(\b([A-Za-z][A-Za-z0-9_.-]{1,63})\s*[=:]\s*)("[^"]*"?|'[^']*'?|[^\s&,;"']+)/g;

function redactBrokenJson(text: string, config: RedactionConfig, truncated: boolean): string {
  const pairs = text.replace(JSON_PAIR, (match, prefix: string, key: string, value: string) =>
    isSensitiveField(key, config) && value !== '[' && value !== '{' ? `${prefix}"${mask('field')}"` : match);
  return scrubText(pairs, truncated);
}

export type BodyKind = 'json' | 'form' | 'text' | 'binary';

export function bodyKind(contentType: string | undefined, body: string): BodyKind {
  const ct = (contentType ?? '').toLowerCase();
  if (ct.includes('json')) return 'json';
  if (ct.includes('x-www-form-urlencoded')) return 'form';
  const head = body.trimStart();
  if (head.startsWith('{') || head.startsWith('[')) return 'json';
  if (!ct && /^[A-Za-z0-9_.%-]+=[^\s]*(&[A-Za-z0-9_.%-]+=[^\s]*)*$/.test(body.trim())) return 'form';
  return 'text';
}

/**
 * Redacts a body excerpt. `truncated`: the excerpt stops before the body does, so a secret may be
 * cut in two (its head is masked too).
 */
export function redactBody(body: string, contentType: string | undefined, config: RedactionConfig = DEFAULT_REDACTION, truncated = false): string {
  if (body === '') return body;
  switch (bodyKind(contentType, body)) {
    case 'json':
      if (!truncated) {
        if (jsonUnchanged(body, config)) return body; // what the round trip below would return, without it
        try {
          return JSON.stringify(redactJsonValue(JSON.parse(body), config));
        } catch {
          // not valid JSON after all: fall through to the pattern pass
        }
      }
      return redactBrokenJson(body, config, truncated);
    case 'form':
      return redactFormEncoded(body, config, truncated);
    default:
      // Secret shapes first: `Authorization: Bearer <token>` is a pair whose value would otherwise end at the blank.
      return redactBrokenJson(body, config, truncated).replace(TEXT_PAIR, (match, prefix: string, key: string) =>
        isSensitiveField(key, config) ? `${prefix}${mask('field')}` : match);
  }
}

/** Header list with sensitive values masked and secret shapes scrubbed from the rest. */
export function redactHeaders(headers: ReadonlyArray<[string, string]>, config: RedactionConfig = DEFAULT_REDACTION): Array<[string, string]> {
  const out = new Array<[string, string]>(headers.length);
  for (let i = 0; i < headers.length; i++) {
    const header = headers[i];
    const [name, value] = header;
    const verdict = headerVerdict(name, config);
    const redacted = verdict === HeaderVerdict.Mask ? mask('header') : verdict === HeaderVerdict.Url ? redactUrl(value, config) : scrubText(value);
    out[i] = redacted === value ? header : [name, redacted]; // unchanged pairs are shared, not copied
  }
  return out;
}

/** An absolute or relative URL: credentials, path and query. */
export function redactUrl(url: string, config: RedactionConfig = DEFAULT_REDACTION): string {
  const scrubbed = scrubText(url);
  const q = scrubbed.indexOf('?');
  return q < 0 ? scrubbed : `${scrubbed.slice(0, q)}?${redactFormEncoded(scrubbed.slice(q + 1), config)}`;
}

/** argv of an exec: `--password=x`, `--token x`, `-p x`, URLs with credentials, key shapes. */
export function redactArgs(args: readonly string[], config: RedactionConfig = DEFAULT_REDACTION): string[] {
  const out: string[] = [];
  let maskNext = false;
  for (const arg of args) {
    if (maskNext) {
      out.push(mask('arg'));
      maskNext = false;
      continue;
    }
    const m = /^(-{1,2}[A-Za-z0-9_.-]+)(=)(.*)$/.exec(arg) ?? /^([A-Za-z_][A-Za-z0-9_]*)(=)(.*)$/.exec(arg);
    if (m && isSensitiveField(m[1].replace(/^-+/, ''), config)) {
      out.push(`${m[1]}=${mask('arg')}`);
      continue;
    }
    if (/^-{1,2}[A-Za-z0-9_.-]+$/.test(arg) && isSensitiveField(arg.replace(/^-+/, ''), config)) {
      out.push(arg);
      maskNext = true;
      continue;
    }
    const header = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(arg);
    if (header && isSensitiveHeader(header[1], config)) {
      out.push(`${header[1]}: ${mask('header')}`);
      continue;
    }
    // Anything else may be a request body handed to a client (curl --data '{"password":…}').
    out.push(/^[a-z][a-z0-9+.-]*:\/\/|^\/\S*\?/i.test(arg) ? redactUrl(arg, config) : redactBody(arg, undefined, config));
  }
  return out;
}
