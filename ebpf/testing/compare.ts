/**
 * Runs one record stream through the C engine (peregrine-sensor-replay) and the TypeScript
 * reference (agent/reference.ts) and lists where their spans, rows and counters differ, after
 * decoding (span ids the engines draw at random are left out; ids from a traceparent are not).
 */
import { createRequire } from 'node:module';
import { FrameDecoder, type EngineStats } from '../agent/frames.ts';
import { runReference, type ReferenceOptions } from '../agent/reference.ts';
import { runReplay } from './native.ts';
import { ProtoReader } from '../../core/protobuf/reader.ts';

const require = createRequire(import.meta.url);
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js');
const SpanType = root.opentelemetry.proto.trace.v1.Span;

/** The Span messages inside a ScopeSpans body (field 2, length-delimited, repeated). */
export function splitSpans(blob: Buffer): Buffer[] {
  const out: Buffer[] = [];
  const r = new ProtoReader(blob, 'span batch');
  while (r.pos < r.end) {
    const tag = r.tag();
    if (tag !== 0x12) r.fail(`unexpected field key ${tag}`);
    const end = r.lengthEnd();
    out.push(blob.subarray(r.pos, end));
    r.pos = end;
  }
  return out;
}

export function decodeSpan(bytes: Buffer): Record<string, unknown> {
  const span = SpanType.toObject(SpanType.decode(bytes), { longs: String, bytes: String, defaults: false }) as Record<string, unknown>;
  // Random ids differ by design; those a traceparent gave (trace and parent) must agree.
  if (!span.parentSpanId) delete span.traceId;
  delete span.spanId;
  return span;
}

export interface EngineRun {
  spans: Array<{ pid: number; comm: string; span: Record<string, unknown> }>;
  rows: Array<{ pid: number; row: Record<string, unknown> }>;
  engine?: EngineStats;
}

export function runEngine(stream: Buffer, args: readonly string[] = []): EngineRun {
  const out: EngineRun = { spans: [], rows: [] };
  for (const rec of new FrameDecoder().push(runReplay(['--batch', '1', '--emit', 'spans,rows', ...args], stream))) {
    if (rec.type === 'spans') {
      for (const g of rec.groups) for (const s of splitSpans(g.spans)) out.spans.push({ pid: g.pid, comm: g.comm, span: decodeSpan(s) });
    } else if (rec.type === 'rows') {
      for (const r of rec.rows) out.rows.push({ pid: r.pid, row: JSON.parse(r.json) as Record<string, unknown> });
    } else if (rec.type === 'stats' && rec.engine) {
      out.engine = rec.engine;
    }
  }
  return out;
}

/** Engine arguments and reference options that mean the same. */
export function engineArgs(o: Partial<ReferenceOptions>): string[] {
  const args: string[] = [];
  if (o.bodyBytes) args.push('--body-bytes', String(o.bodyBytes));
  if (o.idleTimeoutMs) args.push('--idle-timeout-ms', String(o.idleTimeoutMs));
  if (o.maxConnections) args.push('--max-connections', String(o.maxConnections));
  for (const h of o.redaction?.headers ?? []) args.push('--redact-header', h.toLowerCase());
  for (const f of o.redaction?.fields ?? []) args.push('--redact-field', f.toLowerCase().replace(/[^a-z0-9]/g, ''));
  return args;
}

/** The differences (empty: the engines agree), described for a failure message. */
export function compareEngines(stream: Buffer, options: Partial<ReferenceOptions> = {}, limit = 5): string[] {
  const ref = runReference(stream, options);
  const c = runEngine(stream, engineArgs(options));
  const problems: string[] = [];
  const say = (what: string): void => { if (problems.length < limit) problems.push(what); };
  if (ref.spans.length !== c.spans.length) say(`spans: reference ${ref.spans.length}, engine ${c.spans.length}`);
  for (let i = 0; i < Math.min(ref.spans.length, c.spans.length); i++) {
    const want = { pid: ref.spans[i].pid, comm: ref.spans[i].comm, span: decodeSpan(ref.spans[i].span) };
    const got = c.spans[i];
    const a = JSON.stringify(want), b = JSON.stringify(got);
    if (a !== b) say(`span ${i}:\n  reference ${a}\n  engine    ${b}`);
  }
  if (ref.rows.length !== c.rows.length) say(`rows: reference ${ref.rows.length}, engine ${c.rows.length}`);
  for (let i = 0; i < Math.min(ref.rows.length, c.rows.length); i++) {
    const want = JSON.parse(JSON.stringify(ref.rows[i].row)) as Record<string, unknown>;
    const got = { ...c.rows[i].row };
    delete want.upid;
    delete got.upid;
    const a = JSON.stringify({ pid: ref.rows[i].pid, ...want }), b = JSON.stringify({ pid: c.rows[i].pid, ...got });
    if (a !== b) say(`row ${i}:\n  reference ${a}\n  engine    ${b}`);
  }
  const e = c.engine;
  if (!e) {
    say('the engine wrote no stats');
  } else {
    const rc = ref.counters;
    const pairs: Array<[string, number, number]> = [
      ['exchanges', ref.exchanges, e.exchanges], ['selfExchanges', ref.selfExchanges, e.selfExchanges], ['paired', rc.exchanges, e.pairedExchanges],
      ['unparseable', rc.unparseable, e.unparseable], ['nonHttpConnections', rc.nonHttpConnections, e.nonHttpConnections],
      ['http2Connections', rc.http2Connections, e.http2Connections], ['tlsCiphertextChunks', rc.tlsCiphertextChunks, e.tlsCiphertextChunks],
      ['unansweredRequests', rc.unansweredRequests, e.unansweredRequests], ['unmatchedResponses', rc.unmatchedResponses, e.unmatchedResponses],
      ['pendingOverflow', rc.pendingOverflow, e.pendingOverflow], ['evictedConnections', rc.evictedConnections, e.evictedConnections],
      ['expiredConnections', rc.expiredConnections, e.expiredConnections], ['ignoredBytes', rc.ignoredBytes, e.ignoredBytes],
    ];
    for (const [name, want, got] of pairs) if (want !== got) say(`counter ${name}: reference ${want}, engine ${got}`);
  }
  return problems;
}
