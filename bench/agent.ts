/**
 * `npm run bench:agent`: the eBPF sensor's TypeScript agent alone, no root, no BPF. Synthesizes the
 * loader's frame stream for the traffic bench:sensor drives (loadgen.mjs keep-alive GETs
 * `/items?q=load-N` against node-server.mjs, seen from both the client and the server side, plus a
 * few POSTs with JSON and form bodies carrying secrets, connection churn, stats records), feeds it
 * in 64 KiB chunks (yielding to the event loop between chunks, as a pipe would) through a real
 * `Sensor` exporting OTLP/HTTP protobuf to a real sink in a child process (so the sink's work is
 * not counted). The sink decodes every export with otlp-transformer's protobufjs root and checks the
 * spans. Reports the agent's CPU per exchange over the measured phase (warm-up excluded).
 * Last stdout line: one JSON object.
 *
 *   BENCH_REQUESTS (30000, measured)  BENCH_WARMUP (10000 requests)  BENCH_CONN_REQUESTS (250 per connection)
 *   BENCH_AGENT_REPLAY=FILE: replay a PEREGRINE_SENSOR_TAP capture instead of synthesizing (no warm-up split).
 *   BENCH_AGENT_PROFILE=FILE.cpuprofile: a V8 CPU profile of the measured phase only.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { createServer, type IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const CHUNK = 64 * 1024;
const REQUEST_INTERVAL_NS = 500_000; // 2,000 req/s, as bench:sensor
const CONNECTIONS = 32; // loadgen's agent maxSockets
const CLIENT_PID = 3_000_001; // pids no process has: the ProcessTable's /proc look-up fails once, then is cached
const SERVER_PID = 3_000_002;
const SERVER_PORT = 18098;
const BOOT_NS = 2_600_000_000_000; // a monotonic clock some 40 minutes after boot
const REALTIME_OFFSET_NS = 1_796_109_142_852_927_764n;
const SECRET = 'hunter2-secret-value';

const log = (msg: string): void => {
  process.stderr.write(`bench:agent: ${msg}\n`);
};

// ---------------------------------------------------------------------------------------------
// Frame synthesis: the layouts of ebpf/bpf/sensor.h (as ebpf/agent/frames.ts decodes them).

class FrameWriter {
  private buf = Buffer.alloc(1 << 20);
  private len = 0;

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  get length(): number {
    return this.len;
  }

  /** Appends `[u32 length][record]` and returns the record's bytes to fill (zeroed). */
  frame(size: number): Buffer {
    this.room(4 + size);
    this.buf.writeUInt32LE(size, this.len);
    const rec = this.buf.subarray(this.len + 4, this.len + 4 + size);
    rec.fill(0);
    this.len += 4 + size;
    return rec;
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

function writeU64(rec: Buffer, off: number, v: number): void {
  rec.writeUInt32LE(v % 4294967296, off);
  rec.writeUInt32LE(Math.floor(v / 4294967296), off + 4);
}

function recordHeader(rec: Buffer, type: number, pid: number, fd: number, tsNs: number, connId: number): void {
  rec.writeUInt32LE(type, 0);
  rec.writeUInt32LE(pid, 4);
  rec.writeUInt32LE(pid, 8);
  rec.writeInt32LE(fd, 12);
  writeU64(rec, 16, tsNs);
  writeU64(rec, 24, connId);
}

function hello(w: FrameWriter): void {
  const rec = w.frame(24);
  rec.writeUInt32LE(100, 0);
  rec.writeUInt32LE(1, 4);
  rec.writeBigUInt64LE(REALTIME_OFFSET_NS, 8);
  rec.writeUInt32LE(4096, 16);
  rec.writeUInt32LE(4242, 20);
}

function stats(w: FrameWriter, monoNs: number, dataEvents: number): void {
  const n = 8;
  const rec = w.frame(8 + n * 8 + 32);
  rec.writeUInt32LE(101, 0);
  rec.writeUInt32LE(n, 4);
  writeU64(rec, 8 + 8, dataEvents);
  const tail = 8 + n * 8;
  writeU64(rec, tail, monoNs / 100); // loader CPU: 1%
  writeU64(rec, tail + 8, dataEvents * 4000);
  writeU64(rec, tail + 16, dataEvents * 2);
  writeU64(rec, tail + 24, monoNs);
}

interface Side { pid: number; fd: number; connId: number; role: 1 | 2; localPort: number; remotePort: number }

function conn(w: FrameWriter, type: 2 | 3, side: Side, tsNs: number, sent = 0, received = 0): void {
  const rec = w.frame(112);
  recordHeader(rec, type, side.pid, side.fd, tsNs, side.connId);
  writeU64(rec, 32, sent);
  writeU64(rec, 40, received);
  writeU64(rec, 48, 1);
  rec.writeUInt16LE(2, 56);
  rec.writeUInt16LE(side.localPort, 58);
  rec.writeUInt16LE(side.remotePort, 60);
  rec[62] = side.role;
  Buffer.from([127, 0, 0, 1]).copy(rec, 64);
  Buffer.from([127, 0, 0, 1]).copy(rec, 80);
  rec.write('node', 96);
}

function data(w: FrameWriter, side: Side, tsNs: number, direction: 0 | 1, payload: Buffer): void {
  const rec = w.frame(72 + payload.length);
  recordHeader(rec, 1, side.pid, side.fd, tsNs, side.connId);
  rec.writeUInt32LE(payload.length, 40); // size
  rec.writeUInt32LE(payload.length, 44); // captured
  rec[48] = direction; // 0 egress, 1 ingress
  rec[49] = 0; // syscall
  rec[50] = side.role;
  rec.write('node', 56);
  payload.copy(rec, 72);
}

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

interface Stream {
  bytes: Buffer;
  /** Byte offset where the measured phase begins (the warm-up ends). */
  measuredFrom: number;
  /** Byte offsets at which a simulated second ends: the sensor's export timer would fire there. */
  seconds: number[];
  requests: number;
}

/** The record stream of `total` requests over CONNECTIONS keep-alive connections, deterministic. */
function synthesize(total: number, warmup: number, perConnection: number): Stream {
  const w = new FrameWriter();
  hello(w);
  const seconds: number[] = [];
  let measuredFrom = 0;
  let nextId = 0x261b2cabdda;
  let nextPort = 40000;
  let nextFd = 20;
  let dataEvents = 0;
  const open = (tsNs: number): { client: Side; server: Side; served: number; sent: number; received: number } => {
    const port = nextPort++;
    const fd = nextFd++;
    const client: Side = { pid: CLIENT_PID, fd, connId: nextId++, role: 1, localPort: port, remotePort: SERVER_PORT };
    const server: Side = { pid: SERVER_PID, fd, connId: nextId++, role: 2, localPort: SERVER_PORT, remotePort: port };
    conn(w, 2, client, tsNs);
    conn(w, 2, server, tsNs + 1_000);
    return { client, server, served: 0, sent: 0, received: 0 };
  };
  const conns = Array.from({ length: CONNECTIONS }, (_, i) => open(BOOT_NS + i * 10_000));
  let second = 0;
  for (let i = 0; i < warmup + total; i++) {
    if (i === warmup) measuredFrom = w.length;
    const t = BOOT_NS + 1e6 + i * REQUEST_INTERVAL_NS;
    const wallMs = Number((REALTIME_OFFSET_NS + BigInt(t)) / 1_000_000n);
    const s = Math.floor((t - BOOT_NS) / 1e9);
    if (s > second) {
      second = s;
      stats(w, t, dataEvents);
      seconds.push(w.length);
    }
    const slot = i % CONNECTIONS;
    let c = conns[slot];
    if (c.served >= perConnection) {
      conn(w, 3, c.client, t - 200_000, c.sent, c.received);
      conn(w, 3, c.server, t - 190_000, c.received, c.sent);
      c = conns[slot] = open(t - 150_000);
    }
    const { request, response } = exchangeBytes(i, wallMs);
    data(w, c.client, t, 0, request);
    data(w, c.server, t + 25_000, 1, request);
    data(w, c.server, t + 90_000, 0, response);
    data(w, c.client, t + 120_000, 1, response);
    dataEvents += 4;
    c.served++;
    c.sent += request.length;
    c.received += response.length;
  }
  return { bytes: w.bytes(), measuredFrom, seconds, requests: total };
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

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor(sorted.length / 2)] : 0;
}

const cpuMicros = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

async function main(): Promise<void> {
  const measured = Number(process.env.BENCH_REQUESTS ?? 30_000);
  const warmupRequests = Number(process.env.BENCH_WARMUP ?? 10_000);
  const perConnection = Number(process.env.BENCH_CONN_REQUESTS ?? 250);
  const replay = process.env.BENCH_AGENT_REPLAY;

  const stream: Stream = replay
    ? { bytes: readFileSync(replay), measuredFrom: 0, seconds: [], requests: 0 }
    : synthesize(measured, warmupRequests, perConnection);
  log(`${replay ? `replaying ${replay}` : `synthesized ${warmupRequests} + ${measured} requests`}: ${(stream.bytes.length / 1e6).toFixed(1)} MB of frames`);

  const sink = await startSink();
  const { Sensor } = await import('../ebpf/agent/sensor.ts');
  const sensor = new Sensor({ output: { kind: 'otlp', endpoint: `http://127.0.0.1:${sink.port}` }, tlsTargets: [] });

  let nextSecond = 0;
  const feed = async (from: number, to: number): Promise<void> => {
    for (let off = from; off < to; off += CHUNK) {
      const end = Math.min(to, off + CHUNK);
      sensor.feed(stream.bytes.subarray(off, end));
      // The sensor's export timer, in stream time: one flush per simulated second. Awaited, as a
      // real second leaves the export time to finish: the replay runs faster than real time, and
      // would otherwise overflow the span queue (dropped spans would flatter the figure).
      if (nextSecond < stream.seconds.length && end >= stream.seconds[nextSecond]) {
        while (nextSecond < stream.seconds.length && end >= stream.seconds[nextSecond]) nextSecond++;
        await sensor.flush();
      }
      await new Promise<void>((r) => setImmediate(r)); // a pipe delivers one chunk per event-loop turn
    }
  };

  await feed(0, stream.measuredFrom);
  await sensor.flush();
  const exchanges0 = sensor.stats.exchanges;
  const spans0 = sensor.stats.exportedSpans;
  const profileFile = process.env.BENCH_AGENT_PROFILE;
  const profiler = profileFile ? new Session() : undefined;
  if (profiler) {
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
  }
  const wall0 = process.hrtime.bigint();
  const cpu0 = cpuMicros();
  // The measured phase in five slices too: on a shared machine their median is steadier than the total.
  const slices: number[] = [];
  const sliceBytes = Math.ceil((stream.bytes.length - stream.measuredFrom) / CHUNK / 5) * CHUNK;
  for (let from = stream.measuredFrom; from < stream.bytes.length; from += sliceBytes) {
    const c = cpuMicros();
    const e = sensor.stats.exchanges;
    await feed(from, Math.min(stream.bytes.length, from + sliceBytes));
    await sensor.flush();
    if (sensor.stats.exchanges > e) slices.push((cpuMicros() - c) / (sensor.stats.exchanges - e));
  }
  const cpuUs = cpuMicros() - cpu0;
  const wallS = Number(process.hrtime.bigint() - wall0) / 1e9;
  if (profiler) {
    const { profile } = await profiler.post('Profiler.stop');
    writeFileSync(profileFile!, JSON.stringify(profile));
    profiler.disconnect();
    log(`CPU profile of the measured phase: ${profileFile} (its CPU figure includes the profiler)`);
  }
  const exchanges = sensor.stats.exchanges - exchanges0;
  const spansMeasured = sensor.stats.exportedSpans - spans0;
  const stats = await sensor.stop();
  const report = await sinkReport(sink.child);

  const usPerExchange = exchanges ? cpuUs / exchanges : 0;
  const expectedExchanges = replay ? undefined : 2 * measured;
  const problems = [...report.problems];
  if (expectedExchanges !== undefined && exchanges !== expectedExchanges) problems.push(`expected ${expectedExchanges} exchanges, saw ${exchanges}`);
  if (report.spans !== stats.exportedSpans) problems.push(`sensor exported ${stats.exportedSpans} spans, sink decoded ${report.spans}`);
  if (report.invalidSpans) problems.push(`${report.invalidSpans} invalid spans`);
  if (report.secretLeaks) problems.push(`${report.secretLeaks} exports carried the secret`);
  if (stats.droppedExports || stats.exportFailures) problems.push(`${stats.droppedExports} spans/logs dropped, ${stats.exportFailures} failed exports`);
  if (report.sample) log(`sample POST span: ${JSON.stringify(report.sample).slice(0, 600)}…`);
  for (const p of problems) log(`PROBLEM: ${p}`);

  const result = {
    bench: 'agent',
    source: replay ? 'replay' : 'synthetic',
    stream_mb: Math.round(stream.bytes.length / 1e4) / 100,
    exchanges,
    agent_cpu_us_per_exchange: Math.round(usPerExchange * 100) / 100,
    slice_median_us_per_exchange: Math.round(median(slices) * 100) / 100,
    slices_us_per_exchange: slices.map((x) => Math.round(x * 10) / 10),
    // At 2 exchanges per request (client and server side), 1,000 req/s are 2,000 exchanges/s.
    agent_core_pct_per_1k_rps: Math.round(usPerExchange * 2000 / 1e6 * 100 * 100) / 100,
    measured_cpu_s: Math.round(cpuUs / 1e4) / 100,
    measured_wall_s: Math.round(wallS * 100) / 100,
    exchanges_per_wall_s: Math.round(exchanges / wallS),
    spans_exported_total: stats.exportedSpans,
    spans_exported_measured: spansMeasured,
    spans_verified: report.spans - report.invalidSpans,
    span_bytes_avg: report.spans ? Math.round(report.traceBytes / report.spans) : 0,
    trace_requests: report.traceRequests,
    log_records: report.logRecords,
    metric_requests: report.metricRequests,
    http_methods: report.httpMethods,
    secret_leaks: report.secretLeaks,
    export_failures: stats.exportFailures,
    dropped_exports: stats.droppedExports,
    ok: problems.length === 0,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  if (problems.length) process.exitCode = 1;
}

if (process.argv.includes('--sink')) {
  void runSink();
} else {
  main().catch((e: unknown) => {
    log(`failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    process.exit(1);
  });
}
