/**
 * `npm run bench:receiver`: Peregrine's OTLP receiver and the stock collector front end (the stack's Jaeger binary in
 * the collector role, the pipeline of `stack up --frontend collector`: OTLP → batch 4096 → kafka exporter,
 * otlp_proto, partitioned by trace id, acks all), side by side in one run under the same offered load, each writing
 * to its own fresh topics of the local stack's broker. A second process is the client for both: the same
 * SDK-built requests (~495 B per span, `--spans-per-trace` spans per trace id), OTLP/gRPC (or `--transport http`),
 * `--workers` connections sharing a target rate of `--rate` spans/s (0: as fast as answered). Both are loaded at the
 * same time, each by its own client process, so both see the same machine load; and neither sits idle between turns
 * (an idle Node process gets V8's memory-reducer full GCs, which then land in its next measured turn).
 *
 *   npm run bench:receiver -- [--seconds 30] [--rounds 1] [--rate 7500] [--workers 4] [--spans 512] [--spans-per-trace 5]
 *                             [--transport grpc|http] [--per-request] [--validate full|structure] [--no-collector]
 *
 * CPU per million spans counts only spans in Kafka: ours answers a request only after Kafka acknowledged it; the
 * collector's batch processor answers at once, so its round ends when its exporter has sent what it accepted.
 * `--per-request` turns off partition_traces_by_id for ours (one Kafka message per request). The last line of stdout
 * is one JSON object.
 */
import { fork } from 'node:child_process';
import { Agent, request } from 'node:http';
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { credentials, makeGenericClientConstructor, type Client } from '@grpc/grpc-js';
import { startTestReceiver } from '../ingest/receiver/testing/test-receiver.ts';
import { parseExportRequest, splitRequest } from '../ingest/receiver/split.ts';
import { checkTraceRequest } from '../ingest/otlp/index.ts';
import { traceRequests } from './kafka-shape.ts';
import { startStockCollector } from './stock-collector.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '30' },
    rounds: { type: 'string', default: '1' },
    rate: { type: 'string', default: '7500' },
    workers: { type: 'string', default: '4' },
    spans: { type: 'string', default: '512' },
    'spans-per-trace': { type: 'string', default: '5' },
    transport: { type: 'string', default: 'grpc' },
    'per-request': { type: 'boolean', default: false },
    validate: { type: 'string', default: 'full' },
    'no-collector': { type: 'boolean', default: false },
    load: { type: 'string' },
  },
});

interface LoadReport { requests: number; ok: number; failed: Record<string, number>; spans: number; bytes: number; latenciesMs: number[] }

const TRACE_EXPORT = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

/** One request → status (200 / gRPC OK = 0 count as accepted; anything else is a failure kind). */
type Send = (body: Buffer) => Promise<string>;

function httpSender(endpoint: string, workers: number): { send: Send; close(): void } {
  const agent = new Agent({ keepAlive: true, maxSockets: workers });
  const send: Send = (body) => new Promise((resolve) => {
    const req = request(`http://${endpoint}/v1/traces`, { method: 'POST', agent, headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200 ? 'ok' : `http ${res.statusCode}`));
    });
    req.on('error', (e) => resolve(`error ${e.message}`));
    req.end(body);
  });
  return { send, close: () => agent.destroy() };
}

function grpcSender(endpoint: string, workers: number): { send: Send; close(): void } {
  const identity = (b: Buffer) => b;
  const Constructor = makeGenericClientConstructor({
    Export: { path: TRACE_EXPORT, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
  }, 'TraceService');
  // One channel per worker, like separate exporters.
  const clients = Array.from({ length: workers }, () => new Constructor(endpoint, credentials.createInsecure(), { 'grpc.max_send_message_length': 64 * 1024 * 1024, 'grpc.use_local_subchannel_pool': 1 }) as Client & Record<string, any>);
  let next = 0;
  const send: Send = (body) => new Promise((resolve) => {
    const client = clients[next++ % clients.length]!;
    client.Export(body, (error: { code?: number } | null) => resolve(error ? `grpc ${error.code}` : 'ok'));
  });
  return { send, close: () => clients.forEach((c) => c.close()) };
}

/** The load process: `workers` loops sending requests at a shared target rate until the deadline, then reports. */
async function runLoad(endpoint: string): Promise<void> {
  const spans = Number(values.spans);
  const workers = Number(values.workers);
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  const bodies = traceRequests(16, spans, Number(values['spans-per-trace']));
  const sender = values.transport === 'http' ? httpSender(endpoint, workers) : grpcSender(endpoint, workers);
  const report: LoadReport = { requests: 0, ok: 0, failed: {}, spans: 0, bytes: 0, latenciesMs: [] };
  process.send!({ ready: true });
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  const started = performance.now();
  const deadline = started + seconds * 1000;
  // Each worker's requests are due at fixed intervals (open loop): a slow answer makes it fall behind, not slow down.
  const interval = rate > 0 ? (workers * spans * 1000) / rate : 0;
  let next = 0;
  const worker = async (w: number) => {
    let due = started + (interval * w) / workers;
    while (performance.now() < deadline) {
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (performance.now() >= deadline) break;
      due += interval;
      const body = bodies[next++ % bodies.length]!;
      const t0 = performance.now();
      const status = await sender.send(body);
      report.requests++;
      if (status === 'ok') {
        report.ok++;
        report.spans += spans;
        report.bytes += body.length;
        report.latenciesMs.push(performance.now() - t0);
      } else report.failed[status] = (report.failed[status] ?? 0) + 1;
      // Behind by more than one interval: the client drops what it could not send (as an SDK's full queue does).
      if (interval > 0 && performance.now() - due > interval) due = performance.now();
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
  sender.close();
  process.send!({ report });
}

/** Runs one load process against `endpoint` and returns its report. */
async function drive(endpoint: string): Promise<LoadReport> {
  const child = fork(fileURLToPath(import.meta.url), [...process.argv.slice(2), '--load', endpoint], { execArgv: ['--import', 'tsx'] });
  const messages: Array<{ ready?: boolean; report?: LoadReport }> = [];
  let wake: () => void = () => {};
  child.on('message', (m: { ready?: boolean; report?: LoadReport }) => {
    messages.push(m);
    wake();
  });
  const nextMessage = async () => {
    while (!messages.length) await new Promise<void>((r) => { wake = r; });
    return messages.shift()!;
  };
  await nextMessage(); // ready: requests built
  child.send('go');
  const { report } = await nextMessage();
  await new Promise((r) => child.once('exit', r));
  return report!;
}

/** CPU seconds per million spans of one in-process step over the request bodies (no network, no Kafka). */
function stepCost(bodies: Buffer[], spans: number, step: (b: Buffer) => unknown): number {
  for (const b of bodies) step(b); // warm-up
  const cpu0 = process.cpuUsage();
  let n = 0;
  const until = performance.now() + 1500;
  while (performance.now() < until) for (const b of bodies) { step(b); n += spans; }
  const cpu = process.cpuUsage(cpu0);
  return Number((((cpu.user + cpu.system) / 1e6 / n) * 1e6).toFixed(2));
}

interface Side {
  name: 'receiver' | 'collector';
  endpoint: string;
  cpuSeconds(): number;
  /** Spans in Kafka so far. */
  inKafka(): Promise<number>;
  /** Spans the front end accepted from the client so far. */
  accepted(): Promise<number>;
}

interface Tally { cpuS: number; spansInKafka: number; clientAccepted: number; offered: number; wallS: number; failed: Record<string, number>; latenciesMs: number[] }

async function measure(side: Side, tally: Tally): Promise<void> {
  const cpu0 = side.cpuSeconds();
  const kafka0 = await side.inKafka();
  const report = await drive(side.endpoint);
  // The collector acknowledges before Kafka has the spans: wait until its exporter has sent what it accepted.
  const accepted = await side.accepted();
  const deadline = Date.now() + 30_000;
  while ((await side.inKafka()) < accepted && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  tally.cpuS += side.cpuSeconds() - cpu0;
  tally.spansInKafka += (await side.inKafka()) - kafka0;
  tally.wallS += Number(values.seconds);
  tally.clientAccepted += report.spans;
  tally.offered += report.requests * Number(values.spans);
  for (const [k, v] of Object.entries(report.failed)) tally.failed[k] = (tally.failed[k] ?? 0) + v;
  tally.latenciesMs.push(...report.latenciesMs);
}

function summary(t: Tally) {
  t.latenciesMs.sort((a, b) => a - b);
  const pct = (p: number) => Number((t.latenciesMs[Math.min(t.latenciesMs.length - 1, Math.floor(p * t.latenciesMs.length))] ?? 0).toFixed(1));
  return {
    cpu_s_per_million_spans: Number(((t.cpuS / Math.max(1, t.spansInKafka)) * 1e6).toFixed(2)),
    spans_in_kafka: t.spansInKafka,
    spans_per_sec: Math.round(t.spansInKafka / t.wallS),
    cpu_cores: Number((t.cpuS / t.wallS).toFixed(2)),
    offered_spans: t.offered,
    failed_requests: t.failed,
    latency_ms_p50: pct(0.5),
    latency_ms_p99: pct(0.99),
  };
}

async function main(): Promise<void> {
  const spans = Number(values.spans);
  const perTrace = Number(values['spans-per-trace']);
  const partitionTracesById = !values['per-request'];
  // The receiver's own steps alone, to tell them from the transport and the Kafka client in the end-to-end figure.
  const sample = traceRequests(8, spans, perTrace);
  const splitCost = stepCost(sample, spans, (b) => splitRequest(parseExportRequest('traces', b, { checkItems: values.validate !== 'full' }), { maxMessageBytes: 1_000_000, partition: partitionTracesById ? 'traceId' : 'none' }));
  const validateCost = stepCost(sample, spans, (b) => checkTraceRequest(b));
  // One load process stands for many clients: the per-client rate limit would measure itself.
  const rx = await startTestReceiver({
    'receiver.rateLimit.requestsPerSecond': 0, 'topics.partitions': 6, 'receiver.partitionTracesById': partitionTracesById, 'receiver.validate': values.validate,
  });
  const itemCount = async (outcome: string) => (await rx.metrics.registry.getSingleMetric('peregrine_receiver_items_total')!.get()).values
    .filter((v) => v.labels.signal === 'traces' && v.labels.outcome === outcome).reduce((n, v) => n + v.value, 0);
  const ours: Side = {
    name: 'receiver',
    endpoint: values.transport === 'http' ? rx.httpUrl.replace(/^https?:\/\//, '') : rx.grpcUrl.replace(/^https?:\/\//, ''),
    cpuSeconds: () => { const c = process.cpuUsage(); return (c.user + c.system) / 1e6; },
    inKafka: () => itemCount('accepted'),
    accepted: () => itemCount('accepted'),
  };
  const run = randomUUID().slice(0, 8);
  const collectorTopics = { traces: `bench-collector-spans-${run}`, metrics: `bench-collector-metrics-${run}`, logs: `bench-collector-logs-${run}` };
  if (!values['no-collector']) await rx.kafka.ensureTopics(Object.values(collectorTopics).map((topic) => ({ topic, partitions: 6 })));
  const collector = values['no-collector'] ? undefined : await startStockCollector({ mode: 'frontend', topics: collectorTopics });
  const theirs: Side | undefined = collector && {
    name: 'collector',
    endpoint: values.transport === 'http' ? collector.httpEndpoint : collector.grpcEndpoint,
    cpuSeconds: () => collector.cpuSeconds(),
    inKafka: () => collector.counter('otelcol_exporter_sent_spans_total'),
    accepted: () => collector.counter('otelcol_receiver_accepted_spans_total'),
  };
  const empty = (): Tally => ({ cpuS: 0, spansInKafka: 0, clientAccepted: 0, offered: 0, wallS: 0, failed: {}, latenciesMs: [] });
  const tallies = { receiver: empty(), collector: empty() };
  try {
    for (let round = 0; round < Number(values.rounds); round++) {
      await Promise.all([measure(ours, tallies.receiver), theirs && measure(theirs, tallies.collector)]);
    }
  } finally {
    await collector?.stop();
    await rx.close();
  }
  const r = summary(tallies.receiver);
  const c = theirs ? summary(tallies.collector) : undefined;
  const result = {
    receiver_cpu_s_per_million_spans: r.cpu_s_per_million_spans,
    collector_cpu_s_per_million_spans: c?.cpu_s_per_million_spans ?? null,
    ratio_vs_collector: c ? Number((r.cpu_s_per_million_spans / c.cpu_s_per_million_spans).toFixed(2)) : null,
    receiver: r,
    collector: c ?? null,
    split_cpu_s_per_million_spans: splitCost,
    validate_cpu_s_per_million_spans: values.validate === 'full' ? validateCost : 0,
    transport: values.transport,
    rate_spans_per_sec: Number(values.rate),
    workers: Number(values.workers),
    spans_per_request: spans,
    spans_per_trace: perTrace,
    partition_traces_by_id: partitionTracesById,
    validate: values.validate,
    seconds_per_round: Number(values.seconds),
    rounds: Number(values.rounds),
    load_average_1m: Number(loadavg()[0]!.toFixed(2)),
    node: process.version,
  };
  console.log(`receiver: ${r.cpu_s_per_million_spans} CPU-s per million spans (${r.spans_per_sec} spans/s into Kafka); stock collector: ${c?.cpu_s_per_million_spans ?? '-'} (${c?.spans_per_sec ?? '-'} spans/s); ratio ${result.ratio_vs_collector}`);
  console.log(JSON.stringify(result));
}

if (values.load) {
  await runLoad(values.load);
  process.exit(0);
} else {
  await main();
  process.exit(0);
}
