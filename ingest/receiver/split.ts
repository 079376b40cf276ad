/**
 * Export*ServiceRequest bytes → the Kafka messages the collector's kafka exporter would write (`otlp_proto`): one
 * message per trace id keyed by the hex trace id (partition_traces_by_id), or per resource keyed by a hash of its
 * attributes, or the whole request — each split further so no message exceeds the topic's maximum size.
 *
 * It works on the wire bytes: the three requests share one shape (field 1 = ResourceX, ResourceX{1 resource,
 * 2 ScopeX, 3 schema_url}, ScopeX{1 scope, 2 item, 3 schema_url}), so one scanner finds the items (spans, metrics,
 * log records) and messages are assembled from byte slices of the request. Nothing is decoded twice and fields
 * Peregrine does not know (newer OTLP versions) pass through unchanged.
 */
import { createHash } from 'node:crypto';
import { DecodeError } from '../../core/errors.ts';

export type Signal = 'traces' | 'metrics' | 'logs';

export const ITEM_NAMES: Record<Signal, { item: string; items: string; request: string }> = {
  traces: { item: 'span', items: 'spans', request: 'ExportTraceServiceRequest' },
  metrics: { item: 'metric', items: 'data points', request: 'ExportMetricsServiceRequest' },
  logs: { item: 'log record', items: 'log records', request: 'ExportLogsServiceRequest' },
};

interface Item {
  /** The item's bytes are source[start, end) (offsets, not views: no object per item). */
  start: number;
  end: number;
  /** Hex trace id of a span; undefined when missing or not 16 bytes. */
  traceId?: string;
  /** What the OTLP partial-success counts: 1 per span/log record, the data points of a metric. */
  count: number;
}

interface Scope {
  /** Every field of the ScopeX message except its items, as on the wire (tag + value). */
  header: Uint8Array[];
  headerSize: number;
  items: Item[];
}

interface Resource {
  header: Uint8Array[];
  headerSize: number;
  /** The raw `resource` field value (Resource message), for keying by resource attributes. */
  resource?: Uint8Array;
  scopes: Scope[];
}

export interface ParsedRequest {
  signal: Signal;
  source: Buffer;
  resources: Resource[];
  /** Spans, metric data points or log records in the request. */
  count: number;
}

export interface KafkaMessageOut {
  key?: string | Buffer;
  value: Buffer;
  /** Items (spans, data points, log records) the message carries. */
  count: number;
}

export interface SplitResult {
  messages: KafkaMessageOut[];
  accepted: number;
  rejected: number;
  /** Why items were rejected (for partial_success.error_message); empty when none were. */
  errors: string[];
}

export interface SplitOptions {
  maxMessageBytes: number;
  /** traces: one message per trace id; metrics/logs: one message per resource. */
  partition: 'none' | 'traceId' | 'resource';
}

// ---------- reading ----------

class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array, readonly what: string) {}

  fail(message: string): never {
    throw new DecodeError(`malformed ${this.what}: ${message} at byte ${this.pos}`);
  }

  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.buf.length) this.fail('truncated varint');
      const b = this.buf[this.pos++]!;
      if (shift < 28) result |= (b & 0x7f) << shift;
      else if (shift < 53) result += (b & 0x7f) * 2 ** shift;
      else if (shift >= 70) this.fail('varint too long');
      if (b < 0x80) return result;
      shift += 7;
    }
  }

  /** Skips a field's value of the given wire type, staying within `end`. */
  skip(wireType: number, end: number): void {
    switch (wireType) {
      case 0: this.varint(); break;
      case 1: this.pos += 8; break;
      case 2: this.pos = this.lengthEnd(end); return;
      case 5: this.pos += 4; break;
      default: this.fail(`unsupported wire type ${wireType}`);
    }
    if (this.pos > end) this.fail('field runs past its message');
  }

  lengthEnd(end: number): number {
    const length = this.varint();
    const fieldEnd = this.pos + length;
    if (fieldEnd > end) this.fail(`length ${length} runs past its message`);
    return fieldEnd;
  }
}

const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const ZERO_ID = '00000000000000000000000000000000';

function hexId(buf: Uint8Array, start: number): string {
  let out = '';
  for (let i = start; i < start + 16; i++) out += HEX_BYTE[buf[i]!];
  return out;
}

/** Checks that a message's top-level fields are well formed; returns the hex of field 1 when it is a 16-byte id. */
function scanItem(r: Reader, end: number, signal: Signal, wantTraceId: boolean, check: boolean): { traceId?: string; count: number } {
  if (!check && signal !== 'metrics') {
    // Already validated elsewhere: only the trace id is needed, and SDKs write it first.
    if (!wantTraceId) return { count: 1 };
    if (r.buf[r.pos] === 0x0a && r.buf[r.pos + 1] === 16 && r.pos + 18 <= end) {
      const id = hexId(r.buf, r.pos + 2);
      return { traceId: id === ZERO_ID ? undefined : id, count: 1 };
    }
  }
  let traceId: string | undefined;
  let count = signal === 'metrics' ? 0 : 1;
  while (r.pos < end) {
    const tag = r.varint();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 0) r.fail('field number 0');
    if (signal === 'traces' && field === 1) {
      if (wireType !== 2) r.fail('span trace_id is not bytes');
      const idEnd = r.lengthEnd(end);
      if (wantTraceId) traceId = idEnd - r.pos === 16 ? hexId(r.buf, r.pos) : undefined;
      r.pos = idEnd;
    } else if (signal === 'metrics' && wireType === 2 && (field === 5 || field === 7 || field === 9 || field === 10 || field === 11)) {
      // gauge, sum, histogram, exponential_histogram, summary: count their data_points (field 1).
      const dataEnd = r.lengthEnd(end);
      while (r.pos < dataEnd) {
        const t = r.varint();
        if (t >>> 3 === 1 && (t & 7) === 2) count++;
        r.skip(t & 7, dataEnd);
      }
    } else r.skip(wireType, end);
  }
  return { traceId: traceId === ZERO_ID ? undefined : traceId, count };
}

/**
 * Scans a request. Throws DecodeError naming the byte offset for malformed bytes. Span trace ids are read only when
 * `traceIds` (default: for traces) — partitioning by trace id needs them. `checkItems: false` skips checking each
 * item's own fields, for callers that fully decode the request anyway.
 */
export function parseExportRequest(signal: Signal, input: Uint8Array, options: { traceIds?: boolean; checkItems?: boolean } = {}): ParsedRequest {
  const bytes = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const wantTraceId = options.traceIds ?? signal === 'traces';
  const checkItems = options.checkItems ?? true;
  const r = new Reader(bytes, ITEM_NAMES[signal].request);
  const resources: Resource[] = [];
  let count = 0;
  while (r.pos < bytes.length) {
    const tag = r.varint();
    if (tag >>> 3 === 1) {
      if ((tag & 7) !== 2) r.fail('resource entry is not a message');
      const end = r.lengthEnd(bytes.length);
      const resource: Resource = { header: [], headerSize: 0, scopes: [] };
      while (r.pos < end) {
        const fieldStart = r.pos;
        const t = r.varint();
        if (t === 0x12) {
          const scopeEnd = r.lengthEnd(end);
          const scope: Scope = { header: [], headerSize: 0, items: [] };
          while (r.pos < scopeEnd) {
            const itemFieldStart = r.pos;
            const it = r.varint();
            if (it === 0x12) {
              const itemEnd = r.lengthEnd(scopeEnd);
              const itemStart = r.pos;
              const { traceId, count: c } = scanItem(r, itemEnd, signal, wantTraceId, checkItems);
              scope.items.push({ start: itemStart, end: itemEnd, traceId, count: c });
              count += c;
              r.pos = itemEnd;
            } else {
              if (it >>> 3 === 0) r.fail('field number 0');
              if (it >>> 3 === 2) r.fail(`${ITEM_NAMES[signal].item} entry is not a message`);
              r.skip(it & 7, scopeEnd);
              scope.header.push(bytes.subarray(itemFieldStart, r.pos));
              scope.headerSize += r.pos - itemFieldStart;
            }
          }
          resource.scopes.push(scope);
        } else {
          if (t >>> 3 === 0) r.fail('field number 0');
          if (t >>> 3 === 2) r.fail('scope entry is not a message');
          if (t === 0x0a) {
            const resEnd = r.lengthEnd(end);
            resource.resource = bytes.subarray(r.pos, resEnd);
            r.pos = resEnd;
          } else r.skip(t & 7, end);
          resource.header.push(bytes.subarray(fieldStart, r.pos));
          resource.headerSize += r.pos - fieldStart;
        }
      }
      resources.push(resource);
    } else {
      if (tag >>> 3 === 0) r.fail('field number 0');
      r.skip(tag & 7, bytes.length);
    }
  }
  return { signal, source: bytes, resources, count };
}

// ---------- writing ----------

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Size of a length-delimited field with a one-byte tag (fields 1–15). */
const fieldSize = (length: number) => 1 + varintSize(length) + length;

function writeVarint(out: Buffer, pos: number, n: number): number {
  while (n >= 0x80) {
    out[pos++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[pos++] = n;
  return pos;
}

interface OutScope { scope: Scope; inner: number; items: Item[] }
interface OutResource { resource: Resource; inner: number; scopes: OutScope[] }

/** Packs items into one message, tracking the exact encoded size as it grows. */
class MessageBuilder {
  constructor(private readonly source: Buffer) {}
  resources: OutResource[] = [];
  size = 0;
  count = 0;

  /** Encoded size after adding `item` of (resource, scope), without adding it. */
  sizeWith(resource: Resource, scope: Scope, item: Item): number {
    const last = this.resources.at(-1);
    const itemField = fieldSize(item.end - item.start);
    if (last?.resource === resource) {
      const lastScope = last.scopes.at(-1)!;
      let resInner: number;
      if (lastScope.scope === scope) resInner = last.inner - fieldSize(lastScope.inner) + fieldSize(lastScope.inner + itemField);
      else resInner = last.inner + fieldSize(scope.headerSize + itemField);
      return this.size - fieldSize(last.inner) + fieldSize(resInner);
    }
    return this.size + fieldSize(resource.headerSize + fieldSize(scope.headerSize + itemField));
  }

  add(resource: Resource, scope: Scope, item: Item): void {
    this.size = this.sizeWith(resource, scope, item);
    this.count += item.count;
    let last = this.resources.at(-1);
    if (last?.resource !== resource) {
      last = { resource, inner: resource.headerSize, scopes: [] };
      this.resources.push(last);
    }
    let lastScope = last.scopes.at(-1);
    if (lastScope?.scope !== scope) {
      lastScope = { scope, inner: scope.headerSize, items: [] };
      last.scopes.push(lastScope);
      last.inner += fieldSize(lastScope.inner);
    }
    const before = fieldSize(lastScope.inner);
    lastScope.inner += fieldSize(item.end - item.start);
    lastScope.items.push(item);
    last.inner += fieldSize(lastScope.inner) - before;
  }

  encode(): Buffer {
    const out = Buffer.allocUnsafe(this.size);
    let pos = 0;
    const put = (chunk: Uint8Array) => {
      out.set(chunk, pos);
      pos += chunk.length;
    };
    for (const r of this.resources) {
      out[pos++] = 0x0a;
      pos = writeVarint(out, pos, r.inner);
      for (const h of r.resource.header) put(h);
      for (const s of r.scopes) {
        out[pos++] = 0x12;
        pos = writeVarint(out, pos, s.inner);
        for (const h of s.scope.header) put(h);
        for (const item of s.items) {
          out[pos++] = 0x12;
          pos = writeVarint(out, pos, item.end - item.start);
          pos += this.source.copy(out, pos, item.start, item.end);
        }
      }
    }
    if (pos !== this.size) throw new Error(`internal: encoded ${pos} bytes, expected ${this.size}`);
    return out;
  }
}

/** A stable key for a resource: its attributes (KeyValue entries) sorted bytewise, hashed — order does not matter. */
export function resourceKey(resource: Uint8Array | undefined): Buffer {
  const entries: Buffer[] = [];
  if (resource) {
    const r = new Reader(resource, 'Resource');
    while (r.pos < resource.length) {
      const start = r.pos;
      const tag = r.varint();
      r.skip(tag & 7, resource.length);
      if (tag === 0x0a) entries.push(Buffer.from(resource.subarray(start, r.pos)));
    }
  }
  entries.sort(Buffer.compare);
  const hash = createHash('sha256');
  for (const e of entries) hash.update(e);
  return hash.digest().subarray(0, 16);
}

type Unit = [Resource, Scope, Item];

function emit(result: SplitResult, key: string | Buffer | undefined, builder: MessageBuilder): void {
  result.messages.push({ key, value: builder.encode(), count: builder.count });
  result.accepted += builder.count;
}

/** Splits a parsed request into Kafka messages no larger than `maxMessageBytes`. */
export function splitRequest(request: ParsedRequest, options: SplitOptions): SplitResult {
  const groups = new Map<string, { key?: string | Buffer; units: Unit[] }>();
  const result: SplitResult = { messages: [], accepted: 0, rejected: 0, errors: [] };
  const names = ITEM_NAMES[request.signal];
  let missingIds = 0;
  let oversize = 0;
  for (const resource of request.resources) {
    const resourceGroup = options.partition === 'resource' ? resourceKey(resource.resource) : undefined;
    for (const scope of resource.scopes) {
      for (const item of scope.items) {
        let id = '';
        let key: string | Buffer | undefined;
        if (options.partition === 'traceId') {
          if (!item.traceId) {
            missingIds++;
            result.rejected += item.count;
            continue;
          }
          id = key = item.traceId;
        } else if (resourceGroup) {
          key = resourceGroup;
          id = resourceGroup.toString('hex');
        }
        let group = groups.get(id);
        if (!group) groups.set(id, (group = { key, units: [] }));
        group.units.push([resource, scope, item]);
      }
    }
  }
  for (const group of groups.values()) {
    let builder = new MessageBuilder(request.source);
    for (const [resource, scope, item] of group.units) {
      if (builder.resources.length && builder.sizeWith(resource, scope, item) > options.maxMessageBytes) {
        emit(result, group.key, builder);
        builder = new MessageBuilder(request.source);
      }
      if (builder.sizeWith(resource, scope, item) > options.maxMessageBytes) {
        oversize++;
        result.rejected += item.count;
        continue;
      }
      builder.add(resource, scope, item);
    }
    if (builder.resources.length) emit(result, group.key, builder);
  }
  if (missingIds) result.errors.push(`${missingIds} ${names.item}(s) without a valid 16-byte trace id`);
  if (oversize) result.errors.push(`${oversize} ${names.item}(s) larger than the maximum Kafka message size (${options.maxMessageBytes} bytes)`);
  return result;
}
