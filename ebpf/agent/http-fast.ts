/**
 * The common case of HTTP/1.x, parsed in JS: one whole, plainly framed message (keep-alive, a
 * Content-Length or chunked body without extensions or trailers, visible-ASCII start line and
 * headers) lying complete in the bytes at hand. Node's llhttp binding costs several µs per message
 * for the calls and strings across the native boundary, more than the sensor's whole budget per
 * exchange; this path costs a fraction of that. Anything else — a message cut by the chunk's end,
 * `Connection: close`, upgrades, HEAD/1xx/204/304 answers, obs-fold, odd characters, oversized
 * heads — returns -1 *before any state changes*, and llhttp parses those bytes as before.
 * http-fast.test.ts checks the result equals llhttp's on a corpus and on random mutations of it.
 */
import type { Header, HttpMessage } from './http-stream.ts';
import type { MonoNs } from './frames.ts';
import { ALWAYS_MASKED_HEADERS } from '../../core/redaction/redact.ts';

// Methods whose messages the fast path frames by their headers alone (CONNECT tunnels, and
// exotic methods go to llhttp).
const FAST_METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'TRACE', 'PROPFIND',
  'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'SEARCH', 'PURGE', 'REPORT']);

const CR = 13, LF = 10, SP = 32, HTAB = 9, COLON = 58;

/** RFC 9110 tchar. */
const TOKEN = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~") TOKEN[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) TOKEN[c] = 1;
for (let c = 65; c <= 90; c++) TOKEN[c] = 1;
for (let c = 97; c <= 122; c++) TOKEN[c] = 1;

/** Request-target characters taken here (RFC 3986 unreserved, reserved but '#', and '%'). */
const TARGET = new Uint8Array(128);
for (const c of "-._~:/?[]@!$&'()*+,;=%") TARGET[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) TARGET[c] = 1;
for (let c = 65; c <= 90; c++) TARGET[c] = 1;
for (let c = 97; c <= 122; c++) TARGET[c] = 1;

type Latin1Buffer = Buffer & { latin1Slice(start: number, end: number): string };

// Header names and most values repeat on every message: a string is made once per distinct text and
// found again by comparing bytes (cheaper here than making a new string). A direct-mapped table, so
// texts that never repeat just replace each other.
const INTERN_SLOTS = 4096;
const MAX_INTERNED = 64;
const nameTable: Array<string | undefined> = new Array(INTERN_SLOTS);
const valueTable: Array<string | undefined> = new Array(INTERN_SLOTS);

function intern(table: Array<string | undefined>, data: Latin1Buffer, start: number, end: number): string {
  const len = end - start;
  if (len > MAX_INTERNED) return data.latin1Slice(start, end);
  const slot = (len * 37 + data[start] * 131 + data[end - 1] * 7 + data[start + (len >> 1)] * 1021 + data[start + (len >> 2)]) & (INTERN_SLOTS - 1);
  const known = table[slot];
  if (known !== undefined && known.length === len) {
    let k = 0;
    while (k < len && known.charCodeAt(k) === data[start + k]) k++;
    if (k === len) return known;
  }
  const text = data.latin1Slice(start, end);
  table[slot] = text;
  return text;
}

/** What a header name means for framing, found once per distinct name. */
const enum Role { Other, ContentLength, TransferEncoding, Connection, Refuse, Credential }
const nameRoles = new Map<string, Role>();
function roleOf(name: string): Role {
  let role = nameRoles.get(name);
  if (role === undefined) {
    const lower = name.toLowerCase();
    role = lower === 'content-length' ? Role.ContentLength : lower === 'transfer-encoding' ? Role.TransferEncoding
      : lower === 'connection' ? Role.Connection : lower === 'upgrade' || lower === 'proxy-connection' ? Role.Refuse
      : ALWAYS_MASKED_HEADERS.has(lower) ? Role.Credential : Role.Other;
    if (nameRoles.size >= 4096) nameRoles.clear();
    nameRoles.set(name, role);
  }
  return role;
}

const lowerIs = (s: string, lower: string): boolean => s.length === lower.length && s.toLowerCase() === lower;

/** `HTTP/1.0` or `HTTP/1.1` at `i`: the minor version, or -1. */
function version(data: Buffer, i: number): number {
  if (data[i] !== 72 || data[i + 1] !== 84 || data[i + 2] !== 84 || data[i + 3] !== 80 || data[i + 4] !== 47 || data[i + 5] !== 49 || data[i + 6] !== 46) return -1;
  const minor = data[i + 7];
  return minor === 48 ? 0 : minor === 49 ? 1 : -1;
}

/**
 * Parses one message at `offset` and appends it to `out`; returns the offset after it, or -1
 * (nothing consumed or appended) when llhttp should parse it. `requestMethod`: for a response, the
 * method of the request it answers. The message starts and ends at `tsNs` (it lies in one chunk).
 */
export function parseFast(
  kind: 'request' | 'response', data: Buffer, offset: number, requestMethod: string | undefined,
  keepBodyBytes: number, maxHeaderBytes: number, tsNs: MonoNs, out: HttpMessage[],
): number {
  const bytes = data as Latin1Buffer;
  const end = data.length;
  const headLimit = Math.min(end, offset + (maxHeaderBytes >> 1));
  let i = offset;
  let method: string | undefined;
  let target: string | undefined;
  let status: number | undefined;
  let statusText: string | undefined;
  let minor: number;

  if (kind === 'request') {
    while (i < headLimit && data[i] >= 65 && data[i] <= 90) i++;
    if (i - offset < 3 || i - offset > 9 || data[i] !== SP) return -1;
    method = bytes.latin1Slice(offset, i);
    if (!FAST_METHODS.has(method)) return -1;
    const t = ++i;
    if (data[t] !== 47) return -1; // origin-form only ('/…'): '*', absolute and authority forms are llhttp's
    while (i < headLimit && data[i] < 128 && TARGET[data[i]] === 1) i++;
    if (i === t || data[i] !== SP) return -1;
    target = bytes.latin1Slice(t, i);
    minor = version(data, i + 1);
    i += 9;
    if (minor < 0 || data[i] !== CR || data[i + 1] !== LF) return -1;
    i += 2;
  } else {
    minor = version(data, i);
    i += 8;
    if (minor < 0 || data[i] !== SP) return -1;
    const d0 = data[i + 1] - 48, d1 = data[i + 2] - 48, d2 = data[i + 3] - 48;
    if (!(d0 >= 1 && d0 <= 5 && d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9) || data[i + 4] !== SP) return -1;
    status = d0 * 100 + d1 * 10 + d2;
    // No body whatever the headers say (1xx, 204, 304, HEAD), tunnels: llhttp's rules.
    if (status < 200 || status === 204 || status === 304 || requestMethod === 'HEAD' || requestMethod === 'CONNECT') return -1;
    i += 5;
    const r = i;
    while (i < headLimit && data[i] >= SP && data[i] < 127) i++;
    if (i === r || data[i - 1] === SP || data[i] !== CR || data[i + 1] !== LF) return -1;
    statusText = intern(valueTable, bytes, r, i);
    i += 2;
  }

  const headers: Header[] = [];
  let contentLength = -1;
  let chunked = false;
  let keepAlive = minor === 1;
  for (;;) {
    if (i + 1 >= headLimit) return -1;
    if (data[i] === CR) {
      if (data[i + 1] !== LF) return -1;
      i += 2;
      break;
    }
    const n = i;
    while (i < headLimit && data[i] < 128 && TOKEN[data[i]] === 1) i++;
    if (i === n || data[i] !== COLON) return -1;
    const name = intern(nameTable, bytes, n, i);
    i++;
    while (i < headLimit && (data[i] === SP || data[i] === HTAB)) i++;
    const v = i;
    while (i < headLimit && ((data[i] > SP && data[i] < 127) || data[i] === SP || data[i] === HTAB)) i++;
    // Empty values and trailing whitespace are left to llhttp's rules.
    if (i === v || data[i - 1] === SP || data[i - 1] === HTAB || data[i] !== CR || data[i + 1] !== LF) return -1;
    // Credentials are never kept in the intern table (it outlives the message).
    const role = roleOf(name);
    const value = role === Role.Credential ? bytes.latin1Slice(v, i) : intern(valueTable, bytes, v, i);
    i += 2;
    headers.push([name, value]);
    // Framing and connection headers: only their plainest forms stay here.
    if (role === Role.ContentLength) {
      if (contentLength >= 0 || value.length > 15) return -1;
      for (let k = 0; k < value.length; k++) {
        const c = value.charCodeAt(k);
        if (c < 48 || c > 57) return -1;
      }
      contentLength = Number(value);
    } else if (role === Role.TransferEncoding) {
      if (chunked || !lowerIs(value, 'chunked')) return -1;
      chunked = true;
    } else if (role === Role.Connection) {
      if (!lowerIs(value, 'keep-alive')) return -1;
      keepAlive = true;
    } else if (role === Role.Refuse) {
      return -1;
    }
  }
  if (!keepAlive || (chunked && contentLength >= 0)) return -1;
  // A response framed by the end of the connection is llhttp's.
  if (kind === 'response' && !chunked && contentLength < 0) return -1;

  let body: Buffer;
  let bodySize: number;
  let bodyTruncated = false;
  if (!chunked) {
    bodySize = contentLength < 0 ? 0 : contentLength;
    if (i + bodySize > end) return -1;
    const kept = Math.min(bodySize, keepBodyBytes);
    body = Buffer.from(data.subarray(i, i + kept));
    bodyTruncated = bodySize > keepBodyBytes;
    i += bodySize;
  } else {
    // First pass: the framing is whole and plain, and where the data lies.
    const spans: number[] = [];
    bodySize = 0;
    for (;;) {
      let size = 0;
      const h = i;
      while (i < end && i - h < 8) {
        const c = data[i];
        const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
        if (d < 0) break;
        size = size * 16 + d;
        i++;
      }
      if (i === h || data[i] !== CR || data[i + 1] !== LF) return -1;
      i += 2;
      if (size === 0) {
        if (data[i] !== CR || data[i + 1] !== LF) return -1; // trailers: llhttp's
        i += 2;
        break;
      }
      if (i + size + 2 > end || data[i + size] !== CR || data[i + size + 1] !== LF) return -1;
      spans.push(i, size);
      bodySize += size;
      i += size + 2;
    }
    // Second pass: the excerpt, kept as llhttp's body callbacks keep it, chunk by chunk.
    let kept = 0;
    const parts: Buffer[] = [];
    for (let k = 0; k < spans.length; k += 2) {
      const room = keepBodyBytes - kept;
      if (room <= 0) {
        bodyTruncated = true;
        break;
      }
      const take = Math.min(room, spans[k + 1]);
      parts.push(data.subarray(spans[k], spans[k] + take));
      kept += take;
      if (spans[k + 1] > room) bodyTruncated = true;
    }
    body = parts.length === 1 ? Buffer.from(parts[0]) : Buffer.concat(parts);
  }
  out.push({
    kind, method, target, status, statusText, versionMajor: 1, versionMinor: minor, headers, body, bodySize, bodyTruncated,
    upgrade: false, startNs: tsNs, endNs: tsNs,
  });
  return i;
}
