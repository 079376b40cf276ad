/**
 * Decodes the loader's stdout: `[u32 length LE][record]` frames whose records mirror the structs
 * of ebpf/bpf/sensor.h and ebpf/loader/engine.h (offsets below must match them). The same
 * decoding reads the loader's input stream (a PEREGRINE_SENSOR_TAP capture: data records too).
 * Pure: bytes in, records out.
 */
import { DecodeError } from '../../core/errors.ts';
import type { TrackerCounters } from './connections.ts';

export const EV = { data: 1, connOpen: 2, connClose: 3, exec: 4, hello: 100, stats: 101, spans: 102, rows: 103 } as const;
export type Role = 'client' | 'server' | 'unknown';
const ROLES: readonly Role[] = ['unknown', 'client', 'server'];

/** Monotonic nanoseconds as a double: exact below 2^53 ns (104 days of uptime), close enough above. */
export type MonoNs = number;

interface Header {
  tgid: number;
  tid: number;
  fd: number;
  tsNs: MonoNs;
  connId: string;
}

export interface DataRecord extends Header {
  type: 'data';
  sslPtr: string;
  /** True byte count of the read/write. */
  size: number;
  /** The first bytes of it (at most the capture size). */
  data: Buffer;
  direction: 'egress' | 'ingress';
  source: 'syscall' | 'tls';
  role: Role;
  comm: string;
}

export interface Endpoint {
  address: string;
  port: number;
}

export interface ConnRecord extends Header {
  type: 'conn-open' | 'conn-close';
  bytesSent: number;
  bytesReceived: number;
  cgroupId: string;
  /** Only on open (the socket's addresses are not read again at close). */
  local?: Endpoint;
  remote?: Endpoint;
  role: Role;
  preexisting: boolean;
  comm: string;
}

export interface ExecRecord extends Header {
  type: 'exec';
  ppid: number;
  uid: number;
  cgroupId: string;
  comm: string;
  filename: string;
  args: string[];
}

export interface HelloRecord {
  type: 'hello';
  version: number;
  /** Add to a record's monotonic ns to get wall-clock ns. */
  realtimeOffsetNs: bigint;
  captureBytes: number;
  loaderPid: number;
}

export interface StatsRecord {
  type: 'stats';
  ringbufDrops: number;
  dataEvents: number;
  connEvents: number;
  execEvents: number;
  tlsUnresolved: number;
  loaderCpuNs: number;
  bpfRunTimeNs: number;
  bpfRunCount: number;
  /** The loader's CLOCK_MONOTONIC when it wrote this record (0 from older loaders). */
  monoNs: MonoNs;
  /** The engine's counters (ebpf/loader/engine.h), absent in a captured input stream. */
  engine?: EngineStats;
}

/**
 * The C engine's counters, cumulative (trackedConnections: a gauge): the reassembly's, as the
 * reference counts them (pairedExchanges is its `exchanges`), and the engine's own.
 */
export interface EngineStats extends Omit<TrackerCounters, 'exchanges'> {
  records: number;
  /** Exchanges exported (the sensor's own exports are not). */
  exchanges: number;
  selfExchanges: number;
  spans: number;
  rows: number;
  trackedConnections: number;
  malformedRecords: number;
  pairedExchanges: number;
}

const ENGINE_COUNTERS: ReadonlyArray<keyof EngineStats> = [
  'records', 'exchanges', 'selfExchanges', 'spans', 'rows', 'trackedConnections', 'unparseable', 'nonHttpConnections',
  'http2Connections', 'tlsCiphertextChunks', 'unansweredRequests', 'unmatchedResponses', 'pendingOverflow',
  'evictedConnections', 'expiredConnections', 'ignoredBytes', 'malformedRecords', 'pairedExchanges',
];

/** Finished exchanges of one process, as encoded OTLP Span messages. */
export interface SpanGroup {
  pid: number;
  comm: string;
  count: number;
  /** ScopeSpans field 2 (key, length, Span), `count` times: ready to sit inside a ScopeSpans. */
  spans: Buffer;
}

export interface SpanBatchRecord {
  type: 'spans';
  groups: SpanGroup[];
}

export interface RowBatchRecord {
  type: 'rows';
  /** Pixie http_events rows as JSON text (upid and px_info's process details left to the agent). */
  rows: Array<{ pid: number; json: string }>;
}

export type SensorRecord = DataRecord | ConnRecord | ExecRecord | HelloRecord | StatsRecord | SpanBatchRecord | RowBatchRecord;

/** Larger than any record the loader writes (a batch of exchanges is handed over at 1 MiB). */
const MAX_FRAME = 16 << 20;
const DATA_HEADER = 72;
const EXEC_HEADER = 328;

function u64(buf: Buffer, off: number): number {
  return buf.readUInt32LE(off + 4) * 4294967296 + buf.readUInt32LE(off);
}

// Every record of a connection carries the same id and command name: their strings are made once
// and found again (direct-mapped memos, so a new value just replaces an old one).
const MEMO_SLOTS = 1024;
const hexHigh = new Float64Array(MEMO_SLOTS).fill(-1);
const hexLow = new Float64Array(MEMO_SLOTS).fill(-1);
const hexText: string[] = new Array(MEMO_SLOTS);

/** A u64 as hex without BigInt (ids only need to be unique and stable). */
function hex64(buf: Buffer, off: number): string {
  const high = buf.readUInt32LE(off + 4);
  const low = buf.readUInt32LE(off);
  const slot = (low ^ high) & (MEMO_SLOTS - 1);
  if (hexLow[slot] === low && hexHigh[slot] === high) return hexText[slot];
  const lowHex = low.toString(16);
  const text = high === 0 ? lowHex : high.toString(16) + lowHex.padStart(8, '0');
  hexLow[slot] = low;
  hexHigh[slot] = high;
  hexText[slot] = text;
  return text;
}

const commBytes: Array<Buffer | undefined> = new Array(MEMO_SLOTS);
const commText: string[] = new Array(MEMO_SLOTS);

/** A NUL-terminated string of at most 16 bytes (comm), remembered by its bytes. */
function cstring(buf: Buffer, start: number, end: number): string {
  let stop = start;
  while (stop < end && buf[stop] !== 0) stop++; // bounded by `end`: buf may be a whole chunk
  const len = stop - start;
  if (len > 16 || len === 0) return buf.toString('utf8', start, stop);
  const slot = (len * 31 + buf[start] * 7 + buf[stop - 1] * 131 + buf[start + (len >> 1)]) & (MEMO_SLOTS - 1);
  const known = commBytes[slot];
  if (known !== undefined && known.length === len) {
    let k = 0;
    while (k < len && known[k] === buf[start + k]) k++;
    if (k === len) return commText[slot];
  }
  const text = buf.toString('utf8', start, stop);
  commBytes[slot] = Buffer.from(buf.subarray(start, stop));
  commText[slot] = text;
  return text;
}

function ip(bytes: Buffer, family: number): string {
  if (family === 2) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  // IPv4-mapped IPv6 (dual-stack listeners) reads better as IPv4.
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  // Compress the longest run of zero groups, as RFC 5952 asks.
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLen).join(':')}`;
}

function header(rec: Buffer): Header {
  return {
    tgid: rec.readUInt32LE(4),
    tid: rec.readUInt32LE(8),
    fd: rec.readInt32LE(12),
    tsNs: u64(rec, 16),
    connId: hex64(rec, 24),
  };
}

function need(rec: Buffer, type: number, n: number): void {
  if (rec.length < n) throw new DecodeError(`sensor record type ${type}: ${rec.length} bytes, need ${n}`);
}

/**
 * A data record lying at `buf[o, o + len)`, read in place: the hot path (most records) makes no
 * view of the record, one object, and one view of the payload.
 */
function decodeData(buf: Buffer, o: number, len: number): DataRecord {
  if (len < DATA_HEADER) throw new DecodeError(`sensor record type ${EV.data}: ${len} bytes, need ${DATA_HEADER}`);
  const captured = buf.readUInt32LE(o + 44);
  if (len < DATA_HEADER + captured) throw new DecodeError(`sensor record type ${EV.data}: ${len} bytes, need ${DATA_HEADER + captured}`);
  return {
    type: 'data',
    tgid: buf.readUInt32LE(o + 4),
    tid: buf.readUInt32LE(o + 8),
    fd: buf.readInt32LE(o + 12),
    tsNs: u64(buf, o + 16),
    connId: hex64(buf, o + 24),
    sslPtr: buf[o + 49] === 1 ? hex64(buf, o + 32) : '0',
    size: buf.readUInt32LE(o + 40),
    data: buf.subarray(o + DATA_HEADER, o + DATA_HEADER + captured),
    direction: buf[o + 48] === 0 ? 'egress' : 'ingress',
    source: buf[o + 49] === 1 ? 'tls' : 'syscall',
    role: ROLES[buf[o + 50]] ?? 'unknown',
    comm: cstring(buf, o + 56, o + 72),
  };
}

export function decodeRecord(rec: Buffer): SensorRecord {
  if (rec.length < 4) throw new DecodeError(`sensor record of ${rec.length} bytes is too short`);
  const type = rec.readUInt32LE(0);
  switch (type) {
    case EV.data:
      return decodeData(rec, 0, rec.length);
    case EV.connOpen:
    case EV.connClose: {
      need(rec, type, 112);
      const family = rec.readUInt16LE(56);
      const open = type === EV.connOpen;
      return {
        type: open ? 'conn-open' : 'conn-close',
        ...header(rec),
        bytesSent: u64(rec, 32),
        bytesReceived: u64(rec, 40),
        cgroupId: rec.readBigUInt64LE(48).toString(),
        local: open ? { address: ip(rec.subarray(64, 80), family), port: rec.readUInt16LE(58) } : undefined,
        remote: open ? { address: ip(rec.subarray(80, 96), family), port: rec.readUInt16LE(60) } : undefined,
        role: ROLES[rec[62]] ?? 'unknown',
        preexisting: (rec[63] & 1) === 1,
        comm: cstring(rec, 96, 112),
      };
    }
    case EV.exec: {
      need(rec, type, EXEC_HEADER);
      const argsLen = Math.min(rec.readUInt32LE(48), rec.length - EXEC_HEADER);
      const raw = rec.toString('utf8', EXEC_HEADER, EXEC_HEADER + argsLen);
      const args = raw.split('\0');
      if (args.length && args[args.length - 1] === '') args.pop();
      return {
        type: 'exec',
        ...header(rec),
        ppid: rec.readUInt32LE(32),
        uid: rec.readUInt32LE(36),
        cgroupId: rec.readBigUInt64LE(40).toString(),
        comm: cstring(rec, 56, 72),
        filename: cstring(rec, 72, 328),
        args,
      };
    }
    case EV.hello:
      need(rec, type, 24);
      return {
        type: 'hello',
        version: rec.readUInt32LE(4),
        realtimeOffsetNs: rec.readBigUInt64LE(8),
        captureBytes: rec.readUInt32LE(16),
        loaderPid: rec.readUInt32LE(20),
      };
    case EV.stats: {
      need(rec, type, 8);
      const n = rec.readUInt32LE(4);
      need(rec, type, 8 + n * 8 + 24);
      const c = (i: number): number => (i < n ? u64(rec, 8 + i * 8) : 0);
      const tail = 8 + n * 8;
      let engine: EngineStats | undefined;
      const engineAt = tail + 32;
      if (rec.length >= engineAt + 8) {
        const count = rec.readUInt32LE(engineAt);
        need(rec, type, engineAt + 8 + count * 8);
        engine = {} as EngineStats;
        ENGINE_COUNTERS.forEach((name, i) => { engine![name] = i < count ? u64(rec, engineAt + 8 + i * 8) : 0; });
      }
      return {
        type: 'stats',
        engine,
        ringbufDrops: c(0),
        dataEvents: c(1),
        connEvents: c(2),
        execEvents: c(3),
        tlsUnresolved: c(4),
        loaderCpuNs: u64(rec, tail),
        bpfRunTimeNs: u64(rec, tail + 8),
        bpfRunCount: u64(rec, tail + 16),
        monoNs: rec.length >= tail + 32 ? u64(rec, tail + 24) : 0,
      };
    }
    case EV.spans: {
      need(rec, type, 8);
      const groups: SpanGroup[] = [];
      let at = 8;
      for (let g = rec.readUInt32LE(4); g > 0; g--) {
        need(rec, type, at + 28);
        const bytes = rec.readUInt32LE(at + 8);
        need(rec, type, at + 28 + bytes);
        groups.push({ pid: rec.readUInt32LE(at), count: rec.readUInt32LE(at + 4), comm: cstring(rec, at + 12, at + 28), spans: rec.subarray(at + 28, at + 28 + bytes) });
        at += 28 + bytes;
      }
      return { type: 'spans', groups };
    }
    case EV.rows: {
      need(rec, type, 8);
      const rows: RowBatchRecord['rows'] = [];
      let at = 8;
      for (let r = rec.readUInt32LE(4); r > 0; r--) {
        need(rec, type, at + 8);
        const len = rec.readUInt32LE(at + 4);
        need(rec, type, at + 8 + len);
        rows.push({ pid: rec.readUInt32LE(at), json: rec.toString('utf8', at + 8, at + 8 + len) });
        at += 8 + len;
      }
      return { type: 'rows', rows };
    }
    default:
      throw new DecodeError(`unknown sensor record type ${type}`);
  }
}

/**
 * Splits a byte stream into records; keeps a partial frame between pushes in one buffer that is
 * reused (no allocation per push: the loader's output is megabytes per second). Records are views
 * of the pushed chunk or of that buffer, valid until the next push: keepers copy.
 */
export class FrameDecoder {
  private held = Buffer.allocUnsafe(64 * 1024);
  /** The partial frame is held[heldStart, heldStart + heldBytes). */
  private heldStart = 0;
  private heldBytes = 0;

  push(chunk: Buffer): SensorRecord[] {
    let buf = chunk;
    if (this.heldBytes > 0) {
      // Moved to the front only now: the last push's records (views of held) have been consumed.
      if (this.heldStart > 0) this.held.copyWithin(0, this.heldStart, this.heldStart + this.heldBytes);
      this.heldStart = 0;
      if (this.heldBytes + chunk.length > this.held.length) {
        const grown = Buffer.allocUnsafe(Math.max(this.held.length * 2, this.heldBytes + chunk.length));
        this.held.copy(grown, 0, 0, this.heldBytes);
        this.held = grown;
      }
      chunk.copy(this.held, this.heldBytes);
      this.heldBytes += chunk.length;
      buf = this.held.subarray(0, this.heldBytes);
      if (this.heldBytes < 4 || this.heldBytes - 4 < frameLength(buf, 0)) return [];
    }
    const out: SensorRecord[] = [];
    let off = 0;
    while (buf.length - off >= 4) {
      const len = frameLength(buf, off);
      if (buf.length - off - 4 < len) break;
      out.push(len >= 4 && buf.readUInt32LE(off + 4) === EV.data ? decodeData(buf, off + 4, len) : decodeRecord(buf.subarray(off + 4, off + 4 + len)));
      off += 4 + len;
    }
    const rest = buf.length - off;
    if (buf === chunk) {
      // The chunk may be a reused read buffer: what is left of it is copied.
      if (rest > this.held.length) this.held = Buffer.allocUnsafe(Math.max(this.held.length * 2, rest));
      if (rest > 0) chunk.copy(this.held, 0, off);
      this.heldStart = 0;
    } else {
      this.heldStart = off;
    }
    this.heldBytes = rest;
    return out;
  }

  get bufferedBytes(): number {
    return this.heldBytes;
  }
}

function frameLength(buf: Buffer, off: number): number {
  const len = buf.readUInt32LE(off);
  if (len > MAX_FRAME) throw new DecodeError(`sensor frame of ${len} bytes at stream offset ${off}: stream out of sync`);
  return len;
}
