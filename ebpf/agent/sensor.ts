/**
 * The node sensor's agent: runs the libbpf loader as a child and orchestrates around it. The loader
 * does the per-exchange work in C (ebpf/loader/: reassembly, HTTP parsing, pairing, redaction,
 * span encoding) and hands over batches of encoded spans or Pixie rows; the agent adds the
 * process metadata (/proc: the resource of each process), decides when to export, exports
 * OTLP/HTTP with retry (spans, metrics, logs of execs and connections) or writes Pixie
 * `http_events` JSON lines. Replays (a PEREGRINE_SENSOR_TAP capture, bench:agent) run the same
 * engine without BPF (peregrine-sensor-replay).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, createWriteStream, type WriteStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { PeregrineError, errorMessage } from '../../core/errors.ts';
import { logger } from '../../core/log.ts';
import { FrameDecoder, type ConnRecord, type EngineStats, type ExecRecord, type RowBatchRecord, type SensorRecord, type SpanBatchRecord, type StatsRecord, type Endpoint } from './frames.ts';
import { connKey, type TrackerCounters } from './connections.ts';
import { upid, type PixieHttpEvent, type ProcessInfo } from './records.ts';
import { DEFAULT_REDACTION, type RedactionConfig } from '../../core/redaction/redact.ts';
import { TraceRequestBuilder, encodeLogs, encodeMetrics, encodeResource, processResource, type LogItem, type MetricPoint, type ResourceGroup, type TraceRequest } from './otlp.ts';
import { ProcessTable, discoverTlsTargets } from './process-info.ts';
import { SELF_HEADER } from './reference.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_LOADER = resolve(here, '../build/peregrine-sensor');
/** The loader's engine without BPF: replays a record stream (`make -C ebpf replay`). */
export const DEFAULT_REPLAY = resolve(here, '../build/peregrine-sensor-replay');
export { SELF_HEADER };

/** BPF cannot run here (permission, BTF, tracefs) or the loader is not built. */
export class SensorUnavailableError extends PeregrineError {
  constructor(message: string) {
    super(message, { retryable: false });
  }
}

/**
 * Where the sensor sends what it sees. OTLP: `headers` go with every export (e.g. the receiver's
 * `Authorization: Bearer …`; never logged), `ca` is a PEM bundle trusted for an https endpoint.
 */
export type SensorOutput =
  | { kind: 'otlp'; endpoint: string; headers?: Record<string, string>; ca?: string }
  | { kind: 'pixie'; file: string };

export interface SensorOptions {
  output: SensorOutput;
  bodyBytes: number;
  captureBytes: number;
  loaderPath: string;
  /** 'auto' discovers libssl and node binaries; a list replaces discovery; [] disables TLS. */
  tlsTargets: 'auto' | string[];
  extraTlsTargets: string[];
  redaction: RedactionConfig;
  exportIntervalMs: number;
  metricsIntervalMs: number;
  connectionLogs: boolean;
  excludePids: number[];
  ringbufMb: number;
  /**
   * Instead of BPF: a record stream (what PEREGRINE_SENSOR_TAP keeps, or a synthesized one) run
   * through the loader's engine (`replayBinary`). No root needed; the stream's pace is the agent's.
   */
  replay?: string;
  replayBinary: string;
  /** Connections idle this long are dropped (their unanswered requests counted). */
  idleTimeoutMs: number;
  maxConnections: number;
  /** Called with every exported exchange (after redaction) — for tests and the bench. */
  onRow?: (row: PixieHttpEvent) => void;
  /** Called with every exec (args already redacted). */
  onExec?: (proc: ProcessInfo) => void;
}

export const DEFAULT_SENSOR_OPTIONS: Omit<SensorOptions, 'output'> = {
  bodyBytes: 4096,
  captureBytes: 4096,
  loaderPath: DEFAULT_LOADER,
  tlsTargets: 'auto',
  extraTlsTargets: [],
  redaction: DEFAULT_REDACTION,
  exportIntervalMs: 1000,
  metricsIntervalMs: 10_000,
  connectionLogs: true,
  excludePids: [],
  ringbufMb: 16,
  replayBinary: DEFAULT_REPLAY,
  idleTimeoutMs: 300_000,
  maxConnections: 16_384,
};

export interface SensorStats {
  /** Records the agent read from the loader. */
  records: number;
  /** Exchanges exported (spans or rows), as the loader's batches bring them. */
  exchanges: number;
  execs: number;
  connectionsOpened: number;
  connectionsClosed: number;
  loader?: StatsRecord;
  /** The engine's reassembly counters, from the loader's latest stats record. */
  tracker: TrackerCounters;
  exportedSpans: number;
  exportFailures: number;
  droppedExports: number;
  pixieRows: number;
  tlsTargets: string[];
}

const MAX_QUEUED_SPANS = 20_000;
const MAX_QUEUED_LOGS = 20_000;
const SPAN_BATCH = 2048;
/** A request is sealed past this size too: receivers cap bodies (Peregrine's at 8 MiB by default). */
const MAX_REQUEST_BYTES = 4 << 20;
/** Exchanges per batch the loader hands over (it also hands over what it has every 100 ms). */
const LOADER_BATCH = 1024;

/** The loader's output is read into this one buffer, over and over (see outputChannel). */
const READ_BUFFER_BYTES = 4 << 20;

/**
 * A connected pair of local sockets: one end becomes the loader's stdout, the other is read with
 * `onread` into one reused buffer — a pipe from spawn() would allocate a Buffer per 64 KiB read,
 * and at megabytes per second of spans that garbage costs the agent more than everything else.
 */
async function outputChannel(onData: (n: number, buf: Buffer) => boolean): Promise<{ childEnd: Socket; reader: Socket }> {
  const path = `\0peregrine-sensor-${process.pid}-${randomBytes(8).toString('hex')}`; // abstract: no file to clean up
  const server = createServer();
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(path, resolveListen);
  });
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const reader = connect({ path, onread: { buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES), callback: onData } });
  const [childEnd] = await accepted;
  server.close();
  return { childEnd, reader };
}

function zeroCounters(): TrackerCounters {
  return {
    exchanges: 0, unparseable: 0, nonHttpConnections: 0, http2Connections: 0, tlsCiphertextChunks: 0,
    unansweredRequests: 0, unmatchedResponses: 0, pendingOverflow: 0, evictedConnections: 0,
    expiredConnections: 0, ignoredBytes: 0,
  };
}

function trackerCounters(e: EngineStats): TrackerCounters {
  const counters = zeroCounters();
  for (const key of Object.keys(counters) as Array<keyof TrackerCounters>) counters[key] = key === 'exchanges' ? e.pairedExchanges : e[key];
  return counters;
}

interface OpenConn { local?: Endpoint; remote?: Endpoint; role: string; comm: string; openedNs: number }

export class Sensor {
  private readonly options: SensorOptions;
  /** The OTLP endpoint's connection pool (trusting `output.ca` when given). */
  private readonly exportAgent?: HttpAgent;
  private readonly log = logger().child({ component: 'ebpf-sensor' });
  private child?: ChildProcess;
  private output?: Socket;
  private readonly decoder = new FrameDecoder();
  private readonly processes: ProcessTable;
  private readonly startWallNs = BigInt(Date.now()) * 1_000_000n;
  private readonly node = { hostName: hostname() };
  /** The export request being filled with the loader's span batches. */
  private readonly traces = new TraceRequestBuilder();
  /** Requests ready to go (or to go again), oldest first. */
  private ready: TraceRequest[] = [];
  private queuedSpans = 0;
  /** Each process's encoded Resource, for the ProcessInfo it was made from. */
  private readonly resources = new Map<number, { proc: ProcessInfo; bytes: Buffer }>();
  private logQueue: Array<{ pid: number; item: LogItem }> = [];
  private readonly openConns = new Map<string, OpenConn>();
  private readonly connTotals = new Map<string, { comm: string; role: string; opened: number; closed: number; sent: number; received: number }>();
  private pixie?: WriteStream;
  private timers: NodeJS.Timeout[] = [];
  private exporting: Promise<void> = Promise.resolve();
  private stopping = false;
  private helloSeen = false;
  private realtimeOffsetNs = 0n;
  private exited?: Promise<number | null>;
  private loaderExitCode: number | null | undefined;
  private stderrTail: string[] = [];
  private fatal?: Error;
  readonly stats: SensorStats;

  constructor(options: Partial<SensorOptions> & { output: SensorOutput }) {
    this.options = { ...DEFAULT_SENSOR_OPTIONS, ...options };
    const { output } = this.options;
    if (output.kind === 'otlp') {
      this.exportAgent = output.endpoint.startsWith('https:') ? new HttpsAgent({ keepAlive: true, ca: output.ca }) : new HttpAgent({ keepAlive: true });
    }
    this.processes = new ProcessTable(this.options.redaction);
    this.stats = {
      records: 0, exchanges: 0, execs: 0, connectionsOpened: 0, connectionsClosed: 0, tracker: zeroCounters(),
      exportedSpans: 0, exportFailures: 0, droppedExports: 0, pixieRows: 0, tlsTargets: [],
    };
  }

  /** The engine's connection table as of the loader's latest stats record. */
  get tracker(): { size: number; counters: TrackerCounters } {
    return { size: this.stats.loader?.engine?.trackedConnections ?? 0, counters: this.stats.tracker };
  }

  /** What the engine should make of each exchange: rows for Pixie output and onRow, spans for OTLP. */
  private engineArgs(): string[] {
    const o = this.options;
    const emit = [o.output.kind === 'otlp' ? 'spans' : '', o.output.kind === 'pixie' || o.onRow ? 'rows' : ''].filter(Boolean).join(',');
    const args = ['--body-bytes', String(o.bodyBytes), '--idle-timeout-ms', String(o.idleTimeoutMs), '--max-connections', String(o.maxConnections),
      '--emit', emit, '--batch', String(LOADER_BATCH)];
    // The engine compares names as the reference does: header names lower-cased, field names normalized.
    for (const h of o.redaction.headers) args.push('--redact-header', h.toLowerCase());
    for (const f of o.redaction.fields) args.push('--redact-field', f.toLowerCase().replace(/[^a-z0-9]/g, ''));
    return args;
  }

  /** Starts the loader; resolves once the BPF programs are attached and streaming. */
  async start(): Promise<void> {
    const { replay } = this.options;
    const program = replay ? this.options.replayBinary : this.options.loaderPath;
    if (!existsSync(program)) {
      throw new SensorUnavailableError(`the sensor's loader is not built (${program} missing): run \`bash ebpf/install-deps.sh && make -C ebpf\``);
    }
    if (this.options.output.kind === 'pixie') this.pixie = createWriteStream(this.options.output.file, { flags: 'a' });

    let args: string[];
    if (replay) {
      args = [...this.engineArgs(), replay];
    } else {
      const tls = this.options.tlsTargets === 'auto' ? discoverTlsTargets() : this.options.tlsTargets;
      this.stats.tlsTargets = [...new Set([...tls, ...this.options.extraTlsTargets])];
      args = ['--capture-bytes', String(this.options.captureBytes), '--ringbuf-mb', String(this.options.ringbufMb), ...this.engineArgs()];
      for (const t of this.stats.tlsTargets) args.push('--tls-target', t);
      for (const p of this.options.excludePids) args.push('--exclude-pid', String(p));
      // PEREGRINE_SENSOR_TAP=FILE keeps the raw record stream, to replay a problem offline.
      if (process.env.PEREGRINE_SENSOR_TAP) args.push('--tap', process.env.PEREGRINE_SENSOR_TAP);
    }

    let started = false;
    let helloResolve = (): void => undefined;
    const { childEnd, reader } = await outputChannel((n, buf) => {
      try {
        this.feed(buf.subarray(0, n));
      } catch (e) {
        this.fatal = e as Error;
        this.log.error({ err: errorMessage(e) }, 'sensor stream out of sync, stopping');
        this.child?.kill('SIGTERM');
      }
      if (this.helloSeen && !started) {
        started = true;
        helloResolve();
      }
      // A replay goes as fast as the engine can: the agent's queue sets its pace instead.
      if (replay && this.queuedSpans >= 2 * SPAN_BATCH) {
        void this.flush().then(() => reader.resume());
        return false;
      }
      return true;
    });
    this.output = reader;
    const child = spawn(program, args, { stdio: ['ignore', childEnd, 'pipe'] });
    childEnd.destroy(); // the child has its own copy: its exit closes the channel
    this.child = child;
    this.exited = new Promise((resolveExit) => {
      child.once('exit', (code) => {
        this.loaderExitCode = code;
        resolveExit(code);
      });
      child.once('error', (e) => {
        this.fatal = e;
        this.loaderExitCode = -1;
        resolveExit(-1);
      });
    });
    createInterface({ input: child.stderr! }).on('line', (line) => {
      this.stderrTail.push(line);
      if (this.stderrTail.length > 20) this.stderrTail.shift();
      if (!/^libbpf:|^\d+: |^;/.test(line)) this.log.info({ loader: true }, line.replace(/^peregrine-sensor: /, ''));
    });

    const hello = new Promise<void>((resolveHello, rejectHello) => {
      helloResolve = resolveHello;
      if (started) resolveHello();
      void this.exited!.then((code) => {
        if (!started) {
          const reason = this.stderrTail.filter((l) => /BPF unavailable|cannot|failed/.test(l)).pop() ?? this.stderrTail.pop() ?? '';
          const text = reason.replace(/^peregrine-sensor: /, '') || `the loader exited with code ${code}`;
          rejectHello(code === 3 ? new SensorUnavailableError(text) : new PeregrineError(text));
        } else if (!this.stopping && !(replay && code === 0)) {
          this.log.error({ code }, 'the loader exited unexpectedly');
        }
      });
    });
    await hello;

    this.timers.push(setInterval(() => this.tick(), this.options.exportIntervalMs));
    this.timers.push(setInterval(() => this.exportMetrics(), this.options.metricsIntervalMs));
    for (const t of this.timers) t.unref();
  }

  /**
   * Feeds a piece of the loader's stdout (frames may be split anywhere); `start()` feeds the pipe
   * through here. Throws a DecodeError when the stream is out of sync.
   */
  feed(chunk: Buffer): void {
    for (const rec of this.decoder.push(chunk)) this.onRecord(rec);
  }

  /** Resolves when the loader has exited (a replay: at the end of its stream). */
  async whenExited(): Promise<void> {
    await this.exited;
  }

  /** Whether the loader is still running. */
  get running(): boolean {
    return this.loaderExitCode === undefined;
  }

  /** Stops the loader, drains its last records, completes what the close allows, flushes. */
  async stop(): Promise<SensorStats> {
    if (this.stopping) return this.stats;
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    if (this.child && this.loaderExitCode === undefined) {
      this.child.kill('SIGTERM');
      const timeout = setTimeout(() => this.child?.kill('SIGKILL'), 5000);
      await this.exited;
      clearTimeout(timeout);
    }
    // The loader drains the ring buffer and closes every connection before it exits: its last
    // batches and counters are in the pipe.
    if (this.output && !this.output.destroyed) {
      this.output.resume();
      await once(this.output, 'close').catch(() => undefined);
    }
    await this.flush();
    await this.exportMetrics();
    await this.exporting;
    this.exportAgent?.destroy();
    if (this.pixie) {
      this.pixie.end();
      await once(this.pixie, 'close').catch(() => undefined);
    }
    if (this.fatal) throw new PeregrineError(`sensor failed: ${errorMessage(this.fatal)}`);
    return this.stats;
  }

  private onRecord(rec: SensorRecord): void {
    this.stats.records++;
    switch (rec.type) {
      case 'hello':
        this.helloSeen = true;
        this.realtimeOffsetNs = rec.realtimeOffsetNs;
        return;
      case 'stats':
        this.stats.loader = rec;
        if (rec.engine) this.stats.tracker = trackerCounters(rec.engine);
        return;
      case 'exec':
        this.onExec(rec);
        return;
      case 'conn-open':
      case 'conn-close':
        this.onConn(rec);
        return;
      case 'spans':
        this.onSpans(rec);
        return;
      case 'rows':
        this.onRows(rec);
        return;
      default:
        return; // data records stay in the loader
    }
  }

  private onSpans(rec: SpanBatchRecord): void {
    if (this.options.output.kind !== 'otlp') return;
    for (const g of rec.groups) {
      this.stats.exchanges += g.count;
      this.traces.add(this.resourceOf(g.pid, g.comm), g.spans, g.count);
      this.queuedSpans += g.count;
    }
    if (this.traces.spans >= SPAN_BATCH || this.traces.size >= MAX_REQUEST_BYTES) {
      this.ready.push(this.traces.take());
      this.trimSpanQueue();
      void this.flush();
    }
  }

  /** A process's Resource (service name from the executable, /proc details), encoded once per process. */
  private resourceOf(pid: number, comm: string): Buffer {
    const proc = this.processes.get(pid, comm);
    const known = this.resources.get(pid);
    if (known?.proc === proc) return known.bytes;
    if (this.resources.size >= 8192) this.resources.clear();
    const bytes = encodeResource(processResource(proc, this.node));
    this.resources.set(pid, { proc, bytes });
    return bytes;
  }

  /** Pixie rows from the engine: the agent adds what only /proc knows (upid, executable, container). */
  private onRows(rec: RowBatchRecord): void {
    for (const { json } of rec.rows) {
      const row = JSON.parse(json) as PixieHttpEvent;
      const made = row.px_info!;
      const proc = this.processes.get(made.pid, made.comm);
      row.upid = upid(proc.pid, proc.startTicks);
      row.px_info = { comm: proc.comm, pid: proc.pid, tls: made.tls, executable: proc.executable, container_id: proc.containerId };
      if (this.options.output.kind === 'pixie') this.stats.exchanges++;
      this.options.onRow?.(row);
      if (this.pixie) {
        this.pixie.write(`${JSON.stringify(row)}\n`);
        this.stats.pixieRows++;
      }
    }
  }

  private onExec(rec: ExecRecord): void {
    this.stats.execs++;
    const proc = this.processes.onExec(rec);
    this.options.onExec?.(proc);
    if (this.options.output.kind !== 'otlp') return;
    this.queueLog(rec.tgid, {
      timeWallNs: BigInt(Math.round(rec.tsNs)) + this.realtimeOffsetNs,
      body: `exec ${(proc.args ?? [rec.filename]).join(' ')}`,
      attributes: {
        'event.name': 'process.exec',
        'process.pid': rec.tgid,
        'process.parent_pid': rec.ppid,
        'process.executable.path': rec.filename,
        'process.command': rec.comm,
        'process.command_args': proc.args,
        'process.owner': String(rec.uid),
        'user.id': String(rec.uid),
        'container.id': proc.containerId,
      },
    });
  }

  private onConn(rec: ConnRecord): void {
    const key = connKey(rec.tgid, rec.fd, rec.connId);
    if (rec.type === 'conn-open') {
      this.stats.connectionsOpened++;
      if (this.openConns.size >= 65536) this.openConns.delete(this.openConns.keys().next().value as string);
      this.openConns.set(key, { local: rec.local, remote: rec.remote, role: rec.role, comm: rec.comm, openedNs: rec.tsNs });
      this.totals(rec.comm, rec.role).opened++;
      if (this.options.connectionLogs) this.connectionLog(rec, 'open', rec);
      return;
    }
    this.stats.connectionsClosed++;
    const open = this.openConns.get(key);
    this.openConns.delete(key);
    const role = open?.role ?? rec.role;
    const t = this.totals(rec.comm, role);
    t.closed++;
    t.sent += rec.bytesSent;
    t.received += rec.bytesReceived;
    if (this.options.connectionLogs) this.connectionLog(rec, 'close', open);
  }

  private totals(comm: string, role: string) {
    const k = `${comm}\0${role}`;
    let t = this.connTotals.get(k);
    if (!t) {
      if (this.connTotals.size >= 1024) return { comm, role, opened: 0, closed: 0, sent: 0, received: 0 };
      t = { comm, role, opened: 0, closed: 0, sent: 0, received: 0 };
      this.connTotals.set(k, t);
    }
    return t;
  }

  private connectionLog(rec: ConnRecord, phase: 'open' | 'close', ends: { local?: Endpoint; remote?: Endpoint; role?: string; openedNs?: number } | undefined): void {
    if (this.options.output.kind !== 'otlp') return;
    this.queueLog(rec.tgid, {
      timeWallNs: BigInt(Math.round(rec.tsNs)) + this.realtimeOffsetNs,
      body: `connection ${phase}`,
      attributes: {
        'event.name': `network.connection.${phase}`,
        'network.transport': 'tcp',
        'network.local.address': ends?.local?.address,
        'network.local.port': ends?.local?.port,
        'network.peer.address': ends?.remote?.address,
        'network.peer.port': ends?.remote?.port,
        'peregrine.connection.role': ends?.role ?? rec.role,
        'peregrine.connection.preexisting': rec.preexisting || undefined,
        'peregrine.connection.bytes_sent': phase === 'close' ? rec.bytesSent : undefined,
        'peregrine.connection.bytes_received': phase === 'close' ? rec.bytesReceived : undefined,
        'peregrine.connection.duration_ms': phase === 'close' && ends?.openedNs ? (rec.tsNs - ends.openedNs) / 1e6 : undefined,
        'process.pid': rec.tgid,
        'process.command': rec.comm,
      },
    });
  }

  /** Drops the oldest spans beyond the cap (counted): memory stays bounded when the endpoint is down. */
  private trimSpanQueue(): void {
    while (this.queuedSpans > MAX_QUEUED_SPANS && this.ready.length) {
      const dropped = this.ready.shift()!;
      this.queuedSpans -= dropped.spans;
      this.stats.droppedExports += dropped.spans;
    }
  }

  private queueLog(pid: number, item: LogItem): void {
    if (this.logQueue.length >= MAX_QUEUED_LOGS) {
      this.logQueue.shift();
      this.stats.droppedExports++;
    }
    this.logQueue.push({ pid, item });
  }

  private tick(): void {
    void this.flush();
  }

  /** What the builder holds joins the requests ready to go. */
  private sealTraces(): void {
    if (this.traces.spans === 0) return;
    this.ready.push(this.traces.take());
    this.trimSpanQueue();
  }

  private groups<T>(items: Array<{ pid: number; value: T }>): ResourceGroup<T>[] {
    const byPid = new Map<number, T[]>();
    for (const { pid, value } of items) {
      const list = byPid.get(pid);
      if (list) list.push(value);
      else byPid.set(pid, [value]);
    }
    return [...byPid].map(([pid, values]) => ({ resource: processResource(this.processes.get(pid, ''), this.node), items: values }));
  }

  /** Sends what is queued; exports run one at a time. */
  flush(): Promise<void> {
    this.exporting = this.exporting.then(async () => {
      if (this.options.output.kind !== 'otlp') return;
      this.sealTraces();
      while (this.ready.length) {
        const req = this.ready.shift()!;
        const outcome = await this.post('/v1/traces', req.body);
        if (outcome === 'retry' && !this.stopping) {
          // The endpoint is slow or away: keep the request for the next flush (the queue stays bounded).
          this.ready.unshift(req);
          this.trimSpanQueue();
          break;
        }
        this.queuedSpans -= req.spans;
        if (outcome === 'ok') this.stats.exportedSpans += req.spans;
        else this.stats.droppedExports += req.spans;
        this.traces.recycle(req.backing);
      }
      if (this.logQueue.length) {
        const batch = this.logQueue.splice(0, this.logQueue.length);
        const body = encodeLogs(this.groups(batch.map((b) => ({ pid: b.pid, value: b.item }))), BigInt(Date.now()) * 1_000_000n);
        if ((await this.post('/v1/logs', body)) !== 'ok') this.stats.droppedExports += batch.length;
      }
    });
    return this.exporting;
  }

  private metricPoints(): MetricPoint[] {
    const c = this.stats.tracker;
    const l = this.stats.loader;
    const sum = (name: string, value: number, description: string, unit = '1', attributes?: MetricPoint['attributes']): MetricPoint =>
      ({ name, value, description, unit, kind: 'sum', attributes });
    const points: MetricPoint[] = [
      sum('peregrine.sensor.ringbuf.drops', l?.ringbufDrops ?? 0, 'Events lost because the BPF ring buffer was full'),
      sum('peregrine.sensor.events', l?.dataEvents ?? 0, 'Events the BPF programs sent', '1', { 'event.type': 'data' }),
      sum('peregrine.sensor.events', l?.connEvents ?? 0, 'Events the BPF programs sent', '1', { 'event.type': 'connection' }),
      sum('peregrine.sensor.events', l?.execEvents ?? 0, 'Events the BPF programs sent', '1', { 'event.type': 'exec' }),
      sum('peregrine.sensor.tls.unresolved', l?.tlsUnresolved ?? 0, 'SSL_* calls whose socket could not be found'),
      sum('peregrine.sensor.http.exchanges', c.exchanges, 'HTTP request/response pairs captured'),
      sum('peregrine.sensor.http.unparseable', c.unparseable, 'Streams that broke and were dropped until the next message'),
      sum('peregrine.sensor.http.unanswered', c.unansweredRequests, 'Requests dropped without a response'),
      sum('peregrine.sensor.connections.non_http', c.nonHttpConnections, 'Connections written off as another protocol'),
      sum('peregrine.sensor.connections.expired', c.expiredConnections, 'Idle connections dropped'),
      sum('peregrine.sensor.connections.evicted', c.evictedConnections, 'Connections dropped to stay under the cap'),
      sum('peregrine.sensor.export.dropped', this.stats.droppedExports, 'Spans and logs the exporter could not deliver'),
      sum('peregrine.sensor.bpf.run_time', (l?.bpfRunTimeNs ?? 0) / 1e3, 'BPF program run time (kernel.bpf_stats_enabled=1)', 'us'),
      sum('peregrine.sensor.loader.cpu_time', (l?.loaderCpuNs ?? 0) / 1e3, 'Loader CPU time', 'us'),
      { name: 'peregrine.sensor.connections.tracked', value: this.tracker.size, description: 'Connections being reassembled', unit: '1', kind: 'gauge' },
      sum('peregrine.sensor.records', l?.engine?.records ?? 0, 'Records the loader read from the ring buffer'),
    ];
    for (const t of this.connTotals.values()) {
      const attrs = { 'process.command': t.comm, 'peregrine.connection.role': t.role };
      points.push(sum('network.connections.opened', t.opened, 'TCP connections opened', '1', attrs));
      points.push(sum('network.connections.closed', t.closed, 'TCP connections closed', '1', attrs));
      points.push(sum('network.io', t.sent, 'Bytes moved on closed connections', 'By', { ...attrs, 'network.io.direction': 'transmit' }));
      points.push(sum('network.io', t.received, 'Bytes moved on closed connections', 'By', { ...attrs, 'network.io.direction': 'receive' }));
    }
    return points;
  }

  private exportMetrics(): Promise<void> {
    this.exporting = this.exporting.then(async () => {
      if (this.options.output.kind !== 'otlp') return;
      const resource = { 'service.name': 'peregrine-sensor', 'host.name': this.node.hostName, 'process.pid': process.pid, 'peregrine.source': 'ebpf' };
      await this.post('/v1/metrics', encodeMetrics(resource, this.metricPoints(), this.startWallNs, BigInt(Date.now()) * 1_000_000n));
    });
    return this.exporting;
  }

  /** 'ok', 'retry' (timeouts, 429, 5xx: worth another try later) or 'refused' (4xx: never). */
  private async post(path: string, body: Uint8Array): Promise<'ok' | 'retry' | 'refused'> {
    const { output } = this.options;
    if (output.kind !== 'otlp') return 'refused';
    const url = output.endpoint.replace(/\/+$/, '') + path;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const status = await this.send(url, body, { ...output.headers, 'content-type': 'application/x-protobuf', [SELF_HEADER]: '1' });
        if (status >= 200 && status < 300) return 'ok';
        if (status !== 429 && status < 500) {
          this.stats.exportFailures++;
          const hint = status === 401 || status === 403 ? ' (authentication: check --otlp-header / OTEL_EXPORTER_OTLP_HEADERS)' : '';
          this.log.warn({ status, url }, `OTLP endpoint refused an export${hint}`);
          return 'refused';
        }
      } catch (e) {
        if (attempt === 2) this.log.warn({ err: errorMessage(e), url }, 'OTLP export failed, will retry');
      }
      await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
    }
    this.stats.exportFailures++;
    return 'retry';
  }

  /**
   * One POST; its status code. Node's own http client, not undici: for bodies of megabytes it
   * costs a third of undici's CPU here (measured: 1.0–1.6 ms per 2.3 MB request against 3–4 ms).
   */
  private send(url: string, body: Uint8Array, headers: Record<string, string>): Promise<number> {
    const target = new URL(url);
    const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolveStatus, reject) => {
      const req = request(target, { method: 'POST', agent: this.exportAgent, headers: { ...headers, 'content-length': String(body.byteLength) }, timeout: 10_000 }, (res) => {
        res.resume();
        res.once('end', () => resolveStatus(res.statusCode ?? 0));
        res.once('error', reject);
      });
      req.once('timeout', () => req.destroy(new Error('the OTLP endpoint did not answer within 10 s')));
      req.once('error', reject);
      req.end(body);
    });
  }
}
