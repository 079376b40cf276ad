import { describe, expect, it } from 'vitest';
import type { LogRecordEvent, MetricPointEvent, RequestEvent } from '../core/events.ts';
import { mulberry32 } from '../core/random.ts';
import { encodeFeatureVector, feature, type FeatureVector } from '../schemas/feature-vector.ts';
import { MergeSide, SourceSide, type InternalMessage, type SourceEvent } from './engine.ts';
import { PartitionedState } from '../core/state/changelog.ts';
import type { IncomingRecord } from '../core/kafka/adapter.ts';
import { historyCodec } from './internal-records.ts';
import type { MergeCheckpoint, SourceId } from './window/merge.ts';
import type { SourceCheckpoint } from './window/source.ts';

const WINDOW = 10_000;
const T0 = Date.UTC(2026, 10, 1);
const sourceSettings = { windowMs: WINDOW, allowedLatenessMs: 3_000, maxFutureMs: 60_000, maxPastMs: 86_400_000, maxOpenWindows: 100_000 };
const mergeSettings = { windowMs: WINDOW, historyTtlMs: 3_600_000, maxPendingWindows: 100_000 };
const MAX_HISTORIES = 100_000;
const Q = 4;

interface SourceRecord { offset: bigint; timestampMs: number; events: () => SourceEvent[] }

function span(r: () => number, t: number, i: number): RequestEvent {
  const service = `svc${Math.floor(r() * 3)}`;
  const client = r() < 0.3;
  const status = r() < 0.1 ? 500 : r() < 0.1 ? 404 : r() < 0.05 ? 401 : 200;
  return {
    kind: 'request', timeMs: t, durationMs: r() * 100, service, operation: `GET /r${Math.floor(r() * 5)}`,
    spanKind: client ? 'client' : 'server', protocol: 'http', traceId: `trace${i}`, spanId: `span${i}`, parentSpanId: 'p',
    error: status >= 500, method: r() < 0.7 ? 'GET' : 'POST', route: `/r${Math.floor(r() * 5)}`, path: `/r${Math.floor(r() * 50)}`,
    httpStatus: status, clientAddress: client ? undefined : `10.0.0.${Math.floor(r() * 8)}`, serverAddress: client ? `db${Math.floor(r() * 2)}` : undefined,
    serverPort: client ? 5432 : undefined, requestBytes: Math.floor(r() * 5000), responseBytes: r() * 1e5,
    query: r() < 0.2 ? `q=${Math.floor(r() * 1e6).toString(36)}%27` : undefined,
    attributes: {}, resource: { 'service.name': service, 'host.name': 'node-1' },
  };
}

function log(r: () => number, t: number): LogRecordEvent {
  const exec = r() < 0.5;
  return exec
    ? { kind: 'log', timeMs: t, service: 'sensor', severity: 9, body: 'exec', eventName: 'process.exec',
      attributes: { 'process.pid': 100, 'process.executable.path': `/usr/bin/${['curl', 'sh', 'ls', 'nc'][Math.floor(r() * 4)]}` },
      resource: { 'host.name': `node-${Math.floor(r() * 2)}`, 'k8s.pod.name': 'catalog-1', 'k8s.namespace.name': 'shop' } }
    : { kind: 'log', timeMs: t, service: 'auth', severity: 13, body: `Failed password for invalid user u${Math.floor(r() * 9)} from 203.0.113.${Math.floor(r() * 3)} port 22`,
      attributes: {}, resource: { 'host.name': 'node-1' } };
}

function metric(r: () => number, t: number): MetricPointEvent {
  return { kind: 'metric', timeMs: t, service: 'catalog', name: 'process.cpu.time', unit: 's', value: r() * 0.3, metricType: 'sum', monotonic: true,
    attributes: { state: 'user' }, resource: { 'host.name': 'node-1', 'process.executable.path': '/usr/local/bin/node' } };
}

/** A reproducible input: 3 span partitions, 1 log partition, 1 metric partition, ~70 s of event time. */
function input(): Map<string, { source: SourceId; records: SourceRecord[] }> {
  const topics: Array<[SourceId, number]> = [
    [{ topic: 'spans', partition: 0 }, 120], [{ topic: 'spans', partition: 1 }, 100], [{ topic: 'spans', partition: 2 }, 90],
    [{ topic: 'logs', partition: 0 }, 60], [{ topic: 'metrics', partition: 0 }, 30],
  ];
  const out = new Map<string, { source: SourceId; records: SourceRecord[] }>();
  let seed = 1;
  for (const [source, n] of topics) {
    const records: SourceRecord[] = [];
    for (let k = 0; k < n; k++) {
      const recordSeed = seed++;
      const base = T0 + (k / n) * 70_000;
      const r0 = mulberry32(recordSeed);
      const count = 1 + Math.floor(r0() * 4);
      records.push({
        offset: BigInt(k), timestampMs: base + 500,
        events: () => {
          const r = mulberry32(recordSeed);
          r();
          return Array.from({ length: count }, (_, i) => {
            const t = base - r() * 2_000;
            return source.topic === 'spans' ? span(r, t, recordSeed * 10 + i) : source.topic === 'logs' ? log(r, t) : metric(r, t);
          });
        },
      });
    }
    out.set(`${source.topic}/${source.partition}`, { source, records });
  }
  return out;
}

const allSources = [...input().values()].map((s) => s.source);

/** The partials topic: one append-only log per partition. */
class PartialsTopic {
  readonly logs: InternalMessage[][] = Array.from({ length: Q }, () => []);
  append(messages: InternalMessage[]): void {
    for (const m of messages) this.logs[m.partition].push(m);
  }
}

/** The compacted state topic: what the stage's loop writes from PartitionedState and reads back on assignment. */
class Changelog {
  readonly records: IncomingRecord[][] = Array.from({ length: Q }, () => []);
  write(state: PartitionedState): void {
    for (const m of state.takeChanges()) {
      const log = this.records[m.partition!];
      log.push({ topic: 'state', partition: m.partition!, offset: String(log.length), key: Buffer.from(m.key as string), value: m.value === null ? Buffer.alloc(0) : Buffer.from(m.value), headers: {}, timestampMs: 0 });
    }
  }
  /** A new owner's state for partition q, restored as the loop does. */
  restore(q: number): PartitionedState {
    const state = new PartitionedState({ defaultMaxKeys: MAX_HISTORIES, codec: historyCodec });
    expect(state.restore(this.records[q]).unreadable).toBe(0);
    return state;
  }
}

/** A merge-side owner of partition q reading from `from`, emitting after every `batch` records. */
function mergeRun(topic: PartialsTopic, changelog: Changelog, q: number, from: { offset: number; checkpoint?: MergeCheckpoint }, until: number, batch: number, out: FeatureVector[]) {
  const state = changelog.restore(q);
  const side = new MergeSide(allSources, mergeSettings, state);
  const m = side.assign(q, from.checkpoint);
  const log = topic.logs[q];
  let commit = { offset: from.offset, checkpoint: from.checkpoint };
  for (let i = from.offset; i < Math.min(until, log.length); i++) {
    side.accept(q, BigInt(i), log[i].key, log[i].value);
    if ((i + 1) % batch === 0 || i === log.length - 1) {
      out.push(...side.emit(q));
      changelog.write(state);
      commit = { offset: Number(m.commitOffset(BigInt(i + 1))), checkpoint: m.checkpoint() };
    }
  }
  return commit;
}

function key(v: FeatureVector): string {
  return encodeFeatureVector(v).toString('base64');
}

/** One instance, one record at a time. */
function singleRun(): FeatureVector[] {
  const topic = new PartialsTopic();
  const side = new SourceSide(sourceSettings, Q);
  for (const { source, records } of input().values()) {
    side.assign(source);
    for (const rec of records) {
      side.ingest(source, rec.offset, rec.timestampMs, rec.events());
      topic.append(side.takeOutput());
    }
  }
  for (const s of allSources) side.markIdle(s);
  topic.append(side.takeOutput());
  const changelog = new Changelog();
  const out: FeatureVector[] = [];
  for (let q = 0; q < Q; q++) mergeRun(topic, changelog, q, { offset: 0 }, Infinity, 1, out);
  return out;
}

describe('features engine: complete, deterministic windows', () => {
  const reference = singleRun();

  it('emits vectors of every entity kind from spans, logs and metrics', () => {
    const kinds = new Set(reference.map((v) => v.entityType));
    expect([...kinds].sort()).toEqual(['client', 'edge', 'host', 'operation', 'pod', 'process', 'service']);
    const svc = reference.filter((v) => v.entityId === 'service:svc0');
    expect(svc.length).toBeGreaterThanOrEqual(7);
    // every request of a service is counted once, whichever span partition carried it
    const served = input();
    let expected = 0;
    for (const { records } of served.values()) for (const r of records) for (const e of r.events()) if (e.kind === 'request' && e.service === 'svc0' && e.spanKind === 'server') expected++;
    expect(svc.reduce((n, v) => n + feature(v, 'request_count')!, 0)).toBe(expected);
    const host = reference.find((v) => v.entityId === 'host:node-0' && (feature(v, 'new_binary_count') ?? 0) > 0)!;
    expect(host.examples?.new_binaries?.length).toBeGreaterThan(0);
    const attacker = reference.filter((v) => v.entityId.startsWith('client:203.0.113.'));
    expect(attacker.some((v) => (feature(v, 'failed_login_count') ?? 0) > 0 && (feature(v, 'distinct_identities') ?? 0) > 0)).toBe(true);
  });

  it('gives the same vectors bit for bit with two instances, other batch sizes and crashes of both halves', () => {
    const topic = new PartialsTopic();
    const inputs = [...input().values()];
    // Instance A owns spans/0, spans/2 and metrics; B owns the rest. A crashes after committing mid-way through spans/0.
    const a = new SourceSide(sourceSettings, Q);
    const b = new SourceSide(sourceSettings, Q);
    const owner = (s: SourceId) => (s.topic === 'metrics' || (s.topic === 'spans' && s.partition !== 1) ? a : b);
    let committed: { offset: bigint; checkpoint: SourceCheckpoint } | undefined;
    const cursors = inputs.map(() => 0);
    const batchOf = (i: number) => [7, 3, 11, 5, 2][i];
    for (let round = 0; cursors.some((c, i) => c < inputs[i].records.length); round++) {
      inputs.forEach(({ source, records }, i) => {
        const side = owner(source);
        const end = Math.min(records.length, cursors[i] + batchOf(i));
        for (let k = cursors[i]; k < end; k++) side.ingest(source, records[k].offset, records[k].timestampMs, records[k].events());
        cursors[i] = end;
        topic.append(side.takeOutput(round % 4 === 0));
        if (source.topic === 'spans' && source.partition === 0 && committed === undefined && end >= 60) {
          const w = side.windows(source)!;
          committed = { offset: w.commitOffset(BigInt(end)), checkpoint: w.checkpoint() };
        }
      });
    }
    // The crash: A's state for spans/0 is lost; a new owner resumes from the commit, re-sending what A had sent since.
    const spans0 = inputs[0];
    const c = new SourceSide(sourceSettings, Q);
    c.assign(spans0.source, committed!.checkpoint);
    for (let k = Number(committed!.offset); k < spans0.records.length; k++) {
      const rec = spans0.records[k];
      c.ingest(spans0.source, rec.offset, rec.timestampMs, rec.events());
      if (k % 4 === 0) topic.append(c.takeOutput());
    }
    topic.append(c.takeOutput());
    a.revoke(spans0.source);
    for (const s of allSources) (s.topic === 'spans' && s.partition === 0 ? c : owner(s)).markIdle(s);
    for (const side of [a, b, c]) topic.append(side.takeOutput());

    // Merge side: each partition read by one owner in batches of 5; partitions 1 and 3 crash mid-way and resume.
    const changelog = new Changelog();
    const out: FeatureVector[] = [];
    for (let q = 0; q < Q; q++) {
      if (q % 2 === 1) {
        const half = Math.floor(topic.logs[q].length / 2);
        const resumed = mergeRun(topic, changelog, q, { offset: 0 }, half, 5, out);
        mergeRun(topic, changelog, q, resumed, Infinity, 3, out);
      } else mergeRun(topic, changelog, q, { offset: 0 }, Infinity, 5, out);
    }
    const expected = new Set(reference.map(key));
    const got = new Set(out.map(key));
    expect(got.size).toBe(expected.size);
    for (const k of got) expect(expected.has(k)).toBe(true);
  });
});
