/**
 * Pixie `http_events` rows → RequestEvent, and → an ExportTraceServiceRequest the way Pixie's
 * OpenTelemetry export builds one (a span per request, `start = time_ - latency`, HTTP semantic
 * conventions, body excerpts as attributes), so recorded Pixie data can be produced onto `otlp_spans`.
 * Pure: ids are derived from the row itself, so importing the same file twice gives the same spans.
 */
import { createHash } from 'node:crypto';
import { DecodeError } from '../../core/errors.ts';
import type { RequestEvent } from '../../core/events.ts';
import { ExportTraceServiceRequest } from '../otlp/proto-types.ts';
import { bigNanosDiffMs, bigNanosToMs } from '../otlp/nanos.ts';
import { routeTemplate } from '../../core/route.ts';
import { normalizeSpan, resourceInfo, UNKNOWN_SERVICE, type Attributes, type AttrValue, type SpanFields } from '../normalize/span.ts';

/** Pixie's column names; every column may be absent (CSIC 2010 rows have no time_, latency or response). */
export interface PixieHttpRow {
  time_?: number | string;
  upid?: string;
  remote_addr?: string;
  remote_port?: number;
  local_addr?: string;
  local_port?: number;
  /** 1 = client side of the connection, 2 = server side (Pixie's kRoleClient / kRoleServer). */
  trace_role?: number;
  encrypted?: boolean;
  major_version?: number;
  minor_version?: number;
  content_type?: number | string;
  req_headers?: string | Record<string, string>;
  req_method?: string;
  req_path?: string;
  req_body?: string;
  req_body_size?: number;
  resp_headers?: string | Record<string, string>;
  resp_status?: number;
  resp_message?: string;
  resp_body?: string;
  resp_body_size?: number;
  /** Nanoseconds. */
  latency?: number;
  /** Columns a PxL script commonly adds from `df.ctx`. */
  service?: string;
  pod?: string;
  namespace?: string;
  trace_id?: string;
  span_id?: string;
  [column: string]: unknown;
}

export interface PixieOptions {
  /** service.name for rows without a `service` column. */
  service?: string;
  /** Start time (ms since the epoch) for rows without `time_`; row i starts at fallbackTimeMs + i. */
  fallbackTimeMs?: number;
  /** Longest body excerpt kept, in characters. */
  bodyLimit?: number;
}

const DEFAULT_BODY_LIMIT = 1024;
const SENSITIVE_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'x-auth-token']);
export const REDACTED = '[REDACTED]';

const NUMBER_COLUMNS = ['remote_port', 'local_port', 'trace_role', 'major_version', 'minor_version', 'req_body_size', 'resp_status', 'resp_body_size', 'latency'];
const STRING_COLUMNS = ['upid', 'remote_addr', 'local_addr', 'req_method', 'req_path', 'req_body', 'resp_message', 'resp_body', 'service', 'pod', 'namespace', 'trace_id', 'span_id'];

/** Checks one row's column types; `where` names it in errors (e.g. `line 12`). */
export function validatePixieRow(value: unknown, where: string): PixieHttpRow {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new DecodeError(`${where}: expected a JSON object (one http_events row)`);
  const row = value as Record<string, unknown>;
  for (const column of NUMBER_COLUMNS) {
    const v = row[column];
    if (v !== undefined && v !== null && (typeof v !== 'number' || !Number.isFinite(v))) throw new DecodeError(`${where}: column ${column} must be a number, got ${JSON.stringify(v)}`);
  }
  for (const column of STRING_COLUMNS) {
    const v = row[column];
    if (v !== undefined && v !== null && typeof v !== 'string') throw new DecodeError(`${where}: column ${column} must be a string, got ${JSON.stringify(v)}`);
  }
  for (const column of ['req_headers', 'resp_headers']) {
    const v = row[column];
    if (v !== undefined && v !== null && typeof v !== 'string' && (typeof v !== 'object' || Array.isArray(v))) throw new DecodeError(`${where}: column ${column} must be a JSON object or its text`);
  }
  const t = row.time_;
  if (t !== undefined && t !== null) timeNanos(t, where);
  return row as PixieHttpRow;
}

/** JSON Lines (one row per line, blank lines skipped) → rows; errors name the line. */
export function parsePixieRows(text: string): PixieHttpRow[] {
  const rows: PixieHttpRow[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new DecodeError(`line ${i + 1}: not valid JSON (${(error as Error).message})`, { cause: error });
    }
    rows.push(validatePixieRow(value, `line ${i + 1}`));
  }
  return rows;
}

const ISO = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** time_ as nanoseconds: a number or decimal string of ns, or an RFC 3339 timestamp (as `px -o json` prints it). */
function timeNanos(v: unknown, where: string): bigint {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return BigInt(Math.round(v));
  if (typeof v === 'string') {
    if (/^\d{1,20}$/.test(v)) return BigInt(v);
    const m = ISO.exec(v);
    if (m) {
      const seconds = Date.parse(`${m[1]}${m[3]}`);
      if (!Number.isNaN(seconds)) return BigInt(seconds) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
    }
  }
  throw new DecodeError(`${where}: column time_ must be nanoseconds or an RFC 3339 time, got ${JSON.stringify(v)}`);
}

function headers(v: PixieHttpRow['req_headers'], where: string): Record<string, string> {
  if (v === undefined || v === null || v === '') return {};
  if (typeof v === 'object') return v;
  try {
    const parsed = JSON.parse(v) as unknown;
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, string>;
  } catch {
    // fall through
  }
  throw new DecodeError(`${where}: headers are not a JSON object`);
}

function header(h: Record<string, string>, name: string): string | undefined {
  for (const key of Object.keys(h)) if (key.toLowerCase() === name) return String(h[key]);
  return undefined;
}

function excerpt(body: string | undefined, limit: number): string | undefined {
  if (body === undefined || body === null || body === '') return undefined;
  return body.length > limit ? body.slice(0, limit) : body;
}

/** `host[:port]` or `[v6]:port` from a Host header → [host, port?]. */
function splitHost(host: string): [string, number | undefined] {
  const m = /^(?:\[([^\]]*)\]|([^:]*))(?::(\d{1,5}))?$/.exec(host.trim());
  if (!m) return [host, undefined];
  return [m[1] ?? m[2] ?? host, m[3] === undefined ? undefined : Number(m[3])];
}

interface PixieSpan {
  fields: SpanFields;
  /** OTLP attributes as protobufjs AnyValue objects, in order. */
  otlp: Array<{ key: string; value: Record<string, unknown> }>;
  attributes: Attributes;
  resource: Attributes;
  startNs: bigint;
  endNs: bigint;
}

function rowToSpan(row: PixieHttpRow, index: number, options: PixieOptions): PixieSpan {
  const where = `row ${index + 1}`;
  const otlp: PixieSpan['otlp'] = [];
  const attributes: Attributes = {};
  const put = (key: string, value: AttrValue | string[] | undefined): void => {
    if (value === undefined || value === '') return;
    if (Array.isArray(value)) {
      otlp.push({ key, value: { arrayValue: { values: value.map((s) => ({ stringValue: s })) } } });
      attributes[key] = JSON.stringify(value);
    } else {
      otlp.push({ key, value: typeof value === 'number' ? { intValue: String(Math.trunc(value)) } : { stringValue: String(value) } });
      attributes[key] = typeof value === 'number' ? Math.trunc(value) : String(value);
    }
  };

  const latencyNs = BigInt(Math.max(0, Math.round(row.latency ?? 0)));
  let startNs: bigint;
  let endNs: bigint;
  if (row.time_ !== undefined && row.time_ !== null) {
    endNs = timeNanos(row.time_, where);
    startNs = endNs - latencyNs;
  } else {
    if (options.fallbackTimeMs === undefined) throw new DecodeError(`${where}: no time_ column; pass fallbackTimeMs to place such rows in time`);
    // Whole microseconds of the fallback, then exact integer steps: no float drift across rows.
    startNs = BigInt(Math.round(options.fallbackTimeMs * 1000)) * 1000n + BigInt(index) * 1_000_000n;
    endNs = startNs + latencyNs;
  }

  const role = row.trace_role === 1 ? 'client' : 'server';
  const method = row.req_method || undefined;
  const rawPath = row.req_path ?? '';
  const q = rawPath.indexOf('?');
  const path = rawPath === '' ? undefined : q >= 0 ? rawPath.slice(0, q) || '/' : rawPath;
  const query = q >= 0 ? rawPath.slice(q + 1) : undefined;
  const reqHeaders = headers(row.req_headers, where);
  const hostHeader = header(reqHeaders, 'host');
  const [host, hostPort] = hostHeader === undefined ? [undefined, undefined] : splitHost(hostHeader);
  const status = row.resp_status !== undefined && row.resp_status !== null && row.resp_status > 0 ? row.resp_status : undefined;

  put('http.request.method', method);
  put('url.path', path);
  put('url.query', query);
  put('http.response.status_code', status);
  if (role === 'server') {
    put('server.address', host || row.local_addr);
    put('server.port', hostPort ?? row.local_port);
    put('client.address', row.remote_addr);
    put('client.port', row.remote_port);
  } else {
    put('server.address', host || row.remote_addr);
    put('server.port', hostPort ?? row.remote_port);
  }
  put('network.peer.address', row.remote_addr);
  put('network.peer.port', row.remote_port);
  put('network.local.address', row.local_addr);
  put('network.local.port', row.local_port);
  if (row.major_version !== undefined && row.major_version !== null) put('network.protocol.version', `${row.major_version}.${row.minor_version ?? 0}`);
  put('user_agent.original', header(reqHeaders, 'user-agent'));
  put('http.request.body.size', row.req_body_size);
  put('http.response.body.size', row.resp_body_size);
  for (const [name, value] of Object.entries(reqHeaders)) {
    const lower = name.toLowerCase();
    if (lower === 'user-agent') continue;
    put(`http.request.header.${lower}`, [SENSITIVE_HEADERS.has(lower) ? REDACTED : String(value)]);
  }
  const limit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  put('http.request.body', excerpt(row.req_body, limit));
  put('http.response.body', excerpt(row.resp_body, limit));
  put('pixie.upid', row.upid);

  const resource: Attributes = { 'service.name': row.service || options.service || UNKNOWN_SERVICE };
  if (row.pod) resource['k8s.pod.name'] = row.pod;
  if (row.namespace) resource['k8s.namespace.name'] = row.namespace;

  const [traceId, spanId] = ids(row, index);
  const fields: SpanFields = {
    traceId,
    spanId,
    parentSpanId: '',
    name: [method, path === undefined ? undefined : routeTemplate(path)].filter(Boolean).join(' ') || 'HTTP',
    kind: role === 'client' ? 3 : 2,
    startMs: bigNanosToMs(startNs),
    durationMs: bigNanosDiffMs(startNs, endNs),
    // Pixie's export marks server spans with a 5xx response as errors.
    statusCode: status !== undefined && status >= 500 ? 2 : 0,
    statusMessage: status !== undefined && status >= 500 ? row.resp_message ?? '' : '',
  };
  return { fields, otlp, attributes, resource, startNs, endNs };
}

const HEX32 = /^[0-9a-f]{32}$/i;
const HEX16 = /^[0-9a-f]{16}$/i;

/** The row's own ids where it has them, otherwise ids hashed from its content and position. */
function ids(row: PixieHttpRow, index: number): [string, string] {
  if (typeof row.trace_id === 'string' && HEX32.test(row.trace_id) && typeof row.span_id === 'string' && HEX16.test(row.span_id)) {
    return [row.trace_id.toLowerCase(), row.span_id.toLowerCase()];
  }
  const digest = createHash('sha256').update(`${index}\u0000${JSON.stringify(row)}`).digest('hex');
  return [digest.slice(0, 32), digest.slice(32, 48)];
}

/** One row → the RequestEvent that decoding its exported span gives. `index` is its position in the file. */
export function pixieRowToRequestEvent(row: PixieHttpRow, options: PixieOptions = {}, index = 0): RequestEvent {
  const span = rowToSpan(row, index, options);
  return normalizeSpan({ ...span.fields, attributes: span.attributes }, resourceInfo(span.resource));
}

/** Rows → one ExportTraceServiceRequest (protobuf bytes), a ResourceSpans per service/pod/namespace. */
export function pixieRowsToTraceRequest(rows: readonly PixieHttpRow[], options: PixieOptions = {}): Uint8Array {
  const byResource = new Map<string, { resource: Attributes; spans: Record<string, unknown>[] }>();
  rows.forEach((row, index) => {
    const span = rowToSpan(row, index, options);
    const key = JSON.stringify(span.resource);
    let group = byResource.get(key);
    if (!group) byResource.set(key, (group = { resource: span.resource, spans: [] }));
    const f = span.fields;
    group.spans.push({
      traceId: Buffer.from(f.traceId, 'hex'),
      spanId: Buffer.from(f.spanId, 'hex'),
      name: f.name,
      kind: f.kind,
      startTimeUnixNano: span.startNs.toString(),
      endTimeUnixNano: span.endNs.toString(),
      attributes: span.otlp,
      status: f.statusCode === 0 ? undefined : { code: f.statusCode, message: f.statusMessage },
    });
  });
  const request = {
    resourceSpans: [...byResource.values()].map(({ resource, spans }) => ({
      resource: { attributes: Object.entries(resource).map(([key, value]) => ({ key, value: { stringValue: String(value) } })) },
      scopeSpans: [{ scope: { name: 'pixie' }, spans }],
    })),
  };
  return ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(request)).finish();
}
