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
import { ProtoReader, WIRE_LEN } from '../../core/protobuf/reader.ts';
import { fieldSize, ProtoWriter } from '../../core/protobuf/writer.ts';

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

const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const ZERO_ID = '00000000000000000000000000000000';

function hexId(buf: Uint8Array, start: number): string {
  let out = '';
  for (let i = start; i < start + 16; i++) out += HEX_BYTE[buf[i]!];
  return out;
}

/** The item scan's answer (one object reused: the scan runs once per span). */
const scanned = { traceId: undefined as string | undefined, count: 0 };

/**
 * Checks that an item's top-level fields are well formed (when `check`), counts what it carries, and reads the hex
 * of field 1 when it is a 16-byte trace id. `r.end` is the item's end.
 */
function scanItem(r: ProtoReader, signal: Signal, wantTraceId: boolean, check: boolean): typeof scanned {
  const end = r.end;
  scanned.traceId = undefined;
  scanned.count = signal === 'metrics' ? 0 : 1;
  if (!check && signal !== 'metrics') {
    // Already validated elsewhere: only the trace id is needed, and SDKs write it first.
    if (!wantTraceId) return scanned;
    if (r.buf[r.pos] === 0x0a && r.buf[r.pos + 1] === 16 && r.pos + 18 <= end) {
      const id = hexId(r.buf, r.pos + 2);
      if (id !== ZERO_ID) scanned.traceId = id;
      return scanned;
    }
  }
  while (r.pos < end) {
    const tag = r.tag();
    const field = tag >>> 3;
    if (signal === 'traces' && field === 1) {
      if ((tag & 7) !== WIRE_LEN) r.fail('span trace_id is not bytes');
      const idEnd = r.lengthEnd();
      if (wantTraceId) scanned.traceId = idEnd - r.pos === 16 ? hexId(r.buf, r.pos) : undefined;
      r.pos = idEnd;
    } else if (signal === 'metrics' && (tag & 7) === WIRE_LEN && (field === 5 || field === 7 || field === 9 || field === 10 || field === 11)) {
      // gauge, sum, histogram, exponential_histogram, summary: count their data_points (field 1).
      const dataEnd = r.lengthEnd();
      r.end = dataEnd;
      while (r.pos < dataEnd) {
        const t = r.tag();
        if (t === 0x0a) scanned.count++;
        r.skip(t);
      }
      r.end = end;
    } else r.skip(tag);
  }
  if (scanned.traceId === ZERO_ID) scanned.traceId = undefined;
  return scanned;
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
  const names = ITEM_NAMES[signal];
  const r = new ProtoReader(bytes, names.request);
  const resources: Resource[] = [];
  let count = 0;
  while (r.pos < r.end) {
    const tag = r.tag();
    if (tag >>> 3 !== 1) {
      r.skip(tag);
      continue;
    }
    if (tag !== 0x0a) r.fail('resource entry is not a message');
    const end = r.lengthEnd();
    r.end = end;
    const resource: Resource = { header: [], headerSize: 0, scopes: [] };
    while (r.pos < end) {
      const fieldStart = r.pos;
      const t = r.tag();
      if (t === 0x12) {
        const scopeEnd = r.lengthEnd();
        r.end = scopeEnd;
        const scope: Scope = { header: [], headerSize: 0, items: [] };
        while (r.pos < scopeEnd) {
          const itemFieldStart = r.pos;
          const it = r.tag();
          if (it === 0x12) {
            const itemEnd = r.lengthEnd();
            const itemStart = r.pos;
            r.end = itemEnd;
            const { traceId, count: c } = scanItem(r, signal, wantTraceId, checkItems);
            r.end = scopeEnd;
            scope.items.push({ start: itemStart, end: itemEnd, traceId, count: c });
            count += c;
            r.pos = itemEnd;
          } else {
            if (it >>> 3 === 2) r.fail(`${names.item} entry is not a message`);
            r.skip(it);
            scope.header.push(bytes.subarray(itemFieldStart, r.pos));
            scope.headerSize += r.pos - itemFieldStart;
          }
        }
        r.end = end;
        resource.scopes.push(scope);
      } else {
        if (t >>> 3 === 2) r.fail('scope entry is not a message');
        if (t === 0x0a) {
          const resEnd = r.lengthEnd();
          resource.resource = bytes.subarray(r.pos, resEnd);
          r.pos = resEnd;
        } else r.skip(t);
        resource.header.push(bytes.subarray(fieldStart, r.pos));
        resource.headerSize += r.pos - fieldStart;
      }
    }
    r.end = bytes.length;
    resources.push(resource);
  }
  return { signal, source: bytes, resources, count };
}

// ---------- writing ----------

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
    const w = new ProtoWriter(this.size);
    for (const r of this.resources) {
      w.lengthHead(1, r.inner);
      for (const h of r.resource.header) w.raw(h);
      for (const s of r.scopes) {
        w.lengthHead(2, s.inner);
        for (const h of s.scope.header) w.raw(h);
        for (const item of s.items) {
          w.lengthHead(2, item.end - item.start);
          w.raw(this.source, item.start, item.end);
        }
      }
    }
    if (w.pos !== this.size) throw new Error(`internal: encoded ${w.pos} bytes, expected ${this.size}`);
    return w.finish();
  }
}

/** A stable key for a resource: its attributes (KeyValue entries) sorted bytewise, hashed — order does not matter. */
export function resourceKey(resource: Uint8Array | undefined): Buffer {
  const entries: Buffer[] = [];
  if (resource) {
    const r = new ProtoReader(resource, 'Resource');
    while (r.pos < r.end) {
      const start = r.pos;
      const tag = r.tag();
      r.skip(tag);
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
