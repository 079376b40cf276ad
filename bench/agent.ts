/**
 * `npm run bench:agent`: the sensor's user space without BPF or root. Synthesizes the loader's
 * input record stream for the traffic bench:sensor drives (loadgen.mjs keep-alive GETs
 * `/items?q=load-N` against node-server.mjs, seen from both the client and the server side, plus
 * a few POSTs with JSON and form bodies carrying secrets, connection churn, stats records) and runs
 * it through the real pipeline: the loader's C engine (peregrine-sensor-replay: reassembly,
 * parsing, pairing, redaction, span encoding) feeding a real `Sensor` agent (process metadata,
 * batching, OTLP/HTTP protobuf export) that exports to a real sink in a child process (so the
 * sink's work is not counted). The sink decodes every export with otlp-transformer's protobufjs
 * root and checks the spans and that no secret arrives.
 *
 * Reports CPU per exchange of the engine (the replay process's own CPU) and of the agent (this
 * process during the measured replay), a warm-up replay first (the agent's JIT). At 2 exchanges
 * per request (client and server side) this is the user-space part of bench:sensor's figure;
 * BPF and the ring buffer are not in it. Last stdout line: one JSON object.
 *
 *   BENCH_REQUESTS (40000, measured)  BENCH_WARMUP (10000 requests)  BENCH_CONN_REQUESTS (250 per connection)
 *   BENCH_AGENT_REPLAY=FILE: replay a PEREGRINE_SENSOR_TAP capture instead of synthesizing (no warm-up).
 *   BENCH_AGENT_PROFILE=FILE.cpuprofile: a V8 CPU profile of the agent during the measured replay.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { createServer, type IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REALTIME_OFFSET_NS, RecordWriter, type Side } from '../ebpf/testing/records.ts';

const REQUEST_INTERVAL_NS = 500_000; // 2,000 req/s, as bench:sensor
const CONNECTIONS = 32; // loadgen's agent maxSockets
const CLIENT_PID = 3_000_001; // pids no process has: the ProcessTable's /proc look-up fails once, then is cached
const SERVER_PID = 3_000_002;
const SERVER_PORT = 18098;
const BOOT_NS = 2_600_000_000_000; // a monotonic clock some 40 minutes after boot
const SECRET = 'hunter2-secret-value';

const log = (msg: string): void => {
  process.stderr.write(`bench:agent: ${msg}\n`);
};

// ---------------------------------------------------------------------------------------------
// Synthesis of the loader's input: the layouts of ebpf/bpf/sensor.h (ebpf/testing/records.ts).

const HOST = `127.0.0.1:${SERVER_PORT}`;

function httpDate(wallMs: number): string {
  return new Date(wallMs).toUTCString();
}

function chunked(body: string): string {
  return `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n`;
}

/** Request and response bytes of request i, as Node's http client and node-server.mjs write them. */
function exchangeBytes(i: number, wallMs: number): { request: Buffer; response: Buffer } {
  const date = httpDate(wallMs);
  const kind = i % 100;
  if (kind === 37) {
    const body = JSON.stringify({ user: 'ada', password: SECRET, card: '4111 1111 1111 1111', note: `order ${i}`, items: [1, 2, 3] });
    return {
      request: Buffer.from(`POST /echo HTTP/1.1\r\nContent-Type: application/json\r\nHost: ${HOST}\r\nConnection: keep-alive\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`),
      response: Buffer.from(`HTTP/1.1 201 Created\r\ncontent-type: application/json\r\nDate: ${date}\r\nConnection: keep-alive\r\nKeep-Alive: timeout=30\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(body)}`),
    };
  }
  if (kind === 73) {
    const body = `user=bob&password=${SECRET}&token=tok-${i}&note=hello+world&card=4111111111111111`;
    return {
      request: Buffer.from(`POST /secrets/submit HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nAuthorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.${SECRET}\r\nHost: ${HOST}\r\nConnection: keep-alive\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`),
      response: Buffer.from(`HTTP/1.1 201 Created\r\ncontent-type: application/x-www-form-urlencoded\r\nDate: ${date}\r\nConnection: keep-alive\r\nKeep-Alive: timeout=30\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(body)}`),
    };
  }
  const body = JSON.stringify({ ok: true, q: `load-${i}`, marker: 'items-response-marker' });
  return {
    request: Buffer.from(`GET /items?q=load-${i} HTTP/1.1\r\nHost: ${HOST}\r\nConnection: keep-alive\r\n\r\n`),
    response: Buffer.from(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nDate: ${date}\r\nConnection: keep-alive\r\nKeep-Alive: timeout=30\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(body)}`),
  };
}

/** The record stream of `total` requests over CONNECTIONS keep-alive connections, deterministic. */
function synthesize(total: number, perConnection: number, first = 0): Buffer {
  const w = new RecordWriter();
  w.hello(REALTIME_OFFSET_NS);
  let nextId = 0x261b2cabdda + first * 4;
  let nextPort = 40000;
  let nextFd = 20;
  let dataEvents = 0;
  const open = (tsNs: number): { client: Side; server: Side; served: number; sent: number; received: number } => {
    const port = nextPort++;
    const fd = nextFd++;
    const client: Side = { pid: CLIENT_PID, fd, connId: nextId++, role: 1, localPort: port, remotePort: SERVER_PORT };
    const server: Side = { pid: SERVER_PID, fd, connId: nextId++, role: 2, localPort: SERVER_PORT, remotePort: port };
    w.conn('open', client, tsNs);
    w.conn('open', server, tsNs + 1_000);
    return { client, server, served: 0, sent: 0, received: 0 };
  };
  const conns = Array.from({ length: CONNECTIONS }, (_, i) => open(BOOT_NS + i * 10_000));
  let second = 0;
  for (let i = 0; i < total; i++) {
    const t = BOOT_NS + 1e6 + i * REQUEST_INTERVAL_NS;
    const wallMs = Number((REALTIME_OFFSET_NS + BigInt(t)) / 1_000_000n);
    const s = Math.floor((t - BOOT_NS) / 1e9);
    if (s > second) {
      second = s;
      w.stats(t, dataEvents);
    }
    const slot = i % CONNECTIONS;
    let c = conns[slot];
    if (c.served >= perConnection) {
      w.conn('close', c.client, t - 200_000, c.sent, c.received);
      w.conn('close', c.server, t - 190_000, c.received, c.sent);
      c = conns[slot] = open(t - 150_000);
    }
    const { request, response } = exchangeBytes(first + i, wallMs);
    w.data(c.client, t, 0, request);
    w.data(c.server, t + 25_000, 1, request);
    w.data(c.server, t + 90_000, 0, response);
    w.data(c.client, t + 120_000, 1, response);
    dataEvents += 4;
    c.served++;
    c.sent += request.length;
    c.received += response.length;
  }
  return Buffer.from(w.bytes());
}

// ---------------------------------------------------------------------------------------------
// The OTLP sink: a child process, so decoding and counting are not charged to the agent.

interface SinkReport {
  traceRequests: number;
  traceBytes: number;
  spans: number;
  invalidSpans: number;
  logRequests: number;
  logRecords: number;
  metricRequests: number;
  secretLeaks: number;
  httpMethods: Record<string, number>;
  sample?: unknown;
  problems: string[];
}

async function runSink(): Promise<void> {
  const require = createRequire(import.meta.url);
  const { exportLogsServiceRequestType } = await import('../ingest/otlp/proto-types.ts');
  const logsType = exportLogsServiceRequestType();
  const root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js');
  const v1 = root.opentelemetry.proto.collector;
  const report: SinkReport = { traceRequests: 0, traceBytes: 0, spans: 0, invalidSpans: 0, logRequests: 0, logRecords: 0, metricRequests: 0, secretLeaks: 0, httpMethods: {}, problems: [] };
  const secret = Buffer.from(SECRET);
  const server = createServer((req: IncomingMessage, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      try {
        if (body.includes(secret)) report.secretLeaks++;
        if (req.url === '/v1/traces') {
          report.traceRequests++;
          report.traceBytes += body.length;
          const decoded = v1.trace.v1.ExportTraceServiceRequest.decode(body);
          for (const rs of decoded.resourceSpans) {
            for (const ss of rs.scopeSpans) {
              for (const s of ss.spans) {
                report.spans++;
                const attrs = new Map<string, { stringValue?: string }>(s.attributes.map((a: { key: string; value: { stringValue?: string } }) => [a.key, a.value]));
                const method = attrs.get('http.request.method')?.stringValue;
                const ok = s.traceId.length === 16 && s.spanId.length === 8 && s.name && method && Number(s.endTimeUnixNano) >= Number(s.startTimeUnixNano) && Number(s.startTimeUnixNano) > 1.7e18;
                if (!ok) report.invalidSpans++;
                if (method) report.httpMethods[method] = (report.httpMethods[method] ?? 0) + 1;
                if (!report.sample && method === 'POST') report.sample = s.toJSON();
              }
            }
          }
        } else if (req.url === '/v1/logs') {
          report.logRequests++;
          const decoded = logsType.decode(body);
          for (const rl of decoded.resourceLogs) for (const sl of rl.scopeLogs) report.logRecords += sl.logRecords.length;
        } else if (req.url === '/v1/metrics') {
          report.metricRequests++;
          v1.metrics.v1.ExportMetricsServiceRequest.decode(body);
        }
      } catch (e) {
        if (report.problems.length < 5) report.problems.push(`${req.url}: ${(e as Error).message}`);
      }
      res.writeHead(200, { 'content-type': 'application/x-protobuf' });
      res.end();
    });
  });
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as { port: number }).port }));
  process.on('message', (m: { report?: boolean }) => {
    if (m.report) process.send!({ report }, () => server.close(() => process.exit(0)));
  });
}

function startSink(): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(fileURLToPath(import.meta.url), ['--sink'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolvePort, reject) => {
    child.once('message', (m: { port: number }) => resolvePort({ child, port: m.port }));
    child.once('exit', (code) => reject(new Error(`the sink exited (${code}) before listening`)));
  });
}

function sinkReport(child: ChildProcess): Promise<SinkReport> {
  return new Promise((resolveReport) => {
    child.on('message', (m: { report?: SinkReport }) => {
      if (m.report) resolveReport(m.report);
    });
    child.send({ report: true });
  });
}

// ---------------------------------------------------------------------------------------------

const cpuMicros = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

interface ReplayRun {
  exchanges: number;
  exportedSpans: number;
  droppedExports: number;
  exportFailures: number;
  agentCpuUs: number;
  agentSysUs: number;
  engineCpuUs: number;
  wallS: number;
}

/** One replay of `file` through the engine and a Sensor exporting to the sink. */
async function replay(file: string, sinkPort: number, profileFile?: string): Promise<ReplayRun> {
  const { Sensor } = await import('../ebpf/agent/sensor.ts');
  const sensor = new Sensor({ output: { kind: 'otlp', endpoint: `http://127.0.0.1:${sinkPort}` }, replay: file });
  const profiler = profileFile ? new Session() : undefined;
  if (profiler) {
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
  }
  const wall0 = process.hrtime.bigint();
  const cpu0 = cpuMicros();
  const sys0 = process.cpuUsage().system;
  await sensor.start();
  await sensor.whenExited();
  const stats = await sensor.stop();
  const agentCpuUs = cpuMicros() - cpu0;
  const agentSysUs = process.cpuUsage().system - sys0;
  const wallS = Number(process.hrtime.bigint() - wall0) / 1e9;
  if (profiler) {
    const { profile } = await profiler.post('Profiler.stop');
    writeFileSync(profileFile!, JSON.stringify(profile));
    profiler.disconnect();
    log(`CPU profile of the agent: ${profileFile} (its CPU figure includes the profiler)`);
  }
  return {
    exchanges: stats.exchanges, exportedSpans: stats.exportedSpans, droppedExports: stats.droppedExports, exportFailures: stats.exportFailures,
    agentCpuUs, agentSysUs, engineCpuUs: (stats.loader?.loaderCpuNs ?? 0) / 1e3, wallS,
  };
}

async function main(): Promise<void> {
  const measured = Number(process.env.BENCH_REQUESTS ?? 40_000);
  const warmupRequests = Number(process.env.BENCH_WARMUP ?? 10_000);
  const perConnection = Number(process.env.BENCH_CONN_REQUESTS ?? 250);
  const replayFile = process.env.BENCH_AGENT_REPLAY;
  const { buildReplay } = await import('../ebpf/testing/native.ts');
  const unbuilt = buildReplay();
  if (unbuilt) throw new Error(unbuilt);

  const dir = mkdtempSync(join(tmpdir(), 'peregrine-bench-agent-'));
  const warmupFile = join(dir, 'warmup.bin');
  const measuredFile = replayFile ?? join(dir, 'measured.bin');
  if (!replayFile) {
    writeFileSync(warmupFile, synthesize(warmupRequests, perConnection));
    writeFileSync(measuredFile, synthesize(measured, perConnection, warmupRequests));
  }
  const streamBytes = statSync(measuredFile).size;
  log(`${replayFile ? `replaying ${replayFile}` : `synthesized ${warmupRequests} + ${measured} requests`}: ${(streamBytes / 1e6).toFixed(1)} MB of records measured`);

  const sink = await startSink();
  try {
    if (!replayFile && warmupRequests > 0) await replay(warmupFile, sink.port);
    const run = await replay(measuredFile, sink.port, process.env.BENCH_AGENT_PROFILE);
    const report = await sinkReport(sink.child);

    const problems = [...report.problems];
    const expectedExchanges = replayFile ? undefined : 2 * measured;
    if (expectedExchanges !== undefined && run.exchanges !== expectedExchanges) problems.push(`expected ${expectedExchanges} exchanges, saw ${run.exchanges}`);
    if (report.invalidSpans) problems.push(`${report.invalidSpans} invalid spans`);
    if (report.secretLeaks) problems.push(`${report.secretLeaks} exports carried the secret`);
    if (run.droppedExports || run.exportFailures) problems.push(`${run.droppedExports} spans/logs dropped, ${run.exportFailures} failed exports`);
    if (report.sample) log(`sample POST span: ${JSON.stringify(report.sample).slice(0, 600)}…`);
    for (const p of problems) log(`PROBLEM: ${p}`);

    const per = (us: number): number => (run.exchanges ? Math.round((us / run.exchanges) * 100) / 100 : 0);
    // At 2 exchanges per request (client and server side), 1,000 req/s are 2,000 exchanges/s.
    const pctPer1k = (us: number): number => (run.exchanges ? Math.round(((us / run.exchanges) * 2000) / 1e4 * 100) / 100 : 0);
    const result = {
      bench: 'agent',
      source: replayFile ? 'replay' : 'synthetic',
      stream_mb: Math.round(streamBytes / 1e4) / 100,
      exchanges: run.exchanges,
      engine_cpu_us_per_exchange: per(run.engineCpuUs),
      agent_cpu_us_per_exchange: per(run.agentCpuUs),
      agent_sys_us_per_exchange: per(run.agentSysUs),
      user_space_cpu_us_per_exchange: per(run.engineCpuUs + run.agentCpuUs),
      engine_core_pct_per_1k_rps: pctPer1k(run.engineCpuUs),
      agent_core_pct_per_1k_rps: pctPer1k(run.agentCpuUs),
      user_space_core_pct_per_1k_rps: pctPer1k(run.engineCpuUs + run.agentCpuUs),
      measured_wall_s: Math.round(run.wallS * 100) / 100,
      exchanges_per_wall_s: Math.round(run.exchanges / run.wallS),
      spans_exported: run.exportedSpans,
      spans_verified: report.spans - report.invalidSpans,
      span_bytes_avg: report.spans ? Math.round(report.traceBytes / report.spans) : 0,
      trace_requests: report.traceRequests,
      log_records: report.logRecords,
      http_methods: report.httpMethods,
      secret_leaks: report.secretLeaks,
      export_failures: run.exportFailures,
      dropped_exports: run.droppedExports,
      ok: problems.length === 0,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    if (problems.length) process.exitCode = 1;
  } finally {
    sink.child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--sink')) {
  void runSink();
} else if (process.argv.includes('--write-stream')) {
  // `bench/agent.ts --write-stream FILE`: the synthetic stream alone (to profile the engine with perf).
  writeFileSync(process.argv[process.argv.indexOf('--write-stream') + 1], synthesize(Number(process.env.BENCH_REQUESTS ?? 40_000), 250));
} else {
  main().catch((e: unknown) => {
    log(`failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    process.exit(1);
  });
}
