/**
 * Pure parsing of a Pixie `http_events`-shaped row into what the request model looks at: method, path, parameters
 * (query string and form body) and headers. No I/O; a row that cannot be used raises DecodeError saying why.
 */
import { DecodeError } from '../../core/errors.ts';

export interface HttpRow {
  id?: unknown;
  label?: unknown;
  req_method: string;
  req_path: string;
  req_headers?: string | Record<string, unknown>;
  req_body?: string;
  req_body_size?: number;
}

export interface HttpRequest {
  id: unknown;
  method: string;
  path: string;
  /** Parameters in order of appearance, names and values still URL-encoded as sent. */
  params: Array<[name: string, rawValue: string]>;
  /** Header names lower-cased, in order. */
  headers: Array<[name: string, value: string]>;
  /** Body length in bytes as sent, and the size the sensor reported (they differ for truncated captures). */
  bodyBytes: number;
  reportedBodySize: number | undefined;
  /** A body that is neither a form nor JSON is kept whole as one pseudo-parameter. */
  rawBody: string;
}

/** Name under which a non-form body is profiled like a parameter. */
export const BODY_PARAM = '(body)';

/** One decoded JSON value (one input line) checked to be a row; throws DecodeError naming what is wrong. */
export function validHttpRow(json: unknown): HttpRow {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new DecodeError('row is not a JSON object');
  const row = json as Record<string, unknown>;
  if (typeof row.req_method !== 'string') throw new DecodeError('req_method is missing or not a string');
  if (typeof row.req_path !== 'string') throw new DecodeError('req_path is missing or not a string');
  if (row.req_body !== undefined && row.req_body !== null && typeof row.req_body !== 'string') throw new DecodeError('req_body is not a string');
  return row as unknown as HttpRow;
}

/** Parses one decoded JSON value (one input line) into a request; throws DecodeError for unusable rows. */
export function parseHttpRow(json: unknown): HttpRequest {
  const row = validHttpRow(json);
  const method = row.req_method;
  const target = row.req_path;
  const body = row.req_body ?? '';
  const headers = parseHeaders(row.req_headers);
  const query = target.indexOf('?');
  const path = query < 0 ? target : target.slice(0, query);
  const params: Array<[string, string]> = [];
  if (query >= 0) splitForm(target.slice(query + 1), params);
  let rawBody = '';
  if (body.length > 0) {
    const contentType = headers.find(([name]) => name === 'content-type')?.[1] ?? '';
    const head = body.trimStart()[0];
    const isForm = contentType.includes('application/x-www-form-urlencoded') || (contentType === '' && body.includes('=') && head !== '{' && head !== '[');
    const isJson = contentType.includes('json') || (!isForm && (head === '{' || head === '['));
    if (isForm) splitForm(body, params);
    else if (!(isJson && splitJson(body, params))) rawBody = body;
  }
  const size = row.req_body_size;
  return {
    id: row.id ?? null,
    method: method.toUpperCase(),
    path,
    params,
    headers,
    bodyBytes: Buffer.byteLength(body, 'utf8'),
    reportedBodySize: typeof size === 'number' ? size : undefined,
    rawBody,
  };
}

function parseHeaders(value: unknown): Array<[string, string]> {
  const pairs = rowHeaderPairs(value);
  for (const pair of pairs) pair[0] = pair[0].toLowerCase();
  return pairs;
}

/** Header pairs of a row's `req_headers` (a JSON object or its text), names as written; unusable headers raise a DecodeError. */
export function rowHeaderPairs(value: unknown): Array<[string, string]> {
  if (value === undefined || value === null || value === '') return [];
  let object: unknown = value;
  if (typeof value === 'string') {
    try {
      object = JSON.parse(value);
    } catch {
      throw new DecodeError('req_headers is not valid JSON');
    }
  }
  if (object === null || typeof object !== 'object' || Array.isArray(object)) throw new DecodeError('req_headers is not a JSON object');
  const out: Array<[string, string]> = [];
  for (const [name, v] of Object.entries(object as Record<string, unknown>)) out.push([name, typeof v === 'string' ? v : JSON.stringify(v)]);
  return out;
}

/** `a=1&b=2` -> [['a','1'],['b','2']]; a bare `flag` gets an empty value; empty pieces are dropped. */
export function splitForm(text: string, out: Array<[string, string]>): void {
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('&', start);
    if (end < 0) end = text.length;
    if (end > start) {
      const eq = text.indexOf('=', start);
      if (eq >= 0 && eq < end) out.push([text.slice(start, eq), text.slice(eq + 1, end)]);
      else out.push([text.slice(start, end), '']);
    }
    start = end + 1;
  }
}

const MAX_JSON_PARAMS = 200;
const MAX_JSON_DEPTH = 8;

/**
 * A JSON body as parameters, like a form: `{"items":[{"sku":"A"}],"note":"x"}` → `items[].sku=A`, `note=x` (array
 * positions folded, so every item of a cart is one parameter); values URL-encoded so they decode back as sent. False for
 * a body that is not JSON (a truncated excerpt): it is then profiled whole.
 */
export function splitJson(text: string, out: Array<[string, string]>): boolean {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return false;
  }
  const before = out.length;
  const walk = (v: unknown, name: string, depth: number): void => {
    if (out.length - before >= MAX_JSON_PARAMS) return;
    if (Array.isArray(v)) {
      if (depth < MAX_JSON_DEPTH) for (const item of v) walk(item, `${name}[]`, depth + 1);
    } else if (v !== null && typeof v === 'object') {
      if (depth < MAX_JSON_DEPTH) for (const [k, item] of Object.entries(v)) walk(item, name ? `${name}.${k}` : k, depth + 1);
    } else out.push([name || '(value)', encodeURIComponent(v === null ? 'null' : String(v))]);
  };
  walk(value, '', 0);
  return true;
}

/**
 * URL-decodes one form value: `+` is a space, `%XX` one byte taken as Latin-1 (what CSIC and many Java apps send;
 * UTF-8 sequences decode to stable byte characters). A `%` not followed by two hex digits stays as it is.
 */
export function decodeFormValue(raw: string): string {
  if (raw.indexOf('%') < 0 && raw.indexOf('+') < 0) return raw;
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 43 /* + */) out += ' ';
    else if (c === 37 /* % */ && i + 2 < raw.length + 0 && isHex(raw.charCodeAt(i + 1)) && isHex(raw.charCodeAt(i + 2))) {
      out += String.fromCharCode(parseInt(raw.substr(i + 1, 2), 16));
      i += 2;
    } else out += raw[i];
  }
  return out;
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}
