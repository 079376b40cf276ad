/**
 * The TypeScript reference of the loader's engine (ebpf/loader/): the same record stream through
 * connections.ts (reassembly, pairing), records.ts (redaction, Pixie rows) and otlp.ts (spans),
 * as the agent ran them before the engine moved to C. The differential tests compare the two
 * (engine.test.ts); nothing in the live sensor runs this. Pure: bytes in, spans and rows out.
 */
import { randomBytes } from 'node:crypto';
import { ConnectionTracker, type HttpExchange, type TrackerCounters, type TrackerOptions } from './connections.ts';
import { FrameDecoder } from './frames.ts';
import { encodeSpan, httpSpan, isHeader, spanIds } from './otlp.ts';
import { pixieRow, redactExchange, type PixieHttpEvent } from './records.ts';
import { DEFAULT_REDACTION, type RedactionConfig } from '../../core/redaction/redact.ts';

/** Requests carrying this header are the sensor's own exports, seen on the collector's side. */
export const SELF_HEADER = 'x-peregrine-sensor';
/** What the reference keeps of a body beyond the exported excerpt: the redactor's margin. */
export const REDACTION_MARGIN = 256;

export interface ReferenceOptions {
  bodyBytes: number;
  redaction: RedactionConfig;
  idleTimeoutMs: number;
  maxConnections: number;
  /** The JS fast path of http-stream.ts (off: every byte through llhttp, as the C engine does). */
  fastPath: boolean;
}

export const DEFAULT_REFERENCE_OPTIONS: ReferenceOptions = {
  bodyBytes: 4096,
  redaction: DEFAULT_REDACTION,
  idleTimeoutMs: 300_000,
  maxConnections: 16_384,
  fastPath: false,
};

export interface ReferenceSpan {
  pid: number;
  comm: string;
  /** A Span message's bytes (otlp.ts encodeSpan). */
  span: Buffer;
}

export interface ReferenceRow {
  pid: number;
  /** pixieRow with the process the connection names (pid, comm; no /proc details). */
  row: PixieHttpEvent;
}

export interface ReferenceOutput {
  spans: ReferenceSpan[];
  rows: ReferenceRow[];
  counters: TrackerCounters;
  exchanges: number;
  selfExchanges: number;
  trackedAtEnd: number;
}

/** Runs a whole record stream; at its end every connection is closed at the stream's last time. */
export function runReference(stream: Buffer, options: Partial<ReferenceOptions> = {}): ReferenceOutput {
  const o = { ...DEFAULT_REFERENCE_OPTIONS, ...options };
  const trackerOptions: Partial<TrackerOptions> & { fastPath: boolean } = {
    keepBodyBytes: o.bodyBytes + REDACTION_MARGIN,
    idleTimeoutNs: o.idleTimeoutMs * 1e6,
    maxConnections: o.maxConnections,
    fastPath: o.fastPath,
  };
  const tracker = new ConnectionTracker(trackerOptions);
  const out: ReferenceOutput = { spans: [], rows: [], counters: tracker.counters, exchanges: 0, selfExchanges: 0, trackedAtEnd: 0 };
  let realtimeOffsetNs = 0n;
  let streamNowNs = 0;
  const onExchange = (ex: HttpExchange): void => {
    for (const [name] of ex.request.headers) {
      if (isHeader(name, SELF_HEADER)) {
        out.selfExchanges++;
        return;
      }
    }
    out.exchanges++;
    const red = redactExchange(ex, o.bodyBytes, o.redaction);
    out.rows.push({ pid: ex.conn.tgid, row: pixieRow(ex, red, { pid: ex.conn.tgid, comm: ex.conn.comm }, realtimeOffsetNs) });
    const span = encodeSpan(httpSpan(ex, red, spanIds(ex, randomBytes), realtimeOffsetNs));
    out.spans.push({ pid: ex.conn.tgid, comm: ex.conn.comm, span });
  };
  for (const rec of new FrameDecoder().push(stream)) {
    switch (rec.type) {
      case 'hello':
        realtimeOffsetNs = rec.realtimeOffsetNs;
        break;
      case 'stats':
        if (rec.monoNs > streamNowNs) streamNowNs = rec.monoNs;
        for (const ex of tracker.expire(streamNowNs)) onExchange(ex);
        break;
      case 'data':
      case 'conn-open':
      case 'conn-close':
        if (rec.tsNs > streamNowNs) streamNowNs = rec.tsNs;
        for (const ex of tracker.onRecord(rec)) onExchange(ex);
        break;
      default:
        break;
    }
  }
  out.trackedAtEnd = tracker.size;
  for (const ex of tracker.closeAll(streamNowNs)) onExchange(ex);
  return out;
}
