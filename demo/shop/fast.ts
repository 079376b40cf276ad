/**
 * Fast mode: the shop's model in simulated time. Spans and logs are made by the OpenTelemetry JS SDK (tracer and logger
 * providers per service, ids from a seeded generator, start and end times given explicitly) and serialized by the
 * SDK's own OTLP protobuf serializers; the sensor's records by the sensor's code (sensor.ts); host metrics as the
 * collector's hostmetrics receiver reports them. Everything is POSTed to an OTLP/HTTP endpoint (Peregrine's receiver),
 * in event-time order, so hours of traffic go through the real pipeline in minutes.
 */
import { createRequire } from 'node:module';
import { ROOT_CONTEXT, SpanKind, trace, ValueType, type Attributes, type Context, type HrTime, type Span } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { millisToHrTime } from '@opentelemetry/core';
import { ProtobufLogsSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { defaultResource, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { LoggerProvider, type LogRecordProcessor, type SdkLogRecord } from '@opentelemetry/sdk-logs';
import { AggregationTemporality, DataPointType, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, type IdGenerator, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Action, ClientRequest } from '../traffic/actions.ts';
import { SERVICES, type ServiceName } from './catalog.ts';
import { CONSUMERS, callOperation, messagingAttributes, operation, serveFrontend, serveOperation, type FrontendReply, type InboundRequest } from './model.ts';
import { hash32, Random } from './random.ts';
import type { LogSpec, Reply, Runtime, SpanOptions } from './runtime.ts';
import { comm, SensorModel } from './sensor.ts';
import { ShopState } from './state.ts';
import { HOSTS, PROXY, TOPOLOGY } from './topology.ts';

const require = createRequire(import.meta.url);
const metricsInternal = require('@opentelemetry/otlp-transformer/build/src/metrics/internal.js') as { createExportMetricsServiceRequest(rm: ResourceMetrics[], encoder: unknown): object };
const transformerUtils = require('@opentelemetry/otlp-transformer/build/src/common/utils.js') as { PROTOBUF_ENCODER: unknown };
const transformerRoot = require('@opentelemetry/otlp-transformer/build/src/generated/root.js') as {
  opentelemetry: { proto: { collector: { metrics: { v1: { ExportMetricsServiceRequest: { encode(m: object): { finish(): Uint8Array } } } } } } };
};

const hr = (ms: number): HrTime => millisToHrTime(ms);
const SEVERITY: Record<LogSpec['severity'], SeverityNumber> = { DEBUG: SeverityNumber.DEBUG, INFO: SeverityNumber.INFO, WARN: SeverityNumber.WARN, ERROR: SeverityNumber.ERROR };

class SeededIds implements IdGenerator {
  constructor(private readonly rng: Random) {}
  generateTraceId(): string { return this.rng.hex(16); }
  generateSpanId(): string { return this.rng.hex(8); }
}

class SpanCollector implements SpanProcessor {
  spans: ReadableSpan[] = [];
  onStart(): void {}
  onEnd(span: ReadableSpan): void { this.spans.push(span); }
  forceFlush(): Promise<void> { return Promise.resolve(); }
  shutdown(): Promise<void> { return Promise.resolve(); }
}

class LogCollector implements LogRecordProcessor {
  records: SdkLogRecord[] = [];
  onEmit(record: SdkLogRecord): void { this.records.push(record); }
  forceFlush(): Promise<void> { return Promise.resolve(); }
  shutdown(): Promise<void> { return Promise.resolve(); }
}

/** The SDK resource of a service, as the Demo's services report themselves (plus the host and process they run as). */
export function serviceResource(service: ServiceName, extra: Attributes = {}): Resource {
  const where = TOPOLOGY[service];
  return defaultResource().merge(resourceFromAttributes({
    'service.name': service, 'service.namespace': 'opentelemetry-demo', 'service.version': '2.1.3',
    'service.instance.id': `${service}-${hash32(service).toString(16)}`, 'deployment.environment.name': 'production',
    'host.name': where.host, 'process.pid': where.pid, 'process.executable.name': comm(where.executable), ...extra,
  }));
}

class SimClock {
  constructor(public t: number) {}
}

/** A Runtime on simulated time: work moves the clock, calls run the callee's handler in place. */
class FastRuntime implements Runtime {
  constructor(private readonly shop: FastShop, readonly rng: Random, private readonly clock: SimClock, private readonly ctx: Context) {}

  get state(): ShopState { return this.shop.state; }
  now(): number { return this.clock.t; }

  async work(ms: number): Promise<void> {
    if (ms > 0) this.clock.t += ms;
    this.shop.addCpu(this.ctx, ms);
  }

  async span<T>(service: ServiceName, name: string, options: SpanOptions, fn: (rt: Runtime, span: Span) => Promise<T>): Promise<T> {
    const span = this.shop.tracer(service).startSpan(name, { kind: options.kind, attributes: options.attributes, startTime: hr(this.clock.t) }, this.ctx);
    this.shop.spanService.set(span.spanContext().spanId, service);
    try {
      return await fn(new FastRuntime(this.shop, this.rng, this.clock, trace.setSpan(this.ctx, span)), span);
    } finally {
      span.end(hr(this.clock.t));
      this.shop.spanService.delete(span.spanContext().spanId);
    }
  }

  async call(from: ServiceName, operationId: string, request: unknown): Promise<Reply> {
    const op = operation(operationId);
    return callOperation(this, from, op, request, async (rt, span) => {
      const sent = rt.now();
      await rt.work(rt.rng.logNormal(0.35, 0.3));
      const peer = { address: TOPOLOGY[from].address, port: rt.rng.int(32_768, 60_999) };
      const reply = await serveOperation(rt, op, request, peer);
      await rt.work(rt.rng.logNormal(0.35, 0.3));
      if (op.protocol === 'http') this.shop.sensorHttpCall(from, op.service, op.path, span, request, reply, sent, rt.now(), peer.port);
      return reply;
    });
  }

  async parallel<T>(branches: ReadonlyArray<(rt: Runtime) => Promise<T>>): Promise<T[]> {
    const start = this.clock.t;
    let end = start;
    const out: T[] = [];
    for (const branch of branches) {
      const clock = new SimClock(start + this.rng.float() * 0.2);
      out.push(await branch(new FastRuntime(this.shop, this.rng, clock, this.ctx)));
      end = Math.max(end, clock.t);
    }
    this.clock.t = end;
    return out;
  }

  log(service: ServiceName, record: LogSpec): void {
    this.shop.logger(service).emit({
      timestamp: hr(this.clock.t), observedTimestamp: hr(this.clock.t), severityNumber: SEVERITY[record.severity], severityText: record.severity,
      body: record.body, attributes: record.attributes, context: this.ctx,
    });
  }

  async publish(from: ServiceName, topic: string, message: Record<string, unknown>): Promise<void> {
    let producerCtx: Context = this.ctx;
    await this.span(from, `${topic} publish`, { kind: SpanKind.PRODUCER, attributes: messagingAttributes(topic, 'send') }, async (rt, span) => {
      await rt.work(rt.rng.logNormal(0.8, 0.4));
      producerCtx = trace.setSpan(this.ctx, span);
    });
    // The consumers poll the topic on their own: their work starts a little later, in the producer's trace.
    for (const consumer of CONSUMERS) {
      const clock = new SimClock(this.clock.t + this.rng.logNormal(12, 0.6));
      const rt = new FastRuntime(this.shop, this.rng, clock, producerCtx);
      await rt.span(consumer.service, `${topic} process`, { kind: SpanKind.CONSUMER, attributes: messagingAttributes(topic, 'process', consumer.service) }, (inner) => consumer.handle(inner, message));
    }
  }
}

export interface FastShopOptions {
  /** OTLP/HTTP base URL, e.g. http://127.0.0.1:4318. */
  endpoint: string;
  seed: number;
  /** Start of the simulated clock (the sensor's monotonic clock counts from here). */
  startMs: number;
  /** Extra headers on every export (a bearer token). */
  headers?: Record<string, string>;
  /** Simulated interval of host metrics. */
  metricsIntervalMs?: number;
  /** Awaited before each batch of exports: lets the caller hold the shop back while the pipeline catches up. */
  beforeExport?(): Promise<void>;
  signal?: AbortSignal;
}

export interface FastStats {
  requests: number;
  spans: number;
  logs: number;
  sensorSpans: number;
  sensorLogs: number;
  metricPoints: number;
  exports: number;
}

interface ProcessLoad {
  service?: ServiceName;
  pid: number;
  ppid: number;
  executable: string;
  args: string[];
  host: string;
  cpuSeconds: number;
  /** CPU seconds already counted into its host's total. */
  reportedCpuSeconds: number;
  /** Cores it keeps busy on its own (a miner). */
  cores: number;
  untilMs: number;
  memoryBytes: number;
}

const SPAN_BATCH = 4096;
const LOG_BATCH = 1024;
const SENSOR_SPAN_BATCH = 1024;
/**
 * Simulated time one export covers at most. The receiver writes a request's traces to all partitions at once; a
 * consumer may read one partition's share in two fetches, so a request spanning more event time than the features
 * stage's allowed lateness could see its own earlier records counted late.
 */
const FLUSH_EVERY_MS = 2_000;

/** The simulated shop: carries out actions in time order and exports what a deployment's SDKs, sensor and collector would. */
export class FastShop {
  readonly state = new ShopState();
  readonly stats: FastStats = { requests: 0, spans: 0, logs: 0, sensorSpans: 0, sensorLogs: 0, metricPoints: 0, exports: 0 };
  /** Which service a live span belongs to (CPU accounting). */
  readonly spanService = new Map<string, ServiceName>();
  private readonly rng: Random;
  private readonly tracers = new Map<ServiceName, ReturnType<BasicTracerProvider['getTracer']>>();
  private readonly loggers = new Map<ServiceName, ReturnType<LoggerProvider['getLogger']>>();
  private readonly spanCollector = new SpanCollector();
  private readonly logCollector = new LogCollector();
  private readonly ids: SeededIds;
  private readonly sensor: SensorModel;
  private readonly processes = new Map<number, ProcessLoad>();
  private readonly metricsIntervalMs: number;
  private nextMetricsMs: number;
  private nextBackgroundMs: number;
  private readonly metricsStartMs: number;
  private pendingMetrics: ResourceMetrics[] = [];
  /** Busy CPU seconds of each host since the start (its processes' and its own). */
  private readonly hostBusy = new Map<string, number>();
  private sequence = 0;
  private nowMs: number;
  private flushedAtMs: number;

  constructor(private readonly options: FastShopOptions) {
    this.rng = new Random(options.seed).fork('shop');
    this.ids = new SeededIds(this.rng.fork('ids'));
    this.sensor = new SensorModel(options.startMs, this.rng.fork('sensor'));
    this.metricsIntervalMs = options.metricsIntervalMs ?? 10_000;
    this.nowMs = options.startMs;
    this.flushedAtMs = options.startMs;
    this.metricsStartMs = options.startMs;
    this.nextMetricsMs = options.startMs + this.metricsIntervalMs;
    this.nextBackgroundMs = options.startMs;
    for (const service of SERVICES) {
      const t = TOPOLOGY[service];
      this.sensor.know({ pid: t.pid, executable: t.executable, args: t.args, host: t.host });
      this.processes.set(t.pid, { service, pid: t.pid, ppid: 1, executable: t.executable, args: t.args, host: t.host, cpuSeconds: 0, reportedCpuSeconds: 0, cores: 0.004, untilMs: Infinity, memoryBytes: 180e6 + hash32(service) % 200e6 });
    }
  }

  tracer(service: ServiceName) {
    let tracer = this.tracers.get(service);
    if (!tracer) {
      const provider = new BasicTracerProvider({ resource: serviceResource(service), idGenerator: this.ids, spanProcessors: [this.spanCollector] });
      tracer = provider.getTracer(service, '2.1.3');
      this.tracers.set(service, tracer);
    }
    return tracer;
  }

  logger(service: ServiceName) {
    let logger = this.loggers.get(service);
    if (!logger) {
      logger = new LoggerProvider({ resource: serviceResource(service), processors: [this.logCollector] }).getLogger(service);
      this.loggers.set(service, logger);
    }
    return logger;
  }

  addCpu(ctx: Context, ms: number): void {
    const spanId = trace.getSpanContext(ctx)?.spanId;
    const service = spanId === undefined ? undefined : this.spanService.get(spanId);
    if (service) this.processes.get(TOPOLOGY[service].pid)!.cpuSeconds += (ms / 1000) * 0.6;
  }

  /** Carries out the actions (in time order); `onAction` hears of each once it is done. */
  async run(actions: Iterable<Action>, onAction?: (action: Action) => void): Promise<FastStats> {
    for (const action of actions) {
      if (this.options.signal?.aborted) break;
      await this.advance(action.timeMs);
      await this.act(action);
      onAction?.(action);
      if (action.timeMs - this.flushedAtMs >= FLUSH_EVERY_MS || this.spanCollector.spans.length >= SPAN_BATCH || this.logCollector.records.length >= LOG_BATCH || this.sensor.pendingSpans >= SENSOR_SPAN_BATCH) {
        this.flushedAtMs = action.timeMs;
        await this.flush();
      }
    }
    await this.flush();
    return this.stats;
  }

  private async act(action: Action): Promise<void> {
    const rng = this.rng.fork(this.sequence++);
    switch (action.kind) {
      case 'request':
        this.stats.requests++;
        await this.request(action.request, action.timeMs, rng);
        return;
      case 'flags':
        action.change(this.state.flags);
        return;
      case 'exec': {
        const svc = TOPOLOGY[action.service];
        const ppid = action.parentPid ?? svc.pid;
        this.sensor.exec({ timeMs: action.timeMs, pid: action.pid, ppid, uid: action.user ?? 1000, binary: action.binary, args: action.args, host: svc.host });
        if (action.cpuCores !== undefined) {
          this.processes.set(action.pid, { pid: action.pid, ppid, executable: action.binary, args: action.args, host: svc.host, cpuSeconds: 0, reportedCpuSeconds: 0, cores: action.cpuCores, untilMs: action.timeMs + (action.runMs ?? 0), memoryBytes: 2.4e9 * action.cpuCores / 1.85 + 8e6 });
        }
        return;
      }
      case 'connection': {
        const svc = TOPOLOGY[action.service];
        const pid = action.pid ?? svc.pid;
        const proc = this.processes.get(pid);
        this.sensor.connection({
          pid, comm: comm(proc?.executable ?? svc.executable), host: svc.host, role: 'client', local: { address: svc.address, port: rng.int(32_768, 60_999) },
          remote: action.remote, openMs: action.timeMs, closeMs: action.timeMs + action.durationMs, bytesSent: action.bytesSent, bytesReceived: action.bytesReceived,
        });
        return;
      }
      case 'call': {
        const rt = new FastRuntime(this, rng, new SimClock(action.timeMs), ROOT_CONTEXT);
        await rt.call(action.from, action.operation, action.request);
      }
    }
  }

  private async request(client: ClientRequest, timeMs: number, rng: Random): Promise<void> {
    const peer = client.direct ? { address: client.clientAddress, port: rng.int(32_768, 60_999) } : { address: PROXY.address, port: rng.int(32_768, 60_999) };
    const headers = client.direct ? client.headers : [...client.headers, ['x-forwarded-for', client.clientAddress], ['x-forwarded-proto', 'https'], ['x-request-id', rng.hex(16)]] as Array<[string, string]>;
    const inbound: InboundRequest = { method: client.method, path: client.path, query: client.query, headers, body: client.body, peer };
    // The proxy forwards within a millisecond or so.
    const clock = new SimClock(timeMs + (client.direct ? 0 : rng.logNormal(0.6, 0.3)));
    const start = clock.t;
    const rt = new FastRuntime(this, rng, clock, ROOT_CONTEXT);
    const reply = await serveFrontend(rt, inbound);
    this.sensorIngress(inbound, reply, start, clock.t);
  }

  /** What the sensor on the frontend's node sees of a request: the HTTP/1.1 exchange on the frontend's socket. */
  private sensorIngress(req: InboundRequest, reply: FrontendReply, startMs: number, endMs: number): void {
    const fe = TOPOLOGY.frontend;
    const target = req.query ? `${req.path}?${req.query}` : req.path;
    const requestHeaders: Array<[string, string]> = [...req.headers];
    if (req.body !== undefined) requestHeaders.push(['content-length', String(Buffer.byteLength(req.body))]);
    this.sensor.exchange({
      pid: fe.pid, comm: comm(fe.executable), host: fe.host, role: 'server', local: { address: fe.address, port: fe.port }, remote: req.peer,
      startMs, endMs, method: req.method, target, requestHeaders, requestBody: req.body ?? '', status: reply.status,
      responseHeaders: [...reply.headers, ['content-length', String(Buffer.byteLength(reply.body))], ['x-powered-by', 'Next.js'], ['date', new Date(endMs).toUTCString()]],
      responseBody: reply.body,
    });
  }

  /** Both ends of an HTTP/1.1 call between services, as the sensors of the two nodes see them (traceparent included). */
  sensorHttpCall(from: ServiceName, to: ServiceName, path: string, span: Span, request: unknown, reply: Reply, startMs: number, endMs: number, port: number): void {
    const ctx = span.spanContext();
    const caller = TOPOLOGY[from];
    const callee = TOPOLOGY[to];
    const body = JSON.stringify(request ?? {});
    const requestHeaders: Array<[string, string]> = [['Host', `${to}:${callee.port}`], ['User-Agent', 'Go-http-client/1.1'], ['Content-Length', String(Buffer.byteLength(body))], ['Content-Type', 'application/json'], ['Traceparent', `00-${ctx.traceId}-${ctx.spanId}-01`], ['Accept-Encoding', 'gzip']];
    const responseBody = reply.body === undefined ? '' : JSON.stringify(reply.body);
    const responseHeaders: Array<[string, string]> = [['content-type', 'application/json'], ['content-length', String(Buffer.byteLength(responseBody))]];
    const common = { method: 'POST', target: path, requestHeaders, requestBody: body, status: reply.status, responseHeaders, responseBody };
    const callerEnd = { address: caller.address, port };
    const calleeEnd = { address: callee.address, port: callee.port };
    this.sensor.exchange({ ...common, pid: caller.pid, comm: comm(caller.executable), host: caller.host, role: 'client', local: callerEnd, remote: calleeEnd, startMs, endMs });
    this.sensor.exchange({ ...common, pid: callee.pid, comm: comm(callee.executable), host: callee.host, role: 'server', local: calleeEnd, remote: callerEnd, startMs: startMs + 0.2, endMs: endMs - 0.2 });
  }

  /** Moves the simulated clock to `ms`: host metrics every interval, background activity of the nodes. */
  private async advance(ms: number): Promise<void> {
    while (this.nextBackgroundMs <= ms) {
      this.background(this.nextBackgroundMs);
      this.nextBackgroundMs += 60_000;
    }
    while (this.nextMetricsMs <= ms) {
      this.hostMetrics(this.nextMetricsMs);
      this.nextMetricsMs += this.metricsIntervalMs;
    }
    this.nowMs = Math.max(this.nowMs, ms);
  }

  /**
   * What the nodes do on their own, each minute: cron's hourly jobs, the proxy's keep-alive connections to the frontend
   * being recycled, and connection pools between services renewed now and then.
   */
  private background(t: number): void {
    const rng = this.rng.fork(`background-${t}`);
    const minute = Math.floor((t - this.options.startMs) / 60_000);
    if (minute % 60 === 17) {
      for (const [i, h] of HOSTS.entries()) {
        const sh = 40_000 + minute * 4 + i * 2;
        this.sensor.exec({ timeMs: t + i * 13, pid: sh, ppid: 611 + i, uid: 0, binary: '/bin/sh', args: ['/bin/sh', '-c', '   cd / && run-parts --report /etc/cron.hourly'], host: h.host });
        this.sensor.exec({ timeMs: t + i * 13 + 2, pid: sh + 1, ppid: sh, uid: 0, binary: '/bin/run-parts', args: ['run-parts', '--report', '/etc/cron.hourly'], host: h.host });
      }
    }
    const fe = TOPOLOGY.frontend;
    for (let i = 0; i < rng.int(1, 4); i++) {
      const open = t + rng.float() * 60_000;
      this.sensor.connection({ pid: fe.pid, comm: comm(fe.executable), host: fe.host, role: 'server', local: { address: fe.address, port: fe.port }, remote: { address: PROXY.address, port: rng.int(32_768, 60_999) }, openMs: open, closeMs: open + rng.int(30_000, 120_000), bytesSent: rng.int(200_000, 4_000_000), bytesReceived: rng.int(20_000, 300_000) });
    }
    const edges: Array<[ServiceName, ServiceName]> = [['frontend', 'product-catalog'], ['frontend', 'cart'], ['frontend', 'currency'], ['frontend', 'recommendation'], ['frontend', 'ad'], ['frontend', 'checkout'], ['checkout', 'payment'], ['checkout', 'shipping'], ['checkout', 'email'], ['shipping', 'quote'], ['recommendation', 'product-catalog']];
    for (const [from, to] of edges) {
      if (!rng.chance(0.08)) continue;
      const a = TOPOLOGY[from];
      const b = TOPOLOGY[to];
      const open = t + rng.float() * 60_000;
      this.sensor.connection({ pid: a.pid, comm: comm(a.executable), host: a.host, role: 'client', local: { address: a.address, port: rng.int(32_768, 60_999) }, remote: { address: b.address, port: b.port }, openMs: open, closeMs: open + rng.int(60_000, 600_000), bytesSent: rng.int(50_000, 2_000_000), bytesReceived: rng.int(50_000, 5_000_000) });
    }
  }

  /** The collector's hostmetrics receiver: process.cpu.time and process.memory.usage per process, system.cpu.time per host. */
  private hostMetrics(t: number): void {
    const seconds = this.metricsIntervalMs / 1000;
    const start = hr(this.metricsStartMs);
    const end = hr(t);
    for (const [pid, p] of this.processes) {
      const alive = Math.max(0, Math.min(seconds, (p.untilMs - (t - this.metricsIntervalMs)) / 1000));
      p.cpuSeconds += p.cores * alive;
      this.hostBusy.set(p.host, (this.hostBusy.get(p.host) ?? 0) + p.cpuSeconds - p.reportedCpuSeconds);
      p.reportedCpuSeconds = p.cpuSeconds;
      const resource = resourceFromAttributes({
        'host.name': p.host, 'process.pid': p.pid, 'process.parent_pid': p.ppid, 'process.executable.name': comm(p.executable), 'process.executable.path': p.executable,
        'process.command': p.args[0] ?? p.executable, 'process.command_line': p.args.join(' '), 'process.owner': p.service ? 'app' : 'www-data',
      });
      this.pendingMetrics.push({
        resource,
        scopeMetrics: [{
          scope: { name: 'github.com/open-telemetry/opentelemetry-collector-contrib/receiver/hostmetricsreceiver/internal/scraper/processscraper', version: '0.140.0' },
          metrics: [
            sum('process.cpu.time', 'Total CPU seconds broken down by different states.', 's', true, [
              { startTime: start, endTime: end, attributes: { state: 'user' }, value: p.cpuSeconds * 0.8 },
              { startTime: start, endTime: end, attributes: { state: 'system' }, value: p.cpuSeconds * 0.2 },
            ]),
            sum('process.memory.usage', 'The amount of physical memory in use.', 'By', false, [{ startTime: start, endTime: end, attributes: {}, value: p.memoryBytes }]),
          ],
        }],
      });
      this.stats.metricPoints += 3;
      if (p.untilMs < t) this.processes.delete(pid);
    }
    for (const h of HOSTS) {
      const cores = 2;
      const elapsed = (t - this.metricsStartMs) / 1000;
      const busy = Math.min(elapsed * cores, (this.hostBusy.get(h.host) ?? 0) + elapsed * 0.05);
      this.pendingMetrics.push({
        resource: resourceFromAttributes({ 'host.name': h.host, 'os.type': 'linux' }),
        scopeMetrics: [{
          scope: { name: 'github.com/open-telemetry/opentelemetry-collector-contrib/receiver/hostmetricsreceiver/internal/scraper/cpuscraper', version: '0.140.0' },
          metrics: [sum('system.cpu.time', 'Total seconds each logical CPU spent on each mode.', 's', true, [0, 1].flatMap((cpu) => [
            { startTime: start, endTime: end, attributes: { cpu: `cpu${cpu}`, state: 'user' }, value: (busy / cores) * 0.8 },
            { startTime: start, endTime: end, attributes: { cpu: `cpu${cpu}`, state: 'system' }, value: (busy / cores) * 0.2 },
            { startTime: start, endTime: end, attributes: { cpu: `cpu${cpu}`, state: 'idle' }, value: Math.max(0, elapsed - busy / cores) },
          ]))],
        }],
      });
      this.stats.metricPoints += 6;
    }
  }

  /** Sends everything queued: SDK spans and logs, sensor spans and logs, host metrics. */
  async flush(): Promise<void> {
    await this.options.beforeExport?.();
    // The SDK's and the sensor's records of the same stretch of time go in one request each for traces and logs
    // (concatenated protobuf messages of one type are one message: their resource lists add up).
    const spans = this.spanCollector.spans;
    this.spanCollector.spans = [];
    this.stats.spans += spans.length;
    this.stats.sensorSpans += this.sensor.pendingSpans;
    await this.postAll('/v1/traces', [spans.length > 0 ? ProtobufTraceSerializer.serializeRequest(spans) : undefined, this.sensor.takeSpans()]);
    const logs = this.logCollector.records;
    this.logCollector.records = [];
    this.stats.logs += logs.length;
    const queuedSensorLogs = this.sensor.pendingLogs;
    const sensorLogs = this.sensor.takeLogs(this.nowMs);
    this.stats.sensorLogs += queuedSensorLogs - this.sensor.pendingLogs;
    await this.postAll('/v1/logs', [logs.length > 0 ? ProtobufLogsSerializer.serializeRequest(logs) : undefined, sensorLogs]);
    if (this.pendingMetrics.length > 0) {
      const request = metricsInternal.createExportMetricsServiceRequest(this.pendingMetrics, transformerUtils.PROTOBUF_ENCODER);
      this.pendingMetrics = [];
      await this.post('/v1/metrics', transformerRoot.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest.encode(request).finish());
    }
  }

  private async postAll(path: string, parts: Array<Uint8Array | undefined>): Promise<void> {
    const present = parts.filter((p): p is Uint8Array => p !== undefined && p.length > 0);
    if (present.length > 0) await this.post(path, present.length === 1 ? present[0]! : Buffer.concat(present));
  }

  /** POSTs one OTLP request; waits and retries while the receiver says so (429, 503), as an exporter does. */
  private async post(path: string, body: Uint8Array): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (this.options.signal?.aborted) return;
      let response: Response;
      try {
        response = await fetch(`${this.options.endpoint.replace(/\/+$/, '')}${path}`, {
          method: 'POST', body, headers: { 'content-type': 'application/x-protobuf', ...this.options.headers }, signal: this.options.signal,
        });
      } catch (e) {
        if (this.options.signal?.aborted) return;
        if (attempt >= 20) throw new Error(`OTLP export to ${this.options.endpoint}${path} failed: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, Math.min(5_000, 200 * 2 ** attempt)));
        continue;
      }
      const text = await response.text();
      if (response.ok) {
        this.stats.exports++;
        return;
      }
      if ((response.status === 429 || response.status === 503) && attempt < 60) {
        const after = Number(response.headers.get('retry-after') ?? '1');
        await new Promise((r) => setTimeout(r, Math.max(200, Math.min(5_000, after * 1000))));
        continue;
      }
      throw new Error(`OTLP export to ${this.options.endpoint}${path} answered ${response.status}: ${text.slice(0, 300)}`);
    }
  }
}

function sum(name: string, description: string, unit: string, monotonic: boolean, dataPoints: Array<{ startTime: HrTime; endTime: HrTime; attributes: Attributes; value: number }>): MetricData {
  return { descriptor: { name, description, unit, valueType: ValueType.DOUBLE }, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.SUM, isMonotonic: monotonic, dataPoints };
}

