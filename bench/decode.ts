/**
 * Decode + normalize throughput for ExportTraceServiceRequest messages built by the real SDK
 * (HTTP server/client, gRPC and DB spans, ~490 bytes per span, 100–4096 spans per request): the
 * hot-path wire decoder, the protobufjs reference and the collector's own decoder (pdata's
 * ptrace.ProtoUnmarshaler, bench/collector-decode, built with Go on first use) side by side in one
 * run, alternating in short rounds so that all see the same machine load. Throughput is per
 * CPU-second of the decoding process (one core), with wall-clock figures beside it.
 *
 *   node --max-semi-space-size=32 --import tsx bench/decode.ts [--seconds 12]
 *
 * `ratio_vs_collector_decode` is ours (decode + normalization) over pdata's bare unmarshal; the
 * `_read` figure has pdata also read every span's ids, name, times, status and attributes.
 *
 * The last line of stdout is one JSON object with the figures.
 */
import { decodeTraceRequest } from '../ingest/otlp/traces.ts';
import { referenceDecodeTraceRequest } from '../ingest/otlp/testing/reference-decoders.ts';
import { sdkTraceRequest } from '../ingest/otlp/testing/sdk-requests.ts';
import { startCollectorDecoder } from './collector-decode.ts';

const secondsArg = process.argv.indexOf('--seconds');
const totalSeconds = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 12;

const sizes = [100, 256, 512, 1024, 2048, 4096];
const requests = sizes.map((spans, i) => sdkTraceRequest({ seed: 100 + i, spans }));
const spansPerPass = sizes.reduce((a, b) => a + b, 0);
const bytesPerPass = requests.reduce((a, r) => a + r.length, 0);

type Decoder = (bytes: Uint8Array) => unknown[];
interface Tally {
  spans: number;
  cpuMicros: number;
  wallMs: number;
}

function pass(decode: Decoder): number {
  let n = 0;
  for (const r of requests) n += decode(r).length;
  return n;
}

function round(decode: Decoder, ms: number, tally: Tally): void {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let spans = 0;
  do spans += pass(decode);
  while (performance.now() - t0 < ms);
  const cpu = process.cpuUsage(cpu0);
  tally.spans += spans;
  tally.cpuMicros += cpu.user + cpu.system;
  tally.wallMs += performance.now() - t0;
}

// Same events from both before timing anything.
for (const r of requests) {
  if (JSON.stringify(decodeTraceRequest(r)) !== JSON.stringify(referenceDecodeTraceRequest(r))) throw new Error('decoders disagree');
}

// The floor under any decoder that returns these events: building them from values already
// decoded (strings shared, not re-made), with no parsing at all.
const decodedOnce = new Map(requests.map((r) => [r, decodeTraceRequest(r)]));
const buildEventsOnly: Decoder = (bytes) => decodedOnce.get(bytes)!.map((e) => ({ ...e, attributes: { ...e.attributes } }));

const collector = startCollectorDecoder(requests);
async function collectorRound(mode: 'bare' | 'read', ms: number, tally: Tally): Promise<void> {
  const r = await collector.round(mode, ms);
  tally.spans += r.spans;
  tally.cpuMicros += r.cpuMicros;
  tally.wallMs += r.wallMicros / 1000;
}

const hot: Tally = { spans: 0, cpuMicros: 0, wallMs: 0 };
const pdata: Tally = { spans: 0, cpuMicros: 0, wallMs: 0 };
const pdataRead: Tally = { spans: 0, cpuMicros: 0, wallMs: 0 };
const floor: Tally = { spans: 0, cpuMicros: 0, wallMs: 0 };
const ref: Tally = { spans: 0, cpuMicros: 0, wallMs: 0 };
// Warm-up: let both reach optimized code.
for (let i = 0; i < 3; i++) {
  round(decodeTraceRequest, 300, { spans: 0, cpuMicros: 0, wallMs: 0 });
  round(referenceDecodeTraceRequest, 300, { spans: 0, cpuMicros: 0, wallMs: 0 });
  round(buildEventsOnly, 300, { spans: 0, cpuMicros: 0, wallMs: 0 });
  await collectorRound('bare', 300, { spans: 0, cpuMicros: 0, wallMs: 0 });
  await collectorRound('read', 300, { spans: 0, cpuMicros: 0, wallMs: 0 });
}
const rounds = Math.max(2, Math.round(totalSeconds / 1.0));
for (let i = 0; i < rounds; i++) {
  round(decodeTraceRequest, 500, hot);
  round(referenceDecodeTraceRequest, 500, ref);
  round(buildEventsOnly, 250, floor);
  await collectorRound('bare', 500, pdata);
  await collectorRound('read', 250, pdataRead);
}
collector.close();

const perCpuSecond = (t: Tally): number => t.spans / (t.cpuMicros / 1e6);
const perWallSecond = (t: Tally): number => t.spans / (t.wallMs / 1e3);
const result = {
  spans_per_sec: Math.round(perCpuSecond(hot)),
  reference_spans_per_sec: Math.round(perCpuSecond(ref)),
  ratio_vs_reference: Number((perCpuSecond(hot) / perCpuSecond(ref)).toFixed(2)),
  collector_decode_spans_per_sec: Math.round(perCpuSecond(pdata)),
  ratio_vs_collector_decode: Number((perCpuSecond(hot) / perCpuSecond(pdata)).toFixed(2)),
  collector_decode_read_spans_per_sec: Math.round(perCpuSecond(pdataRead)),
  ratio_vs_collector_decode_read: Number((perCpuSecond(hot) / perCpuSecond(pdataRead)).toFixed(2)),
  wall_spans_per_sec: Math.round(perWallSecond(hot)),
  wall_reference_spans_per_sec: Math.round(perWallSecond(ref)),
  event_build_floor_spans_per_sec: Math.round(perCpuSecond(floor)),
  // What a decoder may spend per span, on this machine, for 1M spans/s once the events are built.
  decode_budget_ns_per_span_for_1m: Math.round(1000 - 1e9 / perCpuSecond(floor)),
  decode_ns_per_span: Math.round(1e9 / perCpuSecond(hot) - 1e9 / perCpuSecond(floor)),
  mb_per_sec: Number(((perCpuSecond(hot) * bytesPerPass) / spansPerPass / 1e6).toFixed(1)),
  bytes_per_span: Math.round(bytesPerPass / spansPerPass),
  spans_per_request: sizes,
  load_average_1m: Number((await import('node:os')).loadavg()[0].toFixed(2)),
  node: process.version,
};
console.log(`wire decoder: ${result.spans_per_sec} spans/CPU-s; protobufjs reference: ${result.reference_spans_per_sec}; collector (pdata) decoder: ${result.collector_decode_spans_per_sec} (${result.collector_decode_read_spans_per_sec} reading every span)`);
console.log(JSON.stringify(result));
