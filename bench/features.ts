/**
 * The features stage end to end on the local stack, its state per active entity, and the consumer path beside the
 * collector's kafka receiver.
 *
 * 1. `spans_per_cpu_sec`: a pre-filled spans topic (6 partitions) holding messages as the stock collector's kafka
 *    exporter writes them (`partition_traces_by_id`: one message per trace id, keyed by it; realistic SDK spans of six
 *    services, ~495 B each, `--spans-per-trace` per trace), event time advancing at `--rate` spans per second, read by
 *    `peregrine run features` in this process (decode, every entity kind, partials through Kafka, merge, vectors and
 *    histories out), per CPU-second of this process, from start-up until every span record and every partial is
 *    committed. Beside it, in the same run, the same messages from memory: decode only, and decode + the stage's
 *    engine without Kafka.
 * 2. `bytes_per_entity`: heap (and array buffers) per active entity with 100,000 active client entities (3 requests,
 *    2 routes each) open in the source side; `history_bytes_per_entity`: what their first-seen histories keep after
 *    the windows are merged and emitted.
 * 3. `consumer_path_*`: bench/consumer-path.ts (Kafka consume + decode, no windows, beside the collector's kafka
 *    receiver → nop exporter on the same topic).
 *
 *   npm run bench:features -- [--spans 307200] [--rate 5000] [--spans-per-trace 5] [--entities 100000] [--no-consumer-path]
 *                              [--parts memory,engine,e2e] (a subset of the parts, e.g. `--parts memory` alone)
 *
 * The last line of stdout is one JSON object with the figures.
 */
import { loadavg } from 'node:os';
import { loadAppConfig } from '../app/config.ts';
import { startPipeline } from '../app/runtime.ts';
import { committedTotal } from '../app/testing/pipeline.ts';
import { createKafkaAdapter } from '../core/kafka/kafkajs.ts';
import type { OutgoingMessage } from '../core/kafka/adapter.ts';
import { createLogger } from '../core/log.ts';
import { PartitionedState } from '../core/state/changelog.ts';
import { mergeGroupOf } from '../features/config.ts';
import { MergeSide, SourceSide } from '../features/engine.ts';
import { historyCodec } from '../features/internal-records.ts';
import { topicSize } from '../features/testing/topics.ts';
import { decodeTraceRequest } from '../ingest/otlp/traces.ts';
import { sdkTraceRequest } from '../ingest/otlp/testing/sdk-requests.ts';
import { measureConsumerPath } from './consumer-path.ts';
import { receiverProduceCalls, traceRequests } from './kafka-shape.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const SPANS = arg('spans', 307_200);
const RATE = arg('rate', 5_000);
const SPANS_PER_TRACE = arg('spans-per-trace', 5);
const ENTITIES = arg('entities', 100_000);
const PARTS = new Set((process.argv[process.argv.indexOf('--parts') + 1] ?? '').split(','));
const runs = (part: 'memory' | 'engine' | 'e2e') => !process.argv.includes('--parts') || PARTS.has(part);
const CONSUMER_PATH = runs('e2e') && !process.argv.includes('--no-consumer-path');
const SPANS_PER_REQUEST = 512;
const PARTITIONS = 6;
const exposedGc = (globalThis as { gc?: () => void }).gc;
if (!exposedGc) throw new Error('run with --expose-gc (npm run bench:features)');
const gc: () => void = exposedGc;

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

// ---- input: SDK requests of six services, split per trace id as the collector's exporter does -----------------------
const services = ['frontend', 'checkout', 'cart', 'catalog', 'payment', 'shipping'];
const requests = Math.ceil(SPANS / SPANS_PER_REQUEST);
const t0 = Math.floor((Date.now() - 3 * 3_600_000) / 10_000) * 10_000;
const calls = receiverProduceCalls(traceRequests(requests, SPANS_PER_REQUEST, SPANS_PER_TRACE, {
  startMs: (i) => t0 + (i * SPANS_PER_REQUEST * 1000) / RATE,
  service: (i) => services[i % services.length]!,
}));
let messages: OutgoingMessage[] = calls.flatMap((c) => c.messages);
const spanCount = calls.reduce((n, c) => n + c.spans, 0);
const inputBytes = messages.reduce((n, m) => n + (m.value?.length ?? 0), 0);
process.stderr.write(`input: ${messages.length} messages, ${spanCount} spans, ${(inputBytes / 1e6).toFixed(0)} MB, ${Math.round(spanCount / RATE)} s of event time\n`);

// ---- from memory: decode only, and decode + engine -------------------------------------------------------------
function decodeOnly(): number {
  const cpu = process.cpuUsage();
  let n = 0;
  for (const m of messages) n += decodeTraceRequest(m.value!).length;
  if (n !== spanCount) throw new Error(`decoded ${n} spans, expected ${spanCount}`);
  return spanCount / cpuSeconds(cpu);
}

function engineOnly(): { perSec: number; vectors: number } {
  const cpu = process.cpuUsage();
  const sources = Array.from({ length: PARTITIONS }, (_, p) => ({ topic: 'otlp_spans', partition: p }));
  const source = new SourceSide({ windowMs: 10_000, allowedLatenessMs: 5_000, maxFutureMs: 300_000, maxPastMs: 7 * 86_400_000, maxOpenWindows: 1_000_000 }, PARTITIONS);
  const state = new PartitionedState({ defaultMaxKeys: 1_000_000, codec: historyCodec });
  const merge = new MergeSide(sources, { windowMs: 10_000, historyTtlMs: 7 * 86_400_000, maxPendingWindows: 1_000_000 }, state);
  for (let q = 0; q < PARTITIONS; q++) merge.assign(q);
  const offsets = new Array<number>(PARTITIONS).fill(0);
  const now = Date.now();
  let vectors = 0;
  const flush = () => {
    source.takeOutput().forEach((msg, i) => merge.accept(msg.partition, BigInt(i), msg.key, msg.value));
    for (let q = 0; q < PARTITIONS; q++) vectors += merge.emit(q).length;
    state.takeChanges();
  };
  messages.forEach((m, i) => {
    const s = sources[i % PARTITIONS]!;
    source.ingest(s, BigInt(offsets[s.partition]++), now, decodeTraceRequest(m.value!));
    if (i % 256 === 255) flush();
  });
  for (const s of sources) source.markIdle(s);
  flush();
  return { perSec: spanCount / cpuSeconds(cpu), vectors };
}

let decodeRate: number | undefined;
let engine: ReturnType<typeof engineOnly> | undefined;
if (runs('engine')) {
  decodeOnly(); // warm-up
  decodeRate = decodeOnly();
  engineOnly(); // warm-up
  engine = engineOnly();
  process.stderr.write(`from memory: decode ${Math.round(decodeRate)} spans/CPU-s, decode + engine ${Math.round(engine.perSec)} spans/CPU-s (${engine.vectors} vectors)\n`);
}

// ---- memory per active entity ------------------------------------------------------------------------------------
function entityMemory(): { open: number; history: number; entities: number } {
  const template = decodeTraceRequest(sdkTraceRequest({ seed: 3, spans: 1024, startMs: t0 })).filter((e) => e.spanKind === 'server');
  const src = { topic: 'otlp_spans', partition: 0 };
  const before = memory();
  let source: SourceSide | undefined = new SourceSide({ windowMs: 10_000, allowedLatenessMs: 5_000, maxFutureMs: 300_000, maxPastMs: 7 * 86_400_000, maxOpenWindows: 10_000_000 }, PARTITIONS);
  source.assign(src);
  let k = 0;
  for (let i = 0; i < ENTITIES; i++) {
    const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const events = [];
    for (let j = 0; j < 3; j++) events.push({ ...template[k++ % template.length]!, clientAddress: ip, timeMs: t0 + 100 });
    source.ingest(src, BigInt(i), t0 + 1_000, events);
  }
  const open = source.windows(src)!.openWindows;
  const withOpen = memory();
  const state = new PartitionedState({ defaultMaxKeys: 10_000_000, codec: historyCodec });
  const merge = new MergeSide([src], { windowMs: 10_000, historyTtlMs: 7 * 86_400_000, maxPendingWindows: 10_000_000 }, state);
  for (let q = 0; q < PARTITIONS; q++) merge.assign(q);
  source.markIdle(src);
  source.takeOutput().forEach((m, i) => merge.accept(m.partition, BigInt(i), m.key, m.value));
  source = undefined;
  let histories = 0;
  for (let q = 0; q < PARTITIONS; q++) {
    merge.emit(q);
    histories += merge.partition(q)!.histories.size;
  }
  state.takeChanges();
  const withHistories = memory();
  if (merge.assigned.length !== PARTITIONS) throw new Error('unreachable');
  return { open: (withOpen - before) / open, history: (withHistories - before) / histories, entities: open };
}
const mem = runs('memory') ? entityMemory() : undefined;
if (mem) process.stderr.write(`memory: ${Math.round(mem.open)} B per active entity (${mem.entities} open), ${Math.round(mem.history)} B per entity history\n`);

// ---- end to end on Kafka: `peregrine run features` in this process ---------------------------------------------
async function endToEnd(): Promise<{ cpu: number; wall: number; vectors: number; messages: number }> {
  const name = `bench-features-${process.pid}-${Date.now()}`;
  const config = loadAppConfig({
    env: {},
    overrides: {
      'topics.spans': `${name}-spans`, 'topics.logs': `${name}-logs`, 'topics.metrics': `${name}-metrics`, 'topics.features': `${name}-features`,
      'topics.featurePartials': `${name}-partials`, 'topics.featureState': `${name}-state`, 'topics.deadLetter': `${name}-dlq`,
      'topics.partitions': PARTITIONS, 'features.groupId': name, 'features.idleFlushMs': 1000, 'metrics.port': 0,
    },
  });
  const log = createLogger({ level: 'warn' });
  const kafka = createKafkaAdapter(config.kafka, log);
  await kafka.checkReachable();
  await kafka.ensureTopics([config.topics.spans, config.topics.logs, config.topics.metrics].map((topic) => ({ topic, partitions: PARTITIONS })));
  const producer = await kafka.producer();
  // One produce call per request, as the exporter sends a batch.
  for (const c of calls) await producer.send(config.topics.spans, c.messages);
  await producer.close();
  const messageCount = messages.length;
  messages = []; // the stage does not need them: its garbage collections should not walk them
  calls.length = 0;
  gc();

  const cpu = process.cpuUsage();
  const wall = performance.now();
  const pipeline = await startPipeline(config, log, { stages: ['features'] });
  for (;;) {
    await new Promise((r) => setTimeout(r, 250));
    if ((await committedTotal(kafka, name, config.topics.spans)) < messageCount) continue;
    const partials = await topicSize(kafka, config.topics.featurePartials);
    if (partials > 0 && (await committedTotal(kafka, mergeGroupOf(name), config.topics.featurePartials)) === partials) break;
  }
  const e2eCpu = cpuSeconds(cpu);
  const e2eWall = (performance.now() - wall) / 1000;
  const vectors = await topicSize(kafka, config.topics.features);
  await pipeline.stop();
  await kafka.close();
  process.stderr.write(`end to end: ${Math.round(spanCount / e2eCpu)} spans/CPU-s, ${vectors} vectors\n`);
  return { cpu: e2eCpu, wall: e2eWall, vectors, messages: messageCount };
}
const e2e = runs('e2e') ? await endToEnd() : undefined;

const consumerPath = CONSUMER_PATH ? await measureConsumerPath() : undefined;

const result = {
  ...(e2e && {
    spans_per_cpu_sec: Math.round(spanCount / e2e.cpu),
    wall_spans_per_sec: Math.round(spanCount / e2e.wall),
    cpu_sec_per_million_spans: Number(((e2e.cpu / spanCount) * 1e6).toFixed(2)),
  }),
  ...(decodeRate !== undefined && engine && {
    decode_only_spans_per_cpu_sec: Math.round(decodeRate),
    decode_and_engine_spans_per_cpu_sec: Math.round(engine.perSec),
    // The engine's own cost, by difference of the two (same run, same conditions).
    engine_us_per_span: Number((1e6 / engine.perSec - 1e6 / decodeRate).toFixed(2)),
  }),
  ...(mem && {
    bytes_per_entity: Math.round(mem.open),
    history_bytes_per_entity: Math.round(mem.history),
    active_entities: mem.entities,
  }),
  spans: spanCount,
  messages: messages.length || e2e?.messages,
  spans_per_trace: SPANS_PER_TRACE,
  event_spans_per_sec: RATE,
  vectors: e2e?.vectors ?? engine?.vectors,
  bytes_per_span: Math.round(inputBytes / spanCount),
  ...(consumerPath && Object.fromEntries(Object.entries(consumerPath).map(([k, v]) => [`consumer_path_${k}`, v]))),
  load_average_1m: Number(loadavg()[0].toFixed(2)),
  node: process.version,
};
console.log(`features end to end: ${result.spans_per_cpu_sec ?? '-'} spans/CPU-s (decode alone ${result.decode_only_spans_per_cpu_sec ?? '-'}); ${result.bytes_per_entity ?? '-'} B per active entity`);
console.log(JSON.stringify(result));
process.exit(0);
