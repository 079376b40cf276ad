/**
 * `npm run fuzz:sensor`: the loader's C engine (reassembly, llhttp, pairing, redaction, span and
 * row encoding) under at least a million random and mutated record streams, built with
 * AddressSanitizer and UndefinedBehaviorSanitizer (`make -C ebpf fuzz`); LeakSanitizer checks each
 * run for leaks at exit. The streams run in chunks (one process each, deterministic per seed), so
 * a crash names the stream to replay and the other chunks still run.
 *
 *   node --import tsx bench/fuzz-sensor.ts [--streams 1000000] [--chunk 100000] [--seed 1]
 *
 * The last line of stdout is one JSON object: streams, records, crashes, leaks, UB reports, time.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ebpf = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'ebpf');
const FUZZ = join(ebpf, 'build', 'sensor-fuzz');

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};

export interface FuzzSummary {
  streams: number;
  records: number;
  redactions: number;
  chunks: number;
  crashes: number;
  leaks: number;
  undefined_behaviour: number;
  seconds: number;
  /** The sanitizer's first report and the stream to replay, when something failed. */
  first_failure?: string;
}

/** Builds the sanitizer build; the reason when the toolchain cannot (no compiler, no libasan). */
export function buildFuzz(): string | undefined {
  try {
    execFileSync('make', ['-C', ebpf, 'fuzz'], { stdio: 'pipe' });
    return existsSync(FUZZ) ? undefined : 'make -C ebpf fuzz built nothing';
  } catch (e) {
    return `make -C ebpf fuzz failed (gcc with libasan and libubsan needed): ${String((e as { stderr?: Buffer }).stderr ?? e).slice(-400)}`;
  }
}

export function runFuzz(streams: number, chunk: number, seed: number, log: (line: string) => void = () => undefined): FuzzSummary {
  const t0 = performance.now();
  const summary: FuzzSummary = { streams: 0, records: 0, redactions: 0, chunks: 0, crashes: 0, leaks: 0, undefined_behaviour: 0, seconds: 0 };
  for (let first = 0; first < streams; first += chunk) {
    const n = Math.min(chunk, streams - first);
    const res = spawnSync(FUZZ, ['--seed', String(seed), '--first', String(first), '--streams', String(n)], {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
      env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:halt_on_error=1', UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1' },
    });
    summary.chunks++;
    const err = res.stderr ?? '';
    const line = (res.stdout ?? '').trim().split('\n').pop() ?? '';
    if (res.status === 0 && line.startsWith('{')) {
      const r = JSON.parse(line) as { streams: number; records: number; redactions: number };
      summary.streams += r.streams;
      summary.records += r.records;
      summary.redactions += r.redactions;
      log(`streams ${first}..${first + n - 1} of seed ${seed}: ${r.records} records, clean`);
      continue;
    }
    if (/LeakSanitizer: detected memory leaks/.test(err)) summary.leaks++;
    else if (/runtime error:/.test(err)) summary.undefined_behaviour++;
    else summary.crashes++;
    summary.first_failure ??= `${err.split('\n').filter((l) => /ERROR|runtime error|SUMMARY|died in stream|#[0-3] /.test(l)).slice(0, 12).join('\n')}`;
    log(`streams ${first}..${first + n - 1} of seed ${seed}: FAILED (exit ${res.status ?? res.signal})`);
  }
  summary.seconds = Math.round((performance.now() - t0) / 100) / 10;
  return summary;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const unbuilt = buildFuzz();
  if (unbuilt) {
    process.stderr.write(`fuzz:sensor: ${unbuilt}\n`);
    process.exit(1);
  }
  const summary = runFuzz(arg('--streams', 1_000_000), arg('--chunk', 100_000), arg('--seed', 1), (l) => process.stderr.write(`fuzz:sensor: ${l}\n`));
  if (summary.first_failure) process.stdout.write(`first failure:\n${summary.first_failure}\n`);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  if (summary.crashes || summary.leaks || summary.undefined_behaviour) process.exitCode = 1;
}
