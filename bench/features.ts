/**
 * The features stage end to end on the local stack, and its state per active entity.
 *
 * 1. `spans_per_cpu_sec`: a pre-filled spans topic (OTLP messages as the stock collector writes them: real SDK
 *    spans, ~500 B each, 1,024 per message, several services) read by the stage in this process — decode,
 *    normalize, every entity kind, partials through Kafka, merge, vectors and histories out — per CPU-second of
 *    this process, from start until every span record is committed and every partial merged. Beside it, in the
 *    same run, the same messages from memory: decode only, and decode + the stage's engine without Kafka.
 * 2. `bytes_per_entity`: heap (and array buffers) per active entity with 100,000 active client entities (3 requests,
 *    2 routes each) open in the source side; `history_bytes_per_entity`: what their first-seen histories keep after
 *    the windows are merged and emitted.
 *
 *   node --expose-gc --max-semi-space-size=32 --import tsx bench/features.ts [--messages 300] [--entities 100000]
 *
 * The last line of stdout is one JSON object with the figures.
 */
import { loadavg } from 'node:os';
import { systemClock } from '../core/clock.ts';
import { loadConfig } from '../core/config.ts';
import { createKafkaAdapter } from '../core/kafka/kafkajs.ts';
import { createLogger } from '../core/log.ts';
import { MetricsRegistry } from '../core/metrics.ts';
import { internalTopics } from '../features/config.ts';
import { MergeSide, SourceSide } from '../features/engine.ts';
import { startEntityFeaturesStage } from '../features/entity-stage.ts';
import { topicSize } from '../features/testing/topics.ts';
import { decodeTraceRequest } from '../ingest/otlp/traces.ts';
import { sdkTraceRequest } from '../ingest/otlp/sdk-fixtures.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const MESSAGES = arg('messages', 300);
const ENTITIES = arg('entities', 100_000);
const SPANS_PER_MESSAGE = 1024;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc (npm run bench:features)');

const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
};
const memory = () => {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

// ---- input: realistic SDK spans, event time moving on message after message ------------------------------------
const services = ['frontend', 'checkout', 'cart', 'catalog', 'payment', 'shipping'];
const t0 = Math.floor((Date.now() - 3 * 3_600_000) / 10_000) * 10_000;
let messages: Array<{ key: string; value: Buffer; timestampMs: number }> = [];
for (let i = 0; i < MESSAGES; i++) {
  const startMs = t0 + i * 2_000;
  messages.push({
    key: `m${i}`,
    value: Buffer.from(sdkTraceRequest({ seed: 1000 + i, spans: SPANS_PER_MESSAGE, startMs, service: services[i % services.length] })),
    timestampMs: startMs + 2_600,
  });
}
const spanCount = MESSAGES * SPANS_PER_MESSAGE;
const inputBytes = messages.reduce((n, m) => n + m.value.length, 0);
process.stderr.write(`input: ${MESSAGES} messages, ${spanCount} spans, ${(inputBytes / 1e6).toFixed(0)} MB\n`);

// ---- from memory: decode only, and decode + engine -------------------------------------------------------------
function decodeOnly(): number {
  const cpu = process.cpuUsage();
  let n = 0;
  for (const m of messages) n += decodeTraceRequest(m.value).length;
  if (n !== spanCount) throw new Error(`decoded ${n} spans, expected ${spanCount}`);
  return spanCount / cpuSeconds(cpu);
}

function engineOnly(): { perSec: number; vectors: number } {
  const cpu = process.cpuUsage();
  const partitions = 6;
  const sources = Array.from({ length: partitions }, (_, p) => ({ topic: 'otlp_spans', partition: p }));
  const source = new SourceSide({ windowMs: 10_000, allowedLatenessMs: 5_000, maxFutureMs: 300_000, maxPastMs: 7 * 86_400_000, maxOpenWindows: 1_000_000 }, partitions);
  const merge = new MergeSide(sources, { windowMs: 10_000, historyTtlMs: 7 * 86_400_000, maxHistories: 1_000_000, maxPendingWindows: 1_000_000 });
  for (let q = 0; q < partitions; q++) merge.assign(q);
  const offsets = new Array<number>(partitions).fill(0);
  let vectors = 0;
  const flush = () => {
    source.takeOutput().forEach((msg, i) => merge.accept(msg.partition, BigInt(i), msg.key, msg.value));
    for (let q = 0; q < partitions; q++) vectors += merge.emit(q).length;
  };
  messages.forEach((m, i) => {
    const s = sources[i % partitions];
    source.ingest(s, BigInt(offsets[s.partition]++), m.timestampMs, decodeTraceRequest(m.value));
    if (i % 16 === 15) flush();
  });
  for (const s of sources) source.markIdle(s);
  flush();
  return { perSec: spanCount / cpuSeconds(cpu), vectors };
}

decodeOnly(); // warm-up
const decodeRate = decodeOnly();
engineOnly(); // warm-up
const engine = engineOnly();
process.stderr.write(`from memory: decode ${Math.round(decodeRate)} spans/CPU-s, decode + engine ${Math.round(engine.perSec)} spans/CPU-s (${engine.vectors} vectors)\n`);

// ---- memory per active entity ------------------------------------------------------------------------------------
function entityMemory(): { open: number; history: number; entities: number } {
  const template = decodeTraceRequest(sdkTraceRequest({ seed: 3, spans: 1024, startMs: t0 })).filter((e) => e.spanKind === 'server');
  const src = { topic: 'otlp_spans', partition: 0 };
  const before = memory();
  let source: SourceSide | undefined = new SourceSide({ windowMs: 10_000, allowedLatenessMs: 5_000, maxFutureMs: 300_000, maxPastMs: 7 * 86_400_000, maxOpenWindows: 10_000_000 }, 6);
  source.assign(src);
  let k = 0;
  for (let i = 0; i < ENTITIES; i++) {
    const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const events = [];
    for (let j = 0; j < 3; j++) events.push({ ...template[k++ % template.length], clientAddress: ip, timeMs: t0 + 100 });
    source.ingest(src, BigInt(i), t0 + 1_000, events);
  }
  const open = source.windows(src)!.openWindows;
  const withOpen = memory();
  const merge = new MergeSide([src], { windowMs: 10_000, historyTtlMs: 7 * 86_400_000, maxHistories: 10_000_000, maxPendingWindows: 10_000_000 });
  for (let q = 0; q < 6; q++) merge.assign(q);
  source.markIdle(src);
  source.takeOutput().forEach((m, i) => merge.accept(m.partition, BigInt(i), m.key, m.value));
  source = undefined;
  let histories = 0;
  for (let q = 0; q < 6; q++) {
    merge.emit(q);
    merge.partition(q)!.takeHistoryChanges();
    histories += merge.partition(q)!.histories.size;
  }
  const withHistories = memory();
  if (merge.assigned.length !== 6) throw new Error('unreachable');
  return { open: (withOpen - before) / open, history: (withHistories - before) / histories, entities: open };
}
const mem = entityMemory();
process.stderr.write(`memory: ${Math.round(mem.open)} B per active entity (${mem.entities} open), ${Math.round(mem.history)} B per entity history\n`);

// ---- end to end on Kafka ----------------------------------------------------------------------------------------
const name = `bench-features-${process.pid}-${Date.now()}`;
const config = loadConfig({
  env: {},
  overrides: {
    'topics.spans': `${name}-spans`, 'topics.logs': `${name}-logs`, 'topics.metrics': `${name}-metrics`, 'topics.features': `${name}-features`,
    'topics.deadLetter': `${name}-dlq`, 'topics.partitions': 6, 'features.groupId': name, 'features.idleFlushMs': 1000, 'metrics.port': 0,
  },
});
const log = createLogger({ level: 'warn' });
const kafka = createKafkaAdapter(config.kafka, log);
await kafka.checkReachable();
await kafka.ensureTopics([config.topics.spans, config.topics.logs, config.topics.metrics].map((topic) => ({ topic, partitions: 6 })));
const producer = await kafka.producer();
// One message per request: a record batch of several 500 KB messages passes the broker's 1 MB limit.
for (const m of messages) await producer.send(config.topics.spans, [m]);
await producer.close();
messages = []; // 150 MB the stage does not need: its garbage collections should not walk them
gc();

const committedTotal = async (group: string, topic: string) => (await kafka.committedOffsets(group, topic)).reduce((n, o) => n + Math.max(0, Number(o.offset)), 0);
const internal = internalTopics(name);
const cpu = process.cpuUsage();
const wall = performance.now();
const metrics = new MetricsRegistry();
const stage = await startEntityFeaturesStage({ config, kafka, metrics, log, clock: systemClock, signal: new AbortController().signal });
for (;;) {
  await new Promise((r) => setTimeout(r, 250));
  if ((await committedTotal(name, config.topics.spans)) < MESSAGES) continue;
  const partials = await topicSize(kafka, internal.partials);
  if (partials > 0 && (await committedTotal(internal.mergeGroup, internal.partials)) === partials) break;
}
const e2eCpu = cpuSeconds(cpu);
const e2eWall = (performance.now() - wall) / 1000;
const vectors = await topicSize(kafka, config.topics.features);
await stage.stop();
await kafka.close();

const result = {
  spans_per_cpu_sec: Math.round(spanCount / e2eCpu),
  wall_spans_per_sec: Math.round(spanCount / e2eWall),
  cpu_sec_per_million_spans: Number(((e2eCpu / spanCount) * 1e6).toFixed(2)),
  decode_only_spans_per_cpu_sec: Math.round(decodeRate),
  decode_and_engine_spans_per_cpu_sec: Math.round(engine.perSec),
  bytes_per_entity: Math.round(mem.open),
  history_bytes_per_entity: Math.round(mem.history),
  active_entities: mem.entities,
  spans: spanCount,
  vectors,
  bytes_per_span: Math.round(inputBytes / spanCount),
  load_average_1m: Number(loadavg()[0].toFixed(2)),
  node: process.version,
};
console.log(`features end to end: ${result.spans_per_cpu_sec} spans/CPU-s (decode alone ${result.decode_only_spans_per_cpu_sec}); ${result.bytes_per_entity} B per active entity`);
console.log(JSON.stringify(result));
