/**
 * `npm run bench:receiver`: Peregrine's OTLP receiver and the stock collector front end (the stack's Jaeger binary in
 * the collector role, the pipeline of `stack up --frontend collector`: OTLP → batch 4096 → kafka exporter,
 * otlp_proto, partitioned by trace id, acks all), side by side in one run under the same offered load, each writing
 * to its own fresh topics of the local stack's broker.
 *
 * Four processes besides this one, so that nothing but the front end itself is counted on either side: our receiver
 * (a child running `startTestReceiver`), the collector, and one load client for each (the same SDK-built requests,
 * ~495 B per span, `--spans-per-trace` spans per trace id, OTLP/gRPC or `--transport http`, `--workers` connections
 * sharing a target rate of `--rate` spans/s; 0: as fast as answered). Both front ends' CPU is read the same way, from
 * /proc. Both are loaded at the same time, so both see the same machine load. The clients live through the whole run
 * and both front ends first get `--warmup` seconds of the same load, uncounted: a server runs for days, so what is
 * measured is its steady state, not JIT compilation, heap growth and connection set-up (`--warmup 0` counts them).
 * `--idle` seconds with no load are measured first, for the per-second cost of an idle process.
 *
 *   npm run bench:receiver -- [--seconds 30] [--rounds 1] [--warmup 10] [--idle 0] [--rate 7500] [--workers 4]
 *                             [--spans 512] [--spans-per-trace 5] [--transport grpc|http] [--per-request]
 *                             [--validate full|structure] [--no-collector] [--receiver-node-options="--cpu-prof ..."]
 *
 * CPU per million spans counts only spans in Kafka: ours answers a request only after Kafka acknowledged it; the
 * collector's batch processor answers at once, so its round ends when its exporter has sent what it accepted.
 * `--per-request` turns off partition_traces_by_id for ours (one Kafka message per request). The last line of stdout
 * is one JSON object; `rounds_detail` holds every round of both.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { credentials, makeGenericClientConstructor, type Client } from '@grpc/grpc-js';
import { startTestReceiver } from '../ingest/receiver/testing/test-receiver.ts';
import { parseExportRequest, splitRequest } from '../ingest/receiver/split.ts';
import { checkTraceRequest } from '../ingest/otlp/index.ts';
import { traceRequests } from './kafka-shape.ts';
import { processCpuSeconds, startStockCollector } from './stock-collector.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '30' },
    rounds: { type: 'string', default: '1' },
    warmup: { type: 'string', default: '10' },
    idle: { type: 'string', default: '0' },
    rate: { type: 'string', default: '7500' },
    workers: { type: 'string', default: '4' },
    spans: { type: 'string', default: '512' },
    'spans-per-trace': { type: 'string', default: '5' },
    transport: { type: 'string', default: 'grpc' },
    'per-request': { type: 'boolean', default: false },
    validate: { type: 'string', default: 'full' },
    'no-collector': { type: 'boolean', default: false },
    'receiver-node-options': { type: 'string', default: '' },
    // Internal: the role of a child process.
    load: { type: 'string' },
    serve: { type: 'boolean', default: false },
  },
});

interface LoadReport { requests: number; ok: number; failed: Record<string, number>; spans: number; latenciesMs: number[] }

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

/**
 * The load process: on each `{ go: seconds }`, `workers` loops send requests at a shared target rate until the
 * deadline, then it reports; it lives for the whole run (its connections stay open between rounds).
 */
async function runLoad(endpoint: string): Promise<void> {
  const spans = Number(values.spans);
  const workers = Number(values.workers);
  const rate = Number(values.rate);
  const bodies = traceRequests(16, spans, Number(values['spans-per-trace']));
  const sender = values.transport === 'http' ? httpSender(endpoint, workers) : grpcSender(endpoint, workers);
  let next = 0;
  const round = async (seconds: number): Promise<LoadReport> => {
    const report: LoadReport = { requests: 0, ok: 0, failed: {}, spans: 0, latenciesMs: [] };
    const started = performance.now();
    const deadline = started + seconds * 1000;
    // Each worker's requests are due at fixed intervals (open loop): a slow answer makes it fall behind, not slow down.
    const interval = rate > 0 ? (workers * spans * 1000) / rate : 0;
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
          report.latenciesMs.push(performance.now() - t0);
        } else report.failed[status] = (report.failed[status] ?? 0) + 1;
        // Behind by more than one interval: the client drops what it could not send (as an SDK's full queue does).
        if (interval > 0 && performance.now() - due > interval) due = performance.now();
      }
    };
    await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
    return report;
  };
  process.on('message', (m: { go?: number; exit?: boolean }) => {
    if (m.exit) {
      sender.close();
      process.exit(0);
    }
    if (m.go !== undefined) void round(m.go).then((report) => process.send!({ report }));
  });
  process.send!({ ready: true });
}

/** The receiver process: our receiver on free ports and fresh topics; answers `{ count }` with spans in Kafka. */
async function serve(): Promise<void> {
  // One load process stands for many clients: the per-client rate limit would measure itself.
  const rx = await startTestReceiver({
    'receiver.rateLimit.requestsPerSecond': 0, 'topics.partitions': 6, 'receiver.partitionTracesById': !values['per-request'], 'receiver.validate': values.validate,
  });
  const accepted = async () => (await rx.metrics.registry.getSingleMetric('peregrine_receiver_items_total')!.get()).values
    .filter((v) => v.labels.signal === 'traces' && v.labels.outcome === 'accepted').reduce((n, v) => n + v.value, 0);
  // Main-thread GC pauses by kind, to tell a fixed cost of collecting a big heap from work per span.
  const gc: Record<string, { count: number; ms: number }> = {};
  const kinds: Record<number, string> = { [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge', [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark_compact', [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental', [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak_callbacks' };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = kinds[(e as unknown as { detail: { kind: number } }).detail.kind] ?? 'other';
      const k = (gc[kind] ??= { count: 0, ms: 0 });
      k.count++;
      k.ms += e.duration;
    }
  }).observe({ entryTypes: ['gc'] });
  process.on('message', (m: { count?: number; stop?: boolean }) => {
    if (m.count !== undefined) void accepted().then((spans) => process.send!({ count: m.count, spans, gc: structuredClone(gc) }));
    if (m.stop) void rx.close().then(() => process.exit(0));
  });
  const endpoint = (url: string) => url.replace(/^https?:\/\//, '');
  process.send!({ ready: true, grpc: endpoint(rx.grpcUrl), http: endpoint(rx.httpUrl) });
}

/** A child process of this script in one role, with a request/answer channel over IPC. */
function child(args: string[], execArgv = process.execArgv): { process: ChildProcess; next(): Promise<any> } {
  const proc = fork(fileURLToPath(import.meta.url), [...process.argv.slice(2), ...args], { execArgv });
  const messages: unknown[] = [];
  let wake: () => void = () => {};
  proc.on('message', (m) => {
    messages.push(m);
    wake();
  });
  proc.once('exit', (code) => {
    messages.push({ exited: code });
    wake();
  });
  const next = async () => {
    while (!messages.length) await new Promise<void>((r) => { wake = r; });
    const m = messages.shift() as { exited?: number };
    if ('exited' in m) throw new Error(`a benchmark child process (${args.join(' ')}) exited with ${m.exited}`);
    return m;
  };
  return { process: proc, next };
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
  pid: number;
  endpoint: string;
  /** Spans in Kafka so far. */
  inKafka(): Promise<number>;
  /** Spans the front end accepted from the client so far. */
  accepted(): Promise<number>;
  /** Cumulative figures that say where the CPU went (CPU seconds by thread name, GC pause ms by kind). */
  breakdown(): Promise<Record<string, number>>;
  load: ReturnType<typeof child>;
}

/** CPU seconds of a process's threads so far, summed by thread name (Node 24 names them MainThread, V8Worker, ...). */
function threadCpuSeconds(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const cpu = processCpuSeconds(pid, Number(tid));
      out[`cpu_s.${name}`] = (out[`cpu_s.${name}`] ?? 0) + cpu;
    } catch {
      // The thread ended between listing and reading.
    }
  }
  return out;
}

interface Round { breakdown: Record<string, number>; cpuS: number; spansInKafka: number; clientAccepted: number; offered: number; wallS: number; failed: Record<string, number>; latenciesMs: number[] }

/** Drives both sides at once for `seconds`; each side's round ends when Kafka has what it accepted. */
async function round(sides: Side[], seconds: number): Promise<Round[]> {
  const before = await Promise.all(sides.map(async (s) => ({ cpu: processCpuSeconds(s.pid), kafka: await s.inKafka(), breakdown: await s.breakdown() })));
  for (const s of sides) s.load.process.send({ go: seconds });
  return Promise.all(sides.map(async (side, i) => {
    const { report } = (await side.load.next()) as { report: LoadReport };
    // The collector acknowledges before Kafka has the spans: wait until its exporter has sent what it accepted.
    const accepted = await side.accepted();
    const deadline = Date.now() + 30_000;
    while ((await side.inKafka()) < accepted && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    const breakdown = await side.breakdown();
    for (const [k, v] of Object.entries(breakdown)) breakdown[k] = Number((v - (before[i]!.breakdown[k] ?? 0)).toFixed(2));
    return {
      breakdown,
      cpuS: processCpuSeconds(side.pid) - before[i]!.cpu,
      spansInKafka: (await side.inKafka()) - before[i]!.kafka,
      clientAccepted: report.spans,
      offered: report.requests * Number(values.spans),
      wallS: seconds,
      failed: report.failed,
      latenciesMs: report.latenciesMs,
    };
  }));
}

function summary(rounds: Round[]) {
  const t = rounds.reduce((a, r) => ({
    breakdown: Object.fromEntries([...Object.keys(a.breakdown), ...Object.keys(r.breakdown)].map((k) => [k, Number(((a.breakdown[k] ?? 0) + (r.breakdown[k] ?? 0)).toFixed(2))])),
    cpuS: a.cpuS + r.cpuS, spansInKafka: a.spansInKafka + r.spansInKafka, clientAccepted: a.clientAccepted + r.clientAccepted, offered: a.offered + r.offered, wallS: a.wallS + r.wallS,
    failed: Object.fromEntries([...Object.entries(a.failed), ...Object.entries(r.failed)].map(([k]) => [k, (a.failed[k] ?? 0) + (r.failed[k] ?? 0)])),
    latenciesMs: a.latenciesMs.concat(r.latenciesMs),
  }));
  t.latenciesMs.sort((a, b) => a - b);
  const pct = (p: number) => Number((t.latenciesMs[Math.min(t.latenciesMs.length - 1, Math.floor(p * t.latenciesMs.length))] ?? 0).toFixed(1));
  return {
    cpu_s_per_million_spans: perMillion(t),
    spans_in_kafka: t.spansInKafka,
    spans_per_sec: Math.round(t.spansInKafka / t.wallS),
    cpu_cores: Number((t.cpuS / t.wallS).toFixed(3)),
    offered_spans: t.offered,
    failed_requests: t.failed,
    latency_ms_p50: pct(0.5),
    latency_ms_p99: pct(0.99),
    breakdown: t.breakdown,
  };
}

const perMillion = (r: Pick<Round, 'cpuS' | 'spansInKafka'>) => Number(((r.cpuS / Math.max(1, r.spansInKafka)) * 1e6).toFixed(2));

async function main(): Promise<void> {
  const spans = Number(values.spans);
  const perTrace = Number(values['spans-per-trace']);
  const partitionTracesById = !values['per-request'];
  // The receiver's own steps alone, to tell them from the transport and the Kafka client in the end-to-end figure.
  const sample = traceRequests(8, spans, perTrace);
  const splitCost = stepCost(sample, spans, (b) => splitRequest(parseExportRequest('traces', b, { checkItems: values.validate !== 'full' }), { maxMessageBytes: 1_000_000, partition: partitionTracesById ? 'traceId' : 'none' }));
  const validateCost = stepCost(sample, spans, (b) => checkTraceRequest(b));

  const nodeOptions = values['receiver-node-options'].split(/\s+/).filter(Boolean);
  // Our receiver runs as `node bin/peregrine.js run receiver` does: no V8 flags of this script's own.
  const rx = child(['--serve'], ['--import', 'tsx', ...nodeOptions]);
  const rxReady = (await rx.next()) as { grpc: string; http: string };
  let asked = 0;
  const rxStats = async () => {
    rx.process.send({ count: ++asked });
    return (await rx.next()) as { spans: number; gc: Record<string, { count: number; ms: number }> };
  };
  const rxCount = async () => (await rxStats()).spans;
  const rxBreakdown = async () => {
    const { gc } = await rxStats();
    const out = threadCpuSeconds(rx.process.pid!);
    for (const [kind, k] of Object.entries(gc)) {
      out[`gc_ms.${kind}`] = k.ms;
      out[`gc_count.${kind}`] = k.count;
    }
    return out;
  };
  const run = randomUUID().slice(0, 8);
  const collectorTopics = { traces: `bench-collector-spans-${run}`, metrics: `bench-collector-metrics-${run}`, logs: `bench-collector-logs-${run}` };
  const sides: Side[] = [];
  let collector: Awaited<ReturnType<typeof startStockCollector>> | undefined;
  const rounds: Array<{ receiver: Round; collector?: Round }> = [];
  const idle: Record<string, number> = {};
  try {
    sides.push({
      name: 'receiver', pid: rx.process.pid!, endpoint: values.transport === 'http' ? rxReady.http : rxReady.grpc,
      inKafka: rxCount, accepted: rxCount, breakdown: rxBreakdown, load: child(['--load', values.transport === 'http' ? rxReady.http : rxReady.grpc]),
    });
    if (!values['no-collector']) {
      const { createKafkaAdapter } = await import('../core/kafka/kafkajs.ts');
      const { loadAppConfig } = await import('../app/config.ts');
      const { createLogger } = await import('../core/log.ts');
      const kafka = createKafkaAdapter(loadAppConfig({ env: {} }).kafka, createLogger({ level: 'error', pretty: false }));
      await kafka.ensureTopics(Object.values(collectorTopics).map((topic) => ({ topic, partitions: 6 })));
      await kafka.close();
      collector = await startStockCollector({ mode: 'frontend', topics: collectorTopics });
      const endpoint = values.transport === 'http' ? collector.httpEndpoint : collector.grpcEndpoint;
      sides.push({
        name: 'collector', pid: collector.pid, endpoint,
        inKafka: () => collector!.counter('otelcol_exporter_sent_spans_total'),
        accepted: () => collector!.counter('otelcol_receiver_accepted_spans_total'),
        breakdown: async () => threadCpuSeconds(collector!.pid),
        load: child(['--load', endpoint]),
      });
    }
    await Promise.all(sides.map((s) => s.load.next())); // ready: requests built, channels made
    if (Number(values.idle) > 0) {
      const cpu0 = sides.map((s) => processCpuSeconds(s.pid));
      await new Promise((r) => setTimeout(r, Number(values.idle) * 1000));
      sides.forEach((s, i) => { idle[s.name] = Number((((processCpuSeconds(s.pid) - cpu0[i]!) / Number(values.idle)) * 1000).toFixed(2)); });
    }
    if (Number(values.warmup) > 0) await round(sides, Number(values.warmup));
    for (let r = 0; r < Number(values.rounds); r++) {
      const [receiver, theirs] = await round(sides, Number(values.seconds));
      rounds.push({ receiver: receiver!, collector: theirs });
    }
  } finally {
    for (const s of sides) s.load.process.send({ exit: true });
    await collector?.stop();
    rx.process.send({ stop: true });
    await new Promise((r) => rx.process.once('exit', r));
  }
  const r = summary(rounds.map((x) => x.receiver));
  const c = collector ? summary(rounds.map((x) => x.collector!)) : undefined;
  const result = {
    receiver_cpu_s_per_million_spans: r.cpu_s_per_million_spans,
    collector_cpu_s_per_million_spans: c?.cpu_s_per_million_spans ?? null,
    ratio_vs_collector: c ? Number((r.cpu_s_per_million_spans / c.cpu_s_per_million_spans).toFixed(2)) : null,
    receiver: r,
    collector: c ?? null,
    rounds_detail: rounds.map((x) => ({
      receiver: perMillion(x.receiver), collector: x.collector ? perMillion(x.collector) : null,
      ratio: x.collector ? Number((perMillion(x.receiver) / perMillion(x.collector)).toFixed(2)) : null,
    })),
    idle_cpu_ms_per_s: Number(values.idle) > 0 ? idle : null,
    split_cpu_s_per_million_spans: splitCost,
    validate_cpu_s_per_million_spans: values.validate === 'full' ? validateCost : 0,
    transport: values.transport,
    rate_spans_per_sec: Number(values.rate),
    workers: Number(values.workers),
    spans_per_request: spans,
    spans_per_trace: perTrace,
    partition_traces_by_id: partitionTracesById,
    validate: values.validate,
    warmup_seconds: Number(values.warmup),
    seconds_per_round: Number(values.seconds),
    rounds: Number(values.rounds),
    receiver_node_options: nodeOptions.join(' '),
    load_average_1m: Number(loadavg()[0]!.toFixed(2)),
    node: process.version,
  };
  console.log(`receiver: ${r.cpu_s_per_million_spans} CPU-s per million spans (${r.spans_per_sec} spans/s into Kafka); stock collector: ${c?.cpu_s_per_million_spans ?? '-'} (${c?.spans_per_sec ?? '-'} spans/s); ratio ${result.ratio_vs_collector}`);
  console.log(JSON.stringify(result));
}

if (values.load) await runLoad(values.load);
else if (values.serve) await serve();
else {
  await main();
  process.exit(0);
}
