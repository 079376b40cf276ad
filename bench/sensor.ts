/**
 * `npm run bench:sensor`: a local HTTP server under a fixed request rate, first without and then
 * with `peregrine sensor` running (OTLP export to a local sink that counts the spans), side by
 * side. Reports the server's throughput and latency both ways, the sensor's CPU (agent, and the
 * loader with its C engine, from /proc; BPF time of the loader's own programs from
 * kernel.bpf_stats_enabled), ring-buffer drops and lost requests; and the floor under any Node
 * agent in turns with it (BPF + the loader forwarding raw records + a Node process that reads and
 * discards them), as the anchor of the 2%-per-1k-req/s budget.
 * Needs root and the built loader (`make -C ebpf`). Last stdout line: one JSON object.
 *
 *   BENCH_RATE (2000 req/s)  BENCH_SECONDS (20 per phase)  BENCH_WARMUP_SECONDS (5, with the sensor, not measured)
 *   BENCH_ROUNDS (3: floor and sensor in turns, the median reported)  BENCH_SENSOR_PROFILE (a directory for the agent's CPU profile)
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const testdata = join(repo, 'ebpf', 'testdata');
const rate = Number(process.env.BENCH_RATE ?? 2000);
const seconds = Number(process.env.BENCH_SECONDS ?? 20);
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 5);
const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const TICKS = 100; // USER_HZ

const log = (msg: string) => process.stderr.write(`bench:sensor: ${msg}\n`);

/** A process's user and system CPU seconds so far (0 once it is gone). */
function cpuTimes(pid: number): { user: number; sys: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(f[11]) / TICKS, sys: Number(f[12]) / TICKS };
  } catch {
    return { user: 0, sys: 0 };
  }
}

function cpuSeconds(pid: number): number {
  const t = cpuTimes(pid);
  return t.user + t.sys;
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.push(...readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
    } catch { /* thread gone */ }
  }
  return out;
}

/** The BPF programs a process holds (its fds' prog_id in /proc/PID/fdinfo): this loader's, not another sensor's. */
function programsOf(pid: number): Set<number> {
  const ids = new Set<number>();
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    try {
      const m = /^prog_id:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      if (m) ids.add(Number(m[1]));
    } catch { /* closed meanwhile */ }
  }
  return ids;
}

/** BPF run time (kernel.bpf_stats_enabled=1) of the given programs so far. */
function bpfRunTimeSeconds(programs: Set<number>): number {
  const progs = JSON.parse(execFileSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8', maxBuffer: 64 << 20 })) as Array<{ id: number; run_time_ns?: number }>;
  return progs.filter((p) => programs.has(p.id)).reduce((s, p) => s + (p.run_time_ns ?? 0), 0) / 1e9;
}

function waitFor(proc: ChildProcess, stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  return new Promise((resolveMatch, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}: ${seen.slice(-500)}`)), timeoutMs);
    proc[stream]!.on('data', (d: Buffer) => {
      seen += d.toString();
      const m = pattern.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolveMatch(m);
      }
    });
    proc.once('exit', (code) => reject(new Error(`process exited (${code}) before ${pattern}: ${seen.slice(-500)}`)));
  });
}

interface LoadResult { sent: number; done: number; errors: number; wall_s: number; rps: number; p50_ms: number; p90_ms: number; p99_ms: number }

async function load(port: number, forSeconds = seconds): Promise<LoadResult> {
  const gen = spawn(process.execPath, [join(testdata, 'loadgen.mjs'), String(port), String(rate), String(forSeconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const m = await waitFor(gen, 'stdout', /(\{.*\})\n/, (forSeconds + 60) * 1000);
  return JSON.parse(m[1]) as LoadResult;
}

/**
 * The floor under any Node agent: BPF, the loader, and a Node process that only reads the loader's
 * stream (ebpf/testdata/null-agent.mjs). What the budget leaves above it is all a real agent may
 * spend on framing, reassembly, parsing, pairing, redaction and export.
 */
async function nullAgentPhase(loader: string, port: number) {
  const reader = spawn(process.execPath, [join(testdata, 'null-agent.mjs'), loader], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await waitFor(reader, 'stdout', /running/, 60_000);
    const loaderPid = childrenOf(reader.pid!)[0];
    const programs = programsOf(loaderPid);
    const cpu0 = { reader: cpuSeconds(reader.pid!), loader: cpuSeconds(loaderPid), bpf: bpfRunTimeSeconds(programs) };
    log(`floor (BPF + loader + a Node reader that discards the stream): ${rate} req/s for ${seconds} s`);
    const result = await load(port);
    await new Promise((r) => setTimeout(r, 1000));
    const cpu1 = { reader: cpuSeconds(reader.pid!), loader: cpuSeconds(loaderPid), bpf: bpfRunTimeSeconds(programs) };
    const stopped = waitFor(reader, 'stdout', /stopped (\{.*\})/, 30_000);
    reader.kill('SIGTERM');
    const { bytes } = JSON.parse((await stopped)[1]) as { bytes: number };
    const cpu = { reader: cpu1.reader - cpu0.reader, loader: cpu1.loader - cpu0.loader, bpf: cpu1.bpf - cpu0.bpf };
    const total = cpu.reader + cpu.loader + cpu.bpf;
    return { result, cpu, total, bytes, corePctPer1k: (100 * total) / result.wall_s / (result.rps / 1000) };
  } finally {
    if (reader.exitCode === null) reader.kill('SIGKILL');
  }
}

interface SensorRun {
  result: LoadResult;
  warmupDone: number;
  cpu: { agent: number; agentSys: number; loader: number; bpf: number };
  total: number;
  corePctPer1k: number;
  ringbufDrops: number;
  droppedExports: number;
}

/** `peregrine sensor` exporting to the sink: CPU of the agent, the loader (with its engine) and BPF over the measured load. */
async function sensorPhase(sinkPort: number, targetPort: number, children: ChildProcess[]): Promise<SensorRun> {
  // BENCH_SENSOR_PROFILE=DIR writes a CPU profile of the agent there when it exits.
  const profile = process.env.BENCH_SENSOR_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_SENSOR_PROFILE}`] : [];
  const sensor = spawn(process.execPath, [...profile, join(repo, 'bin', 'peregrine.js'), 'sensor', '--otlp-endpoint', `http://127.0.0.1:${sinkPort}`],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PEREGRINE_LOG_FORMAT: 'json' } });
  children.push(sensor);
  // The sensor's warnings and errors (pino levels 40+) are worth seeing next to the figures.
  sensor.stderr!.on('data', (d: Buffer) => {
    for (const line of d.toString().split('\n')) if (/"level":(4|5|6)0/.test(line)) process.stderr.write(`sensor: ${line}\n`);
  });
  await waitFor(sensor, 'stderr', /sensor running/, 60_000);
  // The agent's JIT warms up on the first requests, as a long-running sensor's would once.
  let warmupDone = 0;
  if (warmupSeconds > 0) {
    log(`warm-up with the sensor: ${rate} req/s for ${warmupSeconds} s (not measured)`);
    warmupDone = (await load(targetPort, warmupSeconds)).done;
    await new Promise((r) => setTimeout(r, 2000));
  }
  const loaderPid = childrenOf(sensor.pid!)[0];
  const programs = programsOf(loaderPid);
  const agentSys0 = cpuTimes(sensor.pid!).sys;
  const cpu0 = { agent: cpuSeconds(sensor.pid!), loader: cpuSeconds(loaderPid), bpf: bpfRunTimeSeconds(programs) };
  log(`with the sensor: ${rate} req/s for ${seconds} s`);
  const result = await load(targetPort);
  await new Promise((r) => setTimeout(r, 3000)); // let the agent finish what is queued
  const agentSys1 = cpuTimes(sensor.pid!).sys;
  const cpu1 = { agent: cpuSeconds(sensor.pid!), loader: cpuSeconds(loaderPid), bpf: bpfRunTimeSeconds(programs) };
  const stopped = waitFor(sensor, 'stderr', /(\{[^\n]*"sensor stopped"[^\n]*\})/, 30_000);
  sensor.kill('SIGTERM');
  const summary = JSON.parse((await stopped)[1]) as { ringbufDrops?: number; droppedExports?: number };
  // Let it exit on its own: a second signal would cut it short (and lose a BENCH_SENSOR_PROFILE profile).
  if (sensor.exitCode === null) await new Promise((r) => { sensor.once('exit', r); setTimeout(r, 15_000).unref(); });
  const cpu = { agent: cpu1.agent - cpu0.agent, agentSys: agentSys1 - agentSys0, loader: cpu1.loader - cpu0.loader, bpf: cpu1.bpf - cpu0.bpf };
  const total = cpu.agent + cpu.loader + cpu.bpf;
  return {
    result, warmupDone, cpu, total, corePctPer1k: (100 * total) / result.wall_s / (result.rps / 1000),
    ringbufDrops: summary.ringbufDrops ?? 0, droppedExports: summary.droppedExports ?? 0,
  };
}

/** SIGTERM, then SIGKILL after 5 s: a server holding keep-alive connections must not outlive the bench. */
async function stopChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise<void>((r) => c.once('exit', () => r()));
  c.kill('SIGTERM');
  const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function main(): Promise<void> {
  const loader = join(repo, 'ebpf', 'build', 'peregrine-sensor');
  if (!existsSync(loader)) throw new Error('the loader is not built: run `bash ebpf/install-deps.sh && make -C ebpf`');
  if (process.getuid?.() !== 0) throw new Error('needs root (BPF)');

  // The OTLP sink: counts the server spans for the target port (its own CPU is not the sensor's).
  const require = createRequire(import.meta.url);
  const root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js');
  let targetPort = 0;
  let serverSpans = 0;
  const sink = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const decoded = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest.decode(Buffer.concat(chunks));
        for (const rs of decoded.resourceSpans) for (const ss of rs.scopeSpans) for (const span of ss.spans) {
          if (span.kind !== 2) continue;
          const port = span.attributes.find((a: { key: string }) => a.key === 'server.port')?.value?.intValue;
          if (Number(port) === targetPort) serverSpans++;
        }
      }
      res.writeHead(200);
      res.end();
    });
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const sinkPort = (sink.address() as { port: number }).port;

  const server = spawn(process.execPath, [join(testdata, 'node-server.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
  targetPort = Number((await waitFor(server, 'stdout', /listening (\d+)/, 15_000))[1]);
  const children: ChildProcess[] = [server];
  const previousStats = readFileSync('/proc/sys/kernel/bpf_stats_enabled', 'utf8').trim();
  try {
    log(`baseline: ${rate} req/s for ${seconds} s`);
    const baseline = await load(targetPort);

    execFileSync('sysctl', ['-q', '-w', 'kernel.bpf_stats_enabled=1']);
    // The floor and the sensor in turns: on a shared machine their ratio is steadier side by side.
    const floors: Awaited<ReturnType<typeof nullAgentPhase>>[] = [];
    const runs: SensorRun[] = [];
    for (let round = 1; round <= rounds; round++) {
      if (rounds > 1) log(`round ${round} of ${rounds}`);
      floors.push(await nullAgentPhase(loader, targetPort));
      runs.push(await sensorPhase(sinkPort, targetPort, children));
    }
    const floorPct = median(floors.map((f) => f.corePctPer1k));
    const sensorPct = median(runs.map((r) => r.corePctPer1k));
    const mid = runs.find((r) => r.corePctPer1k === sensorPct) ?? runs[Math.floor(runs.length / 2)];
    const done = runs.reduce((n, r) => n + r.warmupDone + r.result.done, 0);
    const perExchange = (cpuS: number): number => round((1e6 * cpuS) / (2 * mid.result.done), 2);
    const result = {
      bench: 'sensor',
      rate,
      seconds,
      rounds,
      baseline: { rps: round(baseline.rps), p50_ms: round(baseline.p50_ms, 3), p99_ms: round(baseline.p99_ms, 3), done: baseline.done, errors: baseline.errors },
      with_sensor: { rps: round(mid.result.rps), p50_ms: round(mid.result.p50_ms, 3), p99_ms: round(mid.result.p99_ms, 3), done: mid.result.done, errors: mid.result.errors },
      p50_change_pct: round((100 * (mid.result.p50_ms - baseline.p50_ms)) / baseline.p50_ms, 1),
      floor_p50_change_pct: round((100 * (median(floors.map((f) => f.result.p50_ms)) - baseline.p50_ms)) / baseline.p50_ms, 1),
      sensor_cpu_s: { agent: round(mid.cpu.agent, 3), agent_sys: round(mid.cpu.agentSys, 3), loader: round(mid.cpu.loader, 3), bpf: round(mid.cpu.bpf, 3), total: round(mid.total, 3) },
      // the median round's figure (each round: 2,000 req/s for `seconds` after a warm-up)
      sensor_core_pct_per_1k_rps: round(sensorPct, 2),
      sensor_core_pct_per_1k_rps_rounds: runs.map((r) => round(r.corePctPer1k, 2)),
      sensor_cpu_ms_per_1k_requests: round((1000 * mid.total) / (mid.result.done / 1000), 1),
      // per exchange (each request is seen from both sides: 2 exchanges), in µs of CPU
      us_per_exchange: { bpf: perExchange(mid.cpu.bpf), loader: perExchange(mid.cpu.loader), agent: perExchange(mid.cpu.agent) },
      floor_null_agent: {
        core_pct_per_1k_rps: round(floorPct, 2),
        core_pct_per_1k_rps_rounds: floors.map((f) => round(f.corePctPer1k, 2)),
        p50_ms: round(median(floors.map((f) => f.result.p50_ms)), 3),
        cpu_s: { reader: round(floors[0].cpu.reader, 3), loader: round(floors[0].cpu.loader, 3), bpf: round(floors[0].cpu.bpf, 3), total: round(floors[0].total, 3) },
        stream_mb: round(floors[0].bytes / 1e6, 1),
      },
      // The budget, 2% of a core per 1,000 req/s, is 20 µs of CPU per request; what the
      // floor leaves of it, per exchange.
      budget_us_per_exchange_above_floor: round((20 - (10 * floorPct)) / 2, 1),
      // Every round's requests, warm-ups included: each server span is counted once, whenever it arrives.
      requests_sent_with_sensor: done,
      requests_captured: serverSpans,
      requests_lost: Math.max(0, done - serverSpans),
      ringbuf_drops: runs.reduce((n, r) => n + r.ringbufDrops, 0),
      export_dropped: runs.reduce((n, r) => n + r.droppedExports, 0),
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    execFileSync('sysctl', ['-q', '-w', `kernel.bpf_stats_enabled=${previousStats}`]);
    await Promise.all(children.map(stopChild));
    sink.close();
  }
}

function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:sensor: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
