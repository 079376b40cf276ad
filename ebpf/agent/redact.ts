/**
 * Redaction at the source: nothing the sensor exports may carry credentials or card numbers.
 * Pure string functions. Masks are typed (`[REDACTED:jwt]`) so detectors still see that a secret
 * was there. Applied to header values, request targets (path and query), bodies (JSON, forms,
 * text) and command lines — before anything is encoded or written.
 */

export interface RedactionConfig {
  /** Extra header names whose values are always masked (case-insensitive). */
  headers: string[];
  /** Extra field names (JSON keys, form/query parameters) whose values are always masked. */
  fields: string[];
}

export const DEFAULT_REDACTION: RedactionConfig = { headers: [], fields: [] };

const ALWAYS_MASKED_HEADERS = new Set([
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

// Names repeat endlessly (the same headers and fields on every request): remember the verdicts.
const verdicts = new WeakMap<RedactionConfig, Map<string, boolean>>();
function cached(kind: 'f' | 'h', name: string, config: RedactionConfig, decide: () => boolean): boolean {
  let cache = verdicts.get(config);
  if (!cache) verdicts.set(config, (cache = new Map()));
  const key = kind + name;
  let verdict = cache.get(key);
  if (verdict === undefined) {
    verdict = decide();
    if (cache.size >= 10_000) cache.clear();
    cache.set(key, verdict);
  }
  return verdict;
}

export function isSensitiveField(name: string, config: RedactionConfig = DEFAULT_REDACTION): boolean {
  return cached('f', name, config, () => decideField(name, config));
}

function decideField(name: string, config: RedactionConfig): boolean {
  const norm = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (norm === '') return false;
  if (SENSITIVE_EXACT.has(norm) || SENSITIVE_PARTS.some((p) => norm.includes(p))) return true;
  return config.fields.some((f) => f.toLowerCase().replace(/[^a-z0-9]/g, '') === norm);
}

export function isSensitiveHeader(name: string, config: RedactionConfig = DEFAULT_REDACTION): boolean {
  return cached('h', name, config, () => {
    const lower = name.toLowerCase();
    return ALWAYS_MASKED_HEADERS.has(lower) || config.headers.some((h) => h.toLowerCase() === lower) || decideField(lower, config);
  });
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

/** Masks secret shapes (tokens, keys, JWTs, Luhn-valid card numbers) inside any text. */
export function scrubText(text: string, truncated = false): string {
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

/** Masks the value of every sensitive `name=value` pair, and secret shapes in the others. */
export function redactFormEncoded(text: string, config: RedactionConfig = DEFAULT_REDACTION, truncated = false): string {
  const parts = text.split('&');
  const last = parts.length - 1;
  return parts.map((pair, i) => {
    const eq = pair.indexOf('=');
    const rawName = eq >= 0 ? pair.slice(0, eq) : pair;
    let name = rawName;
    try {
      name = decodeURIComponent(rawName.replace(/\+/g, ' '));
    } catch {
      // malformed escapes: judge the raw name
    }
    if (eq < 0) return scrubText(pair, truncated && i === last);
    if (isSensitiveField(name, config)) return `${rawName}=${mask('field')}`;
    const value = pair.slice(eq + 1);
    let decoded = value;
    try {
      decoded = decodeURIComponent(value.replace(/\+/g, ' '));
    } catch {
      // keep raw
    }
    const scrubbed = scrubText(decoded, truncated && i === last);
    return scrubbed === decoded ? pair : `${rawName}=${encodeURIComponent(scrubbed)}`;
  }).join('&');
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
  if (Array.isArray(value)) return value.map((v) => redactJsonValue(v, config));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = isSensitiveField(k, config) && v !== null ? mask('field') : redactJsonValue(v, config);
    }
    return out;
  }
  return value;
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
        try {
          return JSON.stringify(redactJsonValue(JSON.parse(body), config));
        } catch {
          // not valid JSON after all: fall through to the pattern pass
        }
      }
      return redactBrokenJson(body, config, truncated);
    case 'form':
      return redactFormEncoded(body, config, truncated);
    default: {
      const pairs = body.replace(TEXT_PAIR, (match, prefix: string, key: string) =>
        isSensitiveField(key, config) ? `${prefix}${mask('field')}` : match);
      return redactBrokenJson(pairs, config, truncated);
    }
  }
}

/** Header list with sensitive values masked and secret shapes scrubbed from the rest. */
export function redactHeaders(headers: ReadonlyArray<[string, string]>, config: RedactionConfig = DEFAULT_REDACTION): Array<[string, string]> {
  return headers.map(([name, value]) => {
    if (isSensitiveHeader(name, config)) return [name, mask('header')];
    if (name.toLowerCase() === 'referer' || name.toLowerCase() === 'location') return [name, redactUrl(value, config)];
    return [name, scrubText(value)];
  });
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
