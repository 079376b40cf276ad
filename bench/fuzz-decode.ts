/**
 * Throws seeded random and mutated payloads (protobuf and OTLP/JSON, traces/metrics/logs, and each
 * signal fed to the others' decoders) at the decoders and checks that every outcome is events or a
 * DecodeError, and that the receiver's span check (checkTraceRequest) gives the trace decoder's verdict. Exits non-zero
 * on any other outcome.
 *
 *   node --max-semi-space-size=32 --import tsx bench/fuzz-decode.ts [--cases 1000000] [--seed 7]
 *
 * The last line of stdout is one JSON object: counts, max heap, time.
 */
import { emptyTally, runFuzz, seedPayloads } from '../ingest/otlp/testing/fuzz-cases.ts';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const cases = arg('--cases', 1_000_000);
const seed = arg('--seed', 7);

const t0 = performance.now();
const seeds = seedPayloads(600);
let maxHeap = process.memoryUsage().heapUsed;
const tally = emptyTally();
const chunk = 50_000;
for (let done = 0; done < cases; done += chunk) {
  runFuzz(seeds, Math.min(chunk, cases - done), seed + done, tally);
  maxHeap = Math.max(maxHeap, process.memoryUsage().heapUsed);
}
const seconds = (performance.now() - t0) / 1000;
const result = {
  cases: tally.cases,
  decoded: tally.decoded,
  events: tally.events,
  decode_errors: tally.decodeErrors,
  violations: tally.internalErrors + tally.otherErrors,
  max_heap_mb: Number((maxHeap / 2 ** 20).toFixed(1)),
  seconds: Number(seconds.toFixed(1)),
  cases_per_sec: Math.round(tally.cases / seconds),
};
if (tally.firstViolation) console.log(`first violation: ${tally.firstViolation}`);
console.log(JSON.stringify(result));
process.exitCode = result.violations === 0 ? 0 : 1;
