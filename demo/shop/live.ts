/**
 * Live mode: the shop's services as real HTTP servers on 127.0.0.1, instrumented with the OpenTelemetry JS SDK
 * (batch span and log processors exporting OTLP/HTTP protobuf), W3C trace context on every call, the orders topic on
 * the real Kafka. A ServiceHost runs some of the services in this process; LiveShop (live-shop.ts) runs them all, in
 * one process or one process per service.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { defaultTextMapGetter, defaultTextMapSetter, ROOT_CONTEXT, SpanKind, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { SeverityNumber, type Logger as OtelLogger } from '@opentelemetry/api-logs';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { KafkaConfig } from '../../core/config.ts';
import { errorMessage } from '../../core/errors.ts';
import type { Consumer, KafkaAdapter, Producer } from '../../core/kafka/adapter.ts';
import { createKafkaAdapter } from '../../core/kafka/kafkajs.ts';
import type { Logger } from '../../core/log.ts';
import type { Action } from '../traffic/actions.ts';
import type { ServiceName } from './catalog.ts';
import { CONSUMERS, callOperation, messagingAttributes, operation, operationsOf, serveFrontend, serveOperation, type InboundRequest, type OperationDef } from './model.ts';
import { Random } from './random.ts';
import { GRPC, type LogSpec, type Reply, type Runtime, type SpanOptions } from './runtime.ts';
import { ShopState, type Flags } from './state.ts';

const propagator = new W3CTraceContextPropagator();
const SEVERITY: Record<LogSpec['severity'], SeverityNumber> = { DEBUG: SeverityNumber.DEBUG, INFO: SeverityNumber.INFO, WARN: SeverityNumber.WARN, ERROR: SeverityNumber.ERROR };
const MAX_BODY = 1024 * 1024;

export interface HostOptions {
  services: ServiceName[];
  /** OTLP/HTTP base URLs the SDK exports to (each gets every span and log record). */
  otlpEndpoints: string[];
  otlpHeaders?: Record<string, string>;
  kafka: KafkaConfig;
  /** The topic checkout publishes orders to and accounting and fraud detection read. */
  ordersTopic: string;
  /** A local TCP sink standing in for outside addresses (connections an attack makes). */
  sinkPort?: number;
  log: Logger;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        req.destroy();
        reject(new Error('request body too large'));
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** A Runtime on the wall clock: work sleeps, calls go over HTTP to the callee's server. */
class LiveRuntime implements Runtime {
  constructor(private readonly host: ServiceHost, readonly rng: Random, readonly ctx: Context) {}
  get state(): ShopState { return this.host.state; }
  now(): number { return Date.now(); }
  async work(ms: number): Promise<void> {
    if (ms >= 1) await sleep(ms);
  }
  async span<T>(service: ServiceName, name: string, options: SpanOptions, fn: (rt: Runtime, span: Span) => Promise<T>): Promise<T> {
    const span = this.host.tracer(service).startSpan(name, { kind: options.kind, attributes: options.attributes }, this.ctx);
    try {
      return await fn(new LiveRuntime(this.host, this.rng, trace.setSpan(this.ctx, span)), span);
    } finally {
      span.end();
    }
  }
  call(from: ServiceName, operationId: string, request: unknown): Promise<Reply> {
    const op = operation(operationId);
    return callOperation(this, from, op, request, (rt) => this.host.send(op, request, (rt as LiveRuntime).ctx));
  }
  parallel<T>(branches: ReadonlyArray<(rt: Runtime) => Promise<T>>): Promise<T[]> {
    return Promise.all(branches.map((b) => b(this)));
  }
  log(service: ServiceName, record: LogSpec): void {
    this.host.logger(service).emit({ severityNumber: SEVERITY[record.severity], severityText: record.severity, body: record.body, attributes: record.attributes, context: this.ctx });
  }
  async publish(from: ServiceName, topic: string, message: Record<string, unknown>): Promise<void> {
    await this.span(from, `${topic} publish`, { kind: SpanKind.PRODUCER, attributes: messagingAttributes(topic, 'send') }, async (rt) => {
      const headers: Record<string, string> = {};
      propagator.inject((rt as LiveRuntime).ctx, headers, defaultTextMapSetter);
      await this.host.produce(topic, JSON.stringify(message), headers);
    });
  }
}

/** Some of the shop's services in this process: their servers, SDK providers, Kafka clients and attack stand-ins. */
export class ServiceHost {
  readonly state = new ShopState();
  /** Where each service listens (filled for services of other processes by `setDirectory`). */
  private directory: Partial<Record<ServiceName, string>> = {};
  private readonly servers: Server[] = [];
  private readonly tracers = new Map<ServiceName, Tracer>();
  private readonly loggers = new Map<ServiceName, OtelLogger>();
  private readonly providers: Array<BasicTracerProvider | LoggerProvider> = [];
  private readonly rng = new Random(Date.now() >>> 0);
  private kafka?: KafkaAdapter;
  private producer?: Producer;
  private readonly consumers: Consumer[] = [];
  private readonly children = new Set<ChildProcess>();
  private scratchDir?: string;
  private closing?: Promise<void>;

  constructor(private readonly options: HostOptions) {}

  tracer(service: ServiceName): Tracer {
    let t = this.tracers.get(service);
    if (!t) {
      const provider = new BasicTracerProvider({
        resource: this.resource(service),
        spanProcessors: this.options.otlpEndpoints.map((endpoint) => new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint}/v1/traces`, headers: this.options.otlpHeaders }), { scheduledDelayMillis: 500, maxExportBatchSize: 512, maxQueueSize: 8192 })),
      });
      this.providers.push(provider);
      t = provider.getTracer(service, '2.1.3');
      this.tracers.set(service, t);
    }
    return t;
  }

  logger(service: ServiceName): OtelLogger {
    let l = this.loggers.get(service);
    if (!l) {
      const provider = new LoggerProvider({
        resource: this.resource(service),
        processors: this.options.otlpEndpoints.map((endpoint) => new BatchLogRecordProcessor(new OTLPLogExporter({ url: `${endpoint}/v1/logs`, headers: this.options.otlpHeaders }), { scheduledDelayMillis: 500 })),
      });
      this.providers.push(provider);
      l = provider.getLogger(service);
      this.loggers.set(service, l);
    }
    return l;
  }

  private resource(service: ServiceName) {
    return defaultResource().merge(resourceFromAttributes({
      'service.name': service, 'service.namespace': 'opentelemetry-demo', 'service.version': '2.1.3', 'service.instance.id': `${service}-${process.pid}`,
      'deployment.environment.name': 'demo', 'host.name': hostname(), 'process.pid': process.pid, 'process.executable.name': 'node',
    }));
  }

  /** Starts this host's servers and consumers; resolves with the URL of each service it serves. */
  async start(): Promise<Partial<Record<ServiceName, string>>> {
    const urls: Partial<Record<ServiceName, string>> = {};
    for (const service of this.options.services) {
      const ops = operationsOf(service);
      if (service !== 'frontend' && ops.length === 0) continue;
      const server = createServer((req, res) => void (service === 'frontend' ? this.frontend(req, res) : this.backend(ops, req, res)));
      server.keepAliveTimeout = 30_000;
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      this.servers.push(server);
      urls[service] = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    }
    this.directory = { ...this.directory, ...urls };
    const consumers = CONSUMERS.filter((c) => this.options.services.includes(c.service));
    if (this.options.services.includes('checkout') || consumers.length > 0) {
      this.kafka = createKafkaAdapter(this.options.kafka, this.options.log);
      await this.kafka.ensureTopics([{ topic: this.options.ordersTopic, partitions: 1 }]);
    }
    for (const consumer of consumers) {
      this.consumers.push(await this.kafka!.consume({
        groupId: `${this.options.ordersTopic}-${consumer.service}`, topics: [this.options.ordersTopic], fromBeginning: true,
        onBatch: async (batch) => {
          for (const record of batch.records) {
            const carrier: Record<string, string> = {};
            for (const [k, v] of Object.entries(record.headers)) if (v !== undefined) carrier[k] = v.toString();
            const ctx = propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
            let order: Record<string, unknown> = {};
            try {
              order = JSON.parse(record.value.toString('utf8')) as Record<string, unknown>;
            } catch { /* a message that is not an order: processed as an empty one */ }
            const rt = new LiveRuntime(this, this.rng, ctx);
            await rt.span(consumer.service, `${this.options.ordersTopic} process`, { kind: SpanKind.CONSUMER, attributes: messagingAttributes(this.options.ordersTopic, 'process', consumer.service) }, (inner) => consumer.handle(inner, order))
              .catch((e: unknown) => this.options.log.warn({ err: errorMessage(e) }, 'order consumer failed'));
          }
          const last = batch.records.at(-1);
          if (last) await batch.commit((BigInt(last.offset) + 1n).toString());
        },
      }));
    }
    return urls;
  }

  setDirectory(directory: Partial<Record<ServiceName, string>>): void {
    this.directory = { ...this.directory, ...directory };
  }

  setFlags(flags: Flags): void {
    this.state.flags.failingProduct = flags.failingProduct;
    this.state.flags.slowServices = { ...flags.slowServices };
  }

  async produce(topic: string, value: string, headers: Record<string, string>): Promise<void> {
    if (!this.producer) this.producer = await this.kafka!.producer();
    await this.producer.send(topic, [{ value: Buffer.from(value), headers }]);
  }

  /** A call to another service over HTTP (JSON over HTTP/1.1 stands in for gRPC), carrying W3C trace context. */
  async send(op: OperationDef, request: unknown, ctx: Context): Promise<Reply> {
    const base = this.directory[op.service];
    if (!base) return { status: op.protocol === 'grpc' ? GRPC.UNAVAILABLE : 503, error: `no route to ${op.service}` };
    const headers: Record<string, string> = { 'content-type': op.protocol === 'grpc' ? 'application/grpc+json' : 'application/json' };
    propagator.inject(ctx, headers, defaultTextMapSetter);
    try {
      const response = await fetch(`${base}${op.path}`, { method: 'POST', headers, body: JSON.stringify(request ?? {}) });
      const text = await response.text();
      if (op.protocol === 'http') return { status: response.status, body: text ? JSON.parse(text) : undefined, bytes: Buffer.byteLength(text) };
      const reply = JSON.parse(text) as Reply;
      return { ...reply, bytes: Buffer.byteLength(text) };
    } catch (e) {
      return { status: op.protocol === 'grpc' ? GRPC.UNAVAILABLE : 503, error: errorMessage(e) };
    }
  }

  private async backend(ops: OperationDef[], req: IncomingMessage, res: ServerResponse): Promise<void> {
    const op = ops.find((o) => o.path === (req.url ?? '').split('?')[0]);
    if (!op || req.method !== 'POST') {
      res.writeHead(404).end();
      return;
    }
    let request: unknown = {};
    try {
      request = JSON.parse((await readBody(req)) || '{}');
    } catch {
      res.writeHead(400).end();
      return;
    }
    const carrier: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') carrier[k] = v;
    const ctx = propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
    const peer = { address: req.socket.remoteAddress ?? '127.0.0.1', port: req.socket.remotePort ?? 0 };
    const reply = await serveOperation(new LiveRuntime(this, this.rng, ctx), op, request, peer, req.headers['user-agent']);
    if (op.protocol === 'http') res.writeHead(reply.status, { 'content-type': 'application/json' }).end(reply.body === undefined ? '' : JSON.stringify(reply.body));
    else res.writeHead(200, { 'content-type': 'application/grpc+json' }).end(JSON.stringify(reply));
  }

  private async frontend(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: string | undefined;
    try {
      const text = await readBody(req);
      body = text === '' && (req.method === 'GET' || req.method === 'HEAD') ? undefined : text;
    } catch {
      res.writeHead(413).end();
      return;
    }
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const headers: Array<[string, string]> = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
    const inbound: InboundRequest = {
      method: req.method ?? 'GET', path: q >= 0 ? url.slice(0, q) : url, query: q >= 0 ? url.slice(q + 1) : undefined, headers, body,
      peer: { address: req.socket.remoteAddress ?? '127.0.0.1', port: req.socket.remotePort ?? 0 },
    };
    const reply = await serveFrontend(new LiveRuntime(this, this.rng, ROOT_CONTEXT), inbound);
    res.writeHead(reply.status, Object.fromEntries(reply.headers.map(([k, v]) => [k, v]))).end(reply.body);
  }

  /** What an attacker does inside one of this host's services (an exec, a connection out, a call). */
  async attack(action: Action): Promise<void> {
    switch (action.kind) {
      case 'exec':
        this.exec(action);
        return;
      case 'connection':
        await this.connectOut(action.bytesSent);
        return;
      case 'call':
        await new LiveRuntime(this, this.rng, ROOT_CONTEXT).call(action.from, action.operation, action.request);
        return;
      default:
    }
  }

  /**
   * A real exec in this service's process tree, made harmless: a shell runs only read-only reconnaissance commands; a
   * dropped binary is a copy of `sleep` under the attack's file name; a miner is a copy of `sh` spinning one core.
   * Downloads from outside addresses are not attempted.
   */
  private exec(action: Extract<Action, { kind: 'exec' }>): void {
    const runMs = action.runMs ?? 0;
    const name = path.basename(action.binary).replace(/[^A-Za-z0-9._-]/g, '_') || 'payload';
    let child: ChildProcess | undefined;
    if ((action.cpuCores ?? 0) >= 0.5) {
      child = spawn(this.copy('/bin/sh', name), ['-c', 'while :; do :; done'], { stdio: 'ignore' });
    } else if (runMs > 5_000) {
      child = spawn(this.copy('/bin/sleep', name), [String(Math.ceil(runMs / 1000))], { stdio: 'ignore' });
    } else if (action.binary === '/bin/sh') {
      child = spawn('/bin/sh', ['-c', safeShell(action.args[2] ?? '')], { stdio: 'ignore' });
    }
    if (!child) return;
    const spawned = child;
    this.children.add(spawned);
    spawned.on('exit', () => this.children.delete(spawned));
    spawned.on('error', (e) => this.options.log.warn({ err: e.message }, 'attack exec failed'));
    if (runMs > 0) setTimeout(() => spawned.kill('SIGKILL'), runMs).unref();
  }

  private copy(from: string, name: string): string {
    this.scratchDir ??= mkdtempSync(path.join(tmpdir(), 'peregrine-live-'));
    const to = path.join(this.scratchDir, name);
    copyFileSync(from, to);
    return to;
  }

  /** An upload to an outside address: the local sink stands in for it (this machine reaches no outside hosts). */
  private async connectOut(bytes: number): Promise<void> {
    if (this.options.sinkPort === undefined) return;
    await new Promise<void>((resolve) => {
      const socket = connect(this.options.sinkPort!, '127.0.0.1', () => {
        let left = Math.min(bytes, 20_000_000);
        const chunk = Buffer.alloc(64 * 1024, 0x41);
        const write = () => {
          while (left > 0) {
            const n = Math.min(left, chunk.length);
            left -= n;
            if (!socket.write(chunk.subarray(0, n))) {
              socket.once('drain', write);
              return;
            }
          }
          socket.end();
        };
        write();
      });
      socket.on('close', () => resolve());
      socket.on('error', () => resolve());
    });
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    for (const child of this.children) child.kill('SIGKILL');
    for (const consumer of this.consumers) await consumer.stop().catch(() => undefined);
    await this.producer?.close().catch(() => undefined);
    await this.kafka?.close().catch(() => undefined);
    await Promise.all(this.servers.map((s) => new Promise((r) => { s.close(r); s.closeAllConnections(); })));
    await Promise.all(this.providers.map((p) => p.shutdown().catch(() => undefined)));
    if (this.scratchDir) rmSync(this.scratchDir, { recursive: true, force: true });
  }
}

const SAFE_COMMANDS = /^(id|whoami|uname( -a)?|hostname|env|ps( aux)?|ls( -la)?( \/[\w./-]*)?|cat \/etc\/passwd|cat \/proc\/self\/cgroup|netstat -tnlp)$/;

/** The read-only commands of an attacker's shell line; anything else is left out. */
export function safeShell(command: string): string {
  const kept = command.split(/;|&&|\|\|/).map((c) => c.trim()).filter((c) => SAFE_COMMANDS.test(c));
  return kept.length ? `${kept.join('; ')} >/dev/null 2>&1` : 'true';
}

/** Sends one client request to the frontend as the reverse proxy would forward it (X-Forwarded-For). */
export function sendToFrontend(frontendUrl: string, r: { method: string; path: string; query?: string; headers: Array<[string, string]>; body?: string; clientAddress: string; direct?: boolean }): Promise<number> {
  const url = new URL(frontendUrl);
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of r.headers) if (k.toLowerCase() !== 'host') headers[k] = v;
  headers.host = 'shop.example.com';
  if (!r.direct) {
    headers['x-forwarded-for'] = r.clientAddress;
    headers['x-forwarded-proto'] = 'https';
  }
  if (r.body !== undefined) headers['content-length'] = String(Buffer.byteLength(r.body));
  return new Promise((resolve) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method: r.method, path: r.query ? `${r.path}?${r.query}` : r.path, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.setTimeout(30_000, () => req.destroy());
    req.on('error', () => resolve(0));
    req.end(r.body);
  });
}
