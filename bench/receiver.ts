/**
 * `npm run bench:receiver`: the OTLP/HTTP receiver's sustained spans/s into Kafka (the local stack's broker, acks=all)
 * and its CPU seconds per million spans. A second process sends OTLP/HTTP protobuf requests (SDK-built spans, ~500 B
 * each, several spans per trace) over keep-alive connections; only spans the receiver answered 200 for (so Kafka
 * acknowledged them) count.
 *
 *   npm run bench:receiver -- [--seconds 15] [--concurrency 8] [--spans 512] [--spans-per-trace 4] [--per-request]
 *
 * `--validate structure` skips the full decode of each request (framing checks only).
 * `--per-request` turns off partition_traces_by_id (one Kafka message per request instead of one per trace), to show
 * what the per-trace messages cost.
 *
 * The last line of stdout is one JSON object.
 */
import { fork } from 'node:child_process';
import { Agent, request } from 'node:http';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ExportTraceServiceRequest } from '../ingest/otlp/reference.ts';
import { sdkTraceRequest } from '../ingest/otlp/sdk-fixtures.ts';
import { startTestReceiver } from '../ingest/receiver/testing/test-receiver.ts';
import { parseExportRequest, splitRequest } from '../ingest/receiver/split.ts';
import { decodeTraceRequest } from '../ingest/otlp/index.ts';

/** CPU seconds per million spans of one in-process step over the request bodies (no HTTP, no Kafka). */
function stepCost(bodies: Buffer[], spans: number, step: (b: Buffer) => unknown): number {
  for (const b of bodies) step(b); // warm-up
  const cpu0 = process.cpuUsage();
  let n = 0;
  const until = performance.now() + 1500;
  while (performance.now() < until) for (const b of bodies) { step(b); n += spans; }
  const cpu = process.cpuUsage(cpu0);
  return Number((((cpu.user + cpu.system) / 1e6 / n) * 1e6).toFixed(2));
}

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '15' },
    concurrency: { type: 'string', default: '8' },
    spans: { type: 'string', default: '512' },
    'spans-per-trace': { type: 'string', default: '4' },
    load: { type: 'string' },
    'per-request': { type: 'boolean', default: false },
    validate: { type: 'string', default: 'full' },
  },
});

interface LoadReport { requests: number; ok: number; failed: Record<string, number>; spans: number; bytes: number; latenciesMs: number[] }

/** SDK-built requests whose spans are grouped into traces of `perTrace` spans (the SDK fixture makes one per span). */
function buildRequests(count: number, spans: number, perTrace: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => {
    const obj = ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(sdkTraceRequest({ seed: 1000 + i, spans })), { defaults: false }) as Record<string, any>;
    let n = 0;
    let traceId: Uint8Array = new Uint8Array(16);
    for (const rs of obj.resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans) {
      if (n++ % perTrace === 0) traceId = s.traceId;
      else s.traceId = traceId;
    }
    return Buffer.from(ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(obj)).finish());
  });
}

/** The load process: POSTs requests with `concurrency` in flight until the deadline, then reports. */
async function runLoad(url: string, seconds: number, concurrency: number, spans: number, perTrace: number): Promise<void> {
  const bodies = buildRequests(16, spans, perTrace);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const report: LoadReport = { requests: 0, ok: 0, failed: {}, spans: 0, bytes: 0, latenciesMs: [] };
  process.send!({ ready: true });
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  const deadline = performance.now() + seconds * 1000;
  const post = (body: Buffer) => new Promise<number>((resolve) => {
    const req = request(`${url}/v1/traces`, { method: 'POST', agent, headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', () => resolve(0));
    req.end(body);
  });
  let next = 0;
  const worker = async () => {
    while (performance.now() < deadline) {
      const body = bodies[next++ % bodies.length]!;
      const started = performance.now();
      const status = await post(body);
      report.requests++;
      if (status === 200) {
        report.ok++;
        report.spans += spans;
        report.bytes += body.length;
        report.latenciesMs.push(performance.now() - started);
      } else report.failed[status] = (report.failed[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  process.send!({ report });
}

async function main(): Promise<void> {
  const seconds = Number(values.seconds);
  const concurrency = Number(values.concurrency);
  const spans = Number(values.spans);
  const perTrace = Number(values['spans-per-trace']);
  const partitionTracesById = !values['per-request'];
  // The receiver's own steps alone, to tell them from HTTP and the Kafka client in the end-to-end figure.
  const sample = buildRequests(8, spans, perTrace);
  const splitCost = stepCost(sample, spans, (b) => splitRequest(parseExportRequest('traces', b, { checkItems: values.validate !== 'full' }), { maxMessageBytes: 1_000_000, partition: partitionTracesById ? 'traceId' : 'none' }));
  const validateCost = stepCost(sample, spans, (b) => decodeTraceRequest(b));
  // One load process stands for many clients: the per-client rate limit would measure itself.
  const rx = await startTestReceiver({ 'receiver.rateLimit.requestsPerSecond': 0, 'receiver.grpc.enabled': false, 'topics.partitions': 6, 'receiver.partitionTracesById': partitionTracesById, 'receiver.validate': values.validate });
  const child = fork(fileURLToPath(import.meta.url), ['--load', rx.httpUrl, '--seconds', String(seconds), '--concurrency', String(concurrency), '--spans', String(spans), '--spans-per-trace', String(perTrace)], {
    execArgv: ['--import', 'tsx'],
  });
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
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  child.send('go');
  const { report } = await nextMessage();
  const wallS = (performance.now() - wall0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const kafkaMessages = (await rx.metrics.registry.getSingleMetric('peregrine_receiver_kafka_messages_total')!.get()).values.reduce((n, v) => n + v.value, 0);
  await rx.close();
  const r = report!;
  r.latenciesMs.sort((a, b) => a - b);
  const pct = (p: number) => Number((r.latenciesMs[Math.min(r.latenciesMs.length - 1, Math.floor(p * r.latenciesMs.length))] ?? 0).toFixed(1));
  const result = {
    spans_per_sec: Math.round(r.spans / wallS),
    receiver_cpu_s_per_million_spans: Number(((cpuS / r.spans) * 1e6).toFixed(2)),
    receiver_cpu_cores: Number((cpuS / wallS).toFixed(2)),
    split_cpu_s_per_million_spans: splitCost,
    validate_cpu_s_per_million_spans: values.validate === 'full' ? validateCost : 0,
    requests_ok: r.ok,
    requests_failed: r.failed,
    spans_accepted: r.spans,
    spans_per_request: spans,
    spans_per_trace: perTrace,
    partition_traces_by_id: partitionTracesById,
    validate: values.validate,
    kafka_messages: kafkaMessages,
    bytes_per_span: Math.round(r.bytes / Math.max(1, r.spans)),
    mb_per_sec: Number((r.bytes / wallS / 1e6).toFixed(1)),
    request_latency_ms_p50: pct(0.5),
    request_latency_ms_p99: pct(0.99),
    concurrency,
    duration_s: Number(wallS.toFixed(1)),
    load_average_1m: Number(loadavg()[0]!.toFixed(2)),
    node: process.version,
  };
  console.log(`receiver: ${result.spans_per_sec} spans/s into Kafka, ${result.receiver_cpu_s_per_million_spans} CPU-s per million spans (${result.receiver_cpu_cores} cores)`);
  console.log(JSON.stringify(result));
}

if (values.load) {
  await runLoad(values.load, Number(values.seconds), Number(values.concurrency), Number(values.spans), Number(values['spans-per-trace']));
  process.exit(0);
} else {
  await main();
  process.exit(0);
}
