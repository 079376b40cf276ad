/**
 * What leaves the node, built from an HttpExchange: redaction first, then the Pixie `http_events`
 * row or the OTLP span. Pure; process details come in as data.
 */
import type { HttpExchange } from './connections.ts';
import type { Header, HttpMessage } from './http-stream.ts';
import { DEFAULT_REDACTION, redactBody, redactHeaders, redactTarget, type RedactionConfig } from '../../core/redaction/redact.ts';

export interface ProcessInfo {
  pid: number;
  comm: string;
  executable?: string;
  /** Already redacted. */
  args?: string[];
  ppid?: number;
  uid?: number;
  /** Process start in clock ticks since boot (/proc/<pid>/stat field 22): Pixie's upid uses it. */
  startTicks?: number;
  cgroupPath?: string;
  containerId?: string;
  podUid?: string;
}

export interface RedactedMessage {
  headers: Header[];
  body: string;
  bodySize: number;
}

export interface RedactedExchange {
  method: string;
  /** Path and query, redacted. */
  target: string;
  path: string;
  query?: string;
  status: number;
  statusText: string;
  version: string;
  request: RedactedMessage;
  response: RedactedMessage;
  /** Monotonic ns; add the loader's offset for wall-clock time. */
  startNs: number;
  endNs: number;
  latencyNs: number;
}

const ENCODED = /^(gzip|br|deflate|compress|zstd|x-gzip)$/i;

/** The first value of header `name` (lower case); the length test spares most lower-casings (see isHeader). */
function header(headers: readonly Header[], name: string): string | undefined {
  for (const [n, v] of headers) if (n.length === name.length && n.toLowerCase() === name) return v;
  return undefined;
}

/** Body bytes as text for export: binary and compressed bodies are described, not dumped. */
export function bodyText(body: Buffer, headers: readonly Header[], bodySize: number): string {
  if (body.length === 0) return '';
  const encoding = header(headers, 'content-encoding');
  if (encoding && ENCODED.test(encoding.trim())) return `[${encoding.trim()}-encoded body, ${bodySize} bytes]`;
  let control = 0;
  const n = Math.min(body.length, 512);
  for (let i = 0; i < n; i++) {
    const b = body[i];
    if (b === 0 || (b < 32 && b !== 9 && b !== 10 && b !== 13)) control++;
  }
  if (control > n / 10) return `[binary body, ${bodySize} bytes]`;
  return body.toString('utf8');
}

function cutUtf8(text: string, maxBytes: number): string {
  // A UTF-16 unit is at most 3 UTF-8 bytes: short texts need no counting.
  if (text.length * 3 <= maxBytes || Buffer.byteLength(text) <= maxBytes) return text;
  // Cut on a character boundary; the replacement character marks a split multi-byte sequence.
  return Buffer.from(text).subarray(0, maxBytes).toString('utf8').replace(/\uFFFD$/, '');
}

// A module function, not a closure per call: closures are re-created (and, under tsx, named) on every call.
function redactMessage(m: HttpMessage, bodyBytes: number, config: RedactionConfig): RedactedMessage {
  const text = bodyText(m.body, m.headers, m.bodySize);
  const truncated = m.bodyTruncated || m.body.length < m.bodySize;
  // Redact the whole kept excerpt (it has a margin past bodyBytes), then cut it to size.
  const redacted = redactBody(text, header(m.headers, 'content-type'), config, truncated);
  return { headers: redactHeaders(m.headers, config), body: cutUtf8(redacted, bodyBytes), bodySize: m.bodySize };
}

export function redactExchange(ex: HttpExchange, bodyBytes: number, config: RedactionConfig = DEFAULT_REDACTION): RedactedExchange {
  const { request: req, response: resp } = ex;
  const target = redactTarget(req.target ?? '/', config);
  const q = target.indexOf('?');
  return {
    method: req.method ?? 'UNKNOWN',
    target,
    path: q >= 0 ? target.slice(0, q) : target,
    query: q >= 0 ? target.slice(q + 1) : undefined,
    status: resp.status ?? 0,
    statusText: resp.statusText ?? '',
    version: `${req.versionMajor}.${req.versionMinor}`,
    request: redactMessage(req, bodyBytes, config),
    response: redactMessage(resp, bodyBytes, config),
    startNs: req.startNs,
    endNs: resp.endNs,
    latencyNs: ex.latencyNs,
  };
}

function headersJson(headers: readonly Header[]): string {
  // Pixie's header columns are JSON objects; repeated names are joined as HTTP allows. No
  // prototype: a header named `constructor` or `__proto__` is a header like any other.
  const out = Object.create(null) as Record<string, string>;
  for (const [n, v] of headers) out[n] = n in out ? `${out[n]}, ${v}` : v;
  return JSON.stringify(out);
}

/** Pixie's upid: 128 bits (asid:32 | pid:32 | start time ticks:64), printed like a UUID. */
export function upid(pid: number, startTicks = 0, asid = 0): string {
  const hex = (n: bigint, width: number): string => n.toString(16).padStart(width, '0');
  const high = (BigInt(asid) << 32n) | BigInt(pid >>> 0);
  const low = BigInt(Math.max(0, Math.floor(startTicks)));
  const h = hex(high, 16);
  const l = hex(low, 16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${l.slice(0, 4)}-${l.slice(4)}`;
}

export interface PixieHttpEvent {
  time_: number;
  upid: string;
  remote_addr: string;
  remote_port: number;
  local_addr: string;
  local_port: number;
  /** 1 client, 2 server (Pixie's kRoleClient / kRoleServer), 0 unknown. */
  trace_role: number;
  major_version: number;
  minor_version: number;
  content_type: number;
  req_headers: string;
  req_method: string;
  req_path: string;
  req_body: string;
  req_body_size: number;
  resp_headers: string;
  resp_status: number;
  resp_message: string;
  resp_body: string;
  resp_body_size: number;
  latency: number;
  /** Not Pixie columns: what a reader of these rows needs to know where they came from. */
  px_info?: { comm: string; pid: number; tls: boolean; executable?: string; container_id?: string };
}

export function pixieRow(ex: HttpExchange, red: RedactedExchange, proc: ProcessInfo, realtimeOffsetNs: bigint): PixieHttpEvent {
  const role = ex.conn.role === 'client' ? 1 : ex.conn.role === 'server' ? 2 : 0;
  const ct = header(ex.request.headers, 'content-type') ?? header(ex.response.headers, 'content-type') ?? '';
  return {
    // Pixie stamps the row with the response time, like the span's end.
    time_: Number(BigInt(Math.round(red.endNs)) + realtimeOffsetNs),
    upid: upid(proc.pid, proc.startTicks),
    remote_addr: ex.conn.remote?.address ?? '',
    remote_port: ex.conn.remote?.port ?? 0,
    local_addr: ex.conn.local?.address ?? '',
    local_port: ex.conn.local?.port ?? 0,
    trace_role: role,
    major_version: ex.request.versionMajor,
    minor_version: ex.request.versionMinor,
    content_type: /json/i.test(ct) ? 1 : 0, // Pixie: 0 unknown, 1 JSON
    req_headers: headersJson(red.request.headers),
    req_method: red.method,
    req_path: red.target,
    req_body: red.request.body,
    req_body_size: red.request.bodySize,
    resp_headers: headersJson(red.response.headers),
    resp_status: red.status,
    resp_message: red.statusText,
    resp_body: red.response.body,
    resp_body_size: red.response.bodySize,
    latency: Math.round(red.latencyNs),
    px_info: { comm: proc.comm, pid: proc.pid, tls: ex.conn.tls, executable: proc.executable, container_id: proc.containerId },
  };
}
