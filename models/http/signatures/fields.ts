/**
 * The places of a request an attacker can write to, each with its raw text: path segments, query and form parameters
 * (names and values), JSON string values (and keys) with their JSON pointer and their position in the body, cookies and
 * other header values, and any other body as a whole. Tolerant of truncated or invalid bodies (a sensor's excerpt).
 * Pure.
 */

export type FieldLocation = 'path' | 'query' | 'body' | 'header' | 'cookie';

export interface Field {
  location: FieldLocation;
  /** Parameter or header name, JSON pointer (`/items/0/name`), `name` for a parameter's own name, '' for the path. */
  name: string;
  /** The raw text as the request carried it. */
  raw: string;
  /** Where `raw` starts in the text it was cut from (the path, the query, the body, the header value). */
  offset: number;
  /** `+` is a space (query and form values). */
  form: boolean;
  /** The raw text is the content of a JSON string literal (escapes included). */
  json?: boolean;
  /** The field is a whole request path (traversal rules for paths apply). */
  isPath?: boolean;
}

/** Values longer than this are judged on their first MAX_VALUE characters (inputs are bounded). */
export const MAX_VALUE = 8192;
/** At most this many fields of one request are judged. */
export const MAX_FIELDS = 256;

export interface RequestParts {
  /** The raw request path, without the query. */
  path: string;
  /** The raw query string, without `?`. */
  query?: string;
  body?: string;
  contentType?: string;
  /** Header names lower-case. */
  headers?: ReadonlyArray<readonly [string, string]>;
}

// Headers whose values are numbers, tokens or the client's own fixed strings, never echoed into a query or a page.
const SKIPPED_HEADERS = new Set(['content-length', 'accept-encoding', 'connection', 'pragma', 'cache-control', 'upgrade-insecure-requests', 'te', 'dnt', 'sec-fetch-site', 'sec-fetch-mode', 'sec-fetch-dest', 'sec-fetch-user', 'if-none-match', 'if-modified-since', 'traceparent', 'tracestate', 'b3', 'x-b3-traceid', 'x-b3-spanid', 'content-type', 'accept', 'accept-charset', 'accept-language']);

export function requestFields(parts: RequestParts): Field[] {
  const fields: Field[] = [];
  const push = (f: Field) => {
    if (fields.length < MAX_FIELDS && f.raw.length > 0) fields.push(f.raw.length > MAX_VALUE ? { ...f, raw: f.raw.slice(0, MAX_VALUE) } : f);
  };
  push({ location: 'path', name: '', raw: parts.path, offset: 0, form: false, isPath: true });
  if (parts.query) formFields(parts.query, 'query', push);
  const body = parts.body ?? '';
  if (body.length > 0) {
    const ct = (parts.contentType ?? '').toLowerCase();
    const head = body.trimStart()[0];
    if (ct.includes('json') || ((head === '{' || head === '[') && !ct.includes('form'))) jsonFields(body, push);
    else if (ct.includes('x-www-form-urlencoded') || (ct === '' && /^[^=\s&]+=[^\s]*$/.test(body.slice(0, 1000)))) formFields(body, 'body', push);
    else push({ location: 'body', name: '', raw: body, offset: 0, form: false });
  }
  for (const [name, value] of parts.headers ?? []) {
    if (SKIPPED_HEADERS.has(name)) continue;
    if (name === 'cookie') cookieFields(value, push);
    else push({ location: 'header', name, raw: value, offset: 0, form: false });
  }
  return fields;
}

function formFields(text: string, location: FieldLocation, push: (f: Field) => void): void {
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('&', start);
    if (end < 0) end = text.length;
    const eq = text.indexOf('=', start);
    if (eq >= 0 && eq < end) {
      const name = text.slice(start, eq);
      push({ location, name: `${name}`, raw: text.slice(eq + 1, end), offset: eq + 1, form: true });
      // A parameter's name is written by the client too.
      if (/[^A-Za-z0-9_.\-[\]]/.test(name)) push({ location, name: `${name} (name)`, raw: name, offset: start, form: true });
    } else if (end > start) push({ location, name: '(bare)', raw: text.slice(start, end), offset: start, form: true });
    start = end + 1;
  }
}

function cookieFields(value: string, push: (f: Field) => void): void {
  let start = 0;
  while (start < value.length) {
    let end = value.indexOf(';', start);
    if (end < 0) end = value.length;
    const eq = value.indexOf('=', start);
    if (eq >= 0 && eq < end) push({ location: 'cookie', name: value.slice(start, eq).trim(), raw: value.slice(eq + 1, end), offset: eq + 1, form: false });
    start = end + 1;
  }
}

/** JSON string literals (values, and keys that are not plain names) with their pointers; tolerant of truncation. */
function jsonFields(body: string, push: (f: Field) => void): void {
  // One frame per open container: its kind, the current key or index.
  const stack: Array<{ array: boolean; key: string; index: number; expectKey: boolean }> = [];
  const pointer = () => stack.map((f) => `/${f.array ? f.index : f.key.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
  let i = 0;
  const n = Math.min(body.length, MAX_VALUE * 8);
  while (i < n) {
    const c = body[i];
    if (c === '{' || c === '[') {
      stack.push({ array: c === '[', key: '', index: 0, expectKey: c === '{' });
      i++;
    } else if (c === '}' || c === ']') {
      stack.pop();
      i++;
    } else if (c === ',') {
      const top = stack.at(-1);
      if (top) {
        if (top.array) top.index++;
        else top.expectKey = true;
      }
      i++;
    } else if (c === ':') {
      const top = stack.at(-1);
      if (top) top.expectKey = false;
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < n && body[j] !== '"') j += body[j] === '\\' ? 2 : 1;
      const raw = body.slice(i + 1, Math.min(j, n));
      const top = stack.at(-1);
      if (top && !top.array && top.expectKey) {
        top.key = raw;
        if (/[^A-Za-z0-9_.\-$@ ]/.test(raw)) push({ location: 'body', name: `${pointer()} (name)`, raw, offset: i + 1, form: false, json: true });
      } else push({ location: 'body', name: pointer() || '/', raw, offset: i + 1, form: false, json: true });
      i = j + 1;
    } else i++;
  }
}
