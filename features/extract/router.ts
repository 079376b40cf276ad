/**
 * Normalized events → updates of the entity windows they belong to. One function per event kind finds the
 * entities an event speaks for (see features/README.md) and hands each one's aggregate the event's facts, computed
 * once per event. The sink decides which window an event time falls in and refuses closed ones. Pure.
 */
import { isIP } from 'node:net';
import type { ConnectionEvent, LogRecordEvent, MetricPointEvent, ProcessExecEvent, RequestEvent } from '../../core/events.ts';
import { activityEvent } from '../../ingest/normalize/activity.ts';
import { endpoint, entityIds, IdCache } from '../entity/ids.ts';
import { itemHash } from '../sketch/sample.ts';
import { EntityAggregate, EXAMPLE_SAMPLE, FIRST_SEEN_SAMPLE, PayloadTotals, ROUTE_SAMPLE, type ExemplarCandidate } from '../window/aggregate.ts';
import { DistinctCounter } from '../sketch/distinct.ts';
import { QuantileSketch, sketchKey } from '../sketch/quantile.ts';
import { ItemSample } from '../sketch/sample.ts';
import { authLogFacts, isLoginRequest, isRefused, requestIdentity } from './auth.ts';
import { emptyPayloadStats, payloadOf, payloadStats, type PayloadStats } from './payload.ts';

export interface AggregateSink {
  /** The aggregate of the entity's window holding `timeMs`, or undefined when that window is already closed. */
  open(entityId: string, timeMs: number): EntityAggregate | undefined;
}

type Resource = Record<string, string | number | boolean> | undefined;

/** Largest latency (ms) and byte count taken as they are; larger values are instrumentation bugs or attacks on the stats. */
const MAX_LATENCY_MS = 86_400_000;
const MAX_BYTES = 1e15;
/** OTLP severity numbers: ERROR starts at 17. */
const SEVERITY_ERROR = 17;
const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ash', 'ksh', 'mksh', 'csh', 'tcsh', 'fish', 'busybox', 'pwsh', 'powershell', 'cmd.exe']);

function sane(n: number | undefined, max: number): number | undefined {
  return n !== undefined && Number.isFinite(n) && n >= 0 && n <= max ? n : undefined;
}

function text(r: Resource, key: string): string | undefined {
  const v = r?.[key];
  return v === undefined || v === '' ? undefined : String(v);
}

function basename(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? path : path.slice(slash + 1);
}

/** Resource attributes findings need, copied into a new window's attributes. */
function resourceAttributes(agg: EntityAggregate, r: Resource): void {
  if (!r) return;
  agg.setAttribute('host.name', r['host.name']);
  agg.setAttribute('k8s.pod.name', r['k8s.pod.name']);
  agg.setAttribute('k8s.namespace.name', r['k8s.namespace.name']);
  agg.setAttribute('container.id', r['container.id']);
}

interface RequestFacts {
  latency: number;
  /** Sketch buckets (sketchKey) of the latency and the sizes, computed once for every entity the request counts in. */
  latencyKey: number;
  requestBytesKey: number;
  responseBytesKey: number;
  error: boolean;
  serverError: boolean;
  clientError: boolean;
  authFailure: boolean;
  notFound: boolean;
  failedLogin: boolean;
  requestBytes: number | undefined;
  responseBytes: number | undefined;
  method: 'GET' | 'POST' | 'other' | undefined;
  route: string;
  routeHash: number;
  missing: string | undefined;
  missingHash: number;
  identity: string | undefined;
  identityHash: number;
  /** Whom the entity dealt with (client address, called service, server address). */
  peer: string | undefined;
  peerHash: number;
  payload: PayloadStats | undefined;
  exemplar: ExemplarCandidate;
  /** The same request as a candidate for the largest (value: request + response bytes). */
  bytesExemplar: ExemplarCandidate;
}

const GRPC_SERVER_ERRORS = new Set([2, 4, 13, 14, 15]);
/** A client's route items (`<service> <route>`), shared between the clients that use the same route. */
const clientRoutes = new IdCache((service, route) => `${service} ${route}`);

function candidate(): ExemplarCandidate {
  return { traceId: '', spanId: '', timeMs: 0, value: 0, statusMessage: undefined };
}

const payloadScratch = emptyPayloadStats();

/** One request's facts, filled in place for each request (routing is synchronous; nothing keeps it). */
const facts: RequestFacts = {
  latency: 0, latencyKey: 0, requestBytesKey: 0, responseBytesKey: 0, error: false, serverError: false, clientError: false, authFailure: false, notFound: false, failedLogin: false,
  requestBytes: undefined, responseBytes: undefined, method: undefined, route: '', routeHash: 0, missing: undefined, missingHash: 0,
  identity: undefined, identityHash: 0, peer: undefined, peerHash: 0, payload: undefined, exemplar: candidate(), bytesExemplar: candidate(),
};

function requestFacts(e: RequestEvent, peer: string | undefined): RequestFacts {
  const f = facts;
  const status = e.httpStatus;
  const grpc = e.grpcStatus;
  const latency = sane(e.durationMs, MAX_LATENCY_MS) ?? 0;
  f.latency = latency;
  f.latencyKey = sketchKey(latency);
  f.error = e.error;
  f.serverError = status !== undefined ? status >= 500 && status < 600 : grpc !== undefined && GRPC_SERVER_ERRORS.has(grpc);
  f.clientError = status !== undefined && status >= 400 && status < 500;
  f.authFailure = status === 401 || status === 403 || (status === undefined && (grpc === 16 || grpc === 7));
  f.notFound = status === 404 || (status === undefined && grpc === 5);
  const login = isLoginRequest(e);
  f.failedLogin = login && isRefused(e);
  f.requestBytes = sane(e.requestBytes, MAX_BYTES);
  f.requestBytesKey = f.requestBytes === undefined ? 0 : sketchKey(f.requestBytes);
  f.responseBytes = sane(e.responseBytes, MAX_BYTES);
  f.responseBytesKey = f.responseBytes === undefined ? 0 : sketchKey(f.responseBytes);
  f.method = e.method === undefined ? undefined : e.method === 'GET' ? 'GET' : e.method === 'POST' ? 'POST' : 'other';
  f.route = e.route ?? e.operation;
  f.routeHash = itemHash(f.route);
  f.missing = f.notFound ? e.path ?? f.route : undefined;
  f.missingHash = f.missing === undefined ? 0 : itemHash(f.missing);
  f.identity = requestIdentity(e, login);
  f.identityHash = f.identity === undefined ? 0 : itemHash(f.identity);
  f.peer = peer;
  f.peerHash = peer === undefined ? 0 : itemHash(peer);
  const payloadText = payloadOf(e.query, e.requestBody);
  f.payload = payloadText === undefined ? undefined : payloadStats(payloadText, payloadScratch);
  const x = f.exemplar;
  x.traceId = e.traceId;
  x.spanId = e.spanId;
  x.timeMs = e.timeMs;
  x.value = latency;
  x.statusMessage = e.statusMessage;
  const b = f.bytesExemplar;
  b.traceId = e.traceId;
  b.spanId = e.spanId;
  b.timeMs = e.timeMs;
  b.value = (f.requestBytes ?? 0) + (f.responseBytes ?? 0);
  b.statusMessage = undefined;
  return f;
}

function addRequest(agg: EntityAggregate, f: RequestFacts, routeItem: string, routeHash: number, peer: string | undefined, peerHash: number): void {
  agg.samples++;
  const r = agg.req();
  r.count++;
  if (f.error) r.errors++;
  if (f.serverError) r.serverErrors++;
  if (f.clientError) r.clientErrors++;
  if (f.authFailure) r.authFailures++;
  if (f.notFound) r.notFound++;
  if (f.failedLogin) r.failedLogins++;
  r.latencySum += f.latency;
  if (f.latency > r.latencyMax) r.latencyMax = f.latency;
  r.latency.addKey(f.latencyKey);
  if (f.requestBytes !== undefined) {
    r.requestBytesCount++;
    r.requestBytesSum += f.requestBytes;
    if (f.requestBytes > r.requestBytesMax) r.requestBytesMax = f.requestBytes;
    (r.requestBytes ??= new QuantileSketch()).addKey(f.requestBytesKey);
  }
  if (f.responseBytes !== undefined) {
    r.responseBytesCount++;
    r.responseBytesSum += f.responseBytes;
    if (f.responseBytes > r.responseBytesMax) r.responseBytesMax = f.responseBytes;
    (r.responseBytes ??= new QuantileSketch()).addKey(f.responseBytesKey);
  }
  if (f.method === 'GET') r.methodGet++;
  else if (f.method === 'POST') r.methodPost++;
  else if (f.method === 'other') r.methodOther++;
  (r.routes ??= new DistinctCounter()).addHash(routeHash);
  (r.routeSample ??= new ItemSample(ROUTE_SAMPLE)).add(routeItem, 1, routeHash);
  if (f.missing !== undefined) {
    (r.missingRoutes ??= new DistinctCounter()).addHash(f.missingHash);
    (r.missingSample ??= new ItemSample(EXAMPLE_SAMPLE)).add(f.missing, 1, f.missingHash);
  }
  if (peer !== undefined) {
    (r.peers ??= new DistinctCounter()).addHash(peerHash);
    (r.peerSample ??= new ItemSample(EXAMPLE_SAMPLE)).add(peer, 1, peerHash);
  }
  if (f.identity !== undefined) addIdentity(agg, f.identity, f.identityHash);
  const p = f.payload;
  if (p) {
    const t = (r.payload ??= new PayloadTotals());
    t.count++;
    t.lengthSum += p.length;
    if (p.length > t.lengthMax) t.lengthMax = p.length;
    t.alphaSum += p.alphaRatio;
    t.digitSum += p.digitRatio;
    t.specialSum += p.specialRatio;
    t.encodedSum += p.encodedDensity;
    t.entropySum += p.entropy;
    if (p.entropy > t.entropyMax) t.entropyMax = p.entropy;
  }
  const ex = agg.ex();
  if (f.error) ex.offerError(f.exemplar);
  ex.offerSlow(f.exemplar);
  ex.offerLarge(f.bytesExemplar);
}

function addIdentity(agg: EntityAggregate, identity: string, h = itemHash(identity)): void {
  (agg.identities ??= new DistinctCounter()).addHash(h);
  (agg.identitySample ??= new ItemSample(EXAMPLE_SAMPLE)).add(identity, 1, h);
}

function addDestination(agg: EntityAggregate, destination: string): void {
  const h = itemHash(destination);
  (agg.destinations ??= new DistinctCounter()).addHash(h);
  (agg.destinationSample ??= new ItemSample(FIRST_SEEN_SAMPLE)).add(destination, 1, h);
}

/** Spans that serve a request: server and consumer spans, and internal roots (a job, a request without a server span). */
function serves(e: RequestEvent): boolean {
  if (e.spanKind === 'server' || e.spanKind === 'consumer') return true;
  return e.parentSpanId === undefined && e.spanKind !== 'client' && e.spanKind !== 'producer';
}

/**
 * Whom a client span calls: `peer.service`; else the server's name (`payment`, `valkey-cart`: a name is the callee,
 * whichever of its ports), or its address and port (an address alone says little: one host serves many things); else
 * the database or queue system.
 */
function calleeOf(e: RequestEvent): string | undefined {
  if (e.peerService) return e.peerService;
  if (e.serverAddress) return isIP(e.serverAddress) === 0 ? e.serverAddress : endpoint(e.serverAddress, e.serverPort);
  return e.dbSystem ?? e.rpcService;
}

export function routeRequest(sink: AggregateSink, e: RequestEvent): void {
  const t = e.timeMs;
  if (serves(e)) {
    const f = requestFacts(e, e.clientAddress);
    const service = sink.open(entityIds.service(e.service), t);
    if (service) {
      if (service.samples === 0) {
        service.setAttribute('service.name', e.service);
        resourceAttributes(service, e.resource);
      }
      addRequest(service, f, f.route, f.routeHash, f.peer, f.peerHash);
    }
    const operation = sink.open(entityIds.operation(e.service, e.operation), t);
    if (operation) {
      if (operation.samples === 0) {
        operation.setAttribute('service.name', e.service);
        operation.setAttribute('url.path', e.route);
        operation.setAttribute('http.request.method', e.method);
      }
      addRequest(operation, f, f.route, f.routeHash, f.peer, f.peerHash);
    }
    if (e.clientAddress) {
      const client = sink.open(entityIds.client(e.clientAddress), t);
      if (client) {
        if (client.samples === 0) {
          client.setAttribute('source.ip', e.clientAddress);
          client.setAttribute('service.name', e.service);
        }
        const routeItem = clientRoutes.get(e.service, f.route);
        addRequest(client, f, routeItem, itemHash(routeItem), e.service, itemHash(e.service));
      }
    }
    return;
  }
  if (e.spanKind !== 'client' && e.spanKind !== 'producer') return;
  const callee = calleeOf(e);
  if (callee === undefined) return;
  const edge = sink.open(entityIds.edge(e.service, callee), t);
  if (edge) {
    if (edge.samples === 0) {
      edge.setAttribute('service.name', e.service);
      edge.setAttribute('destination.service', e.peerService);
      edge.setAttribute('destination.address', e.serverAddress);
      edge.setAttribute('destination.port', e.serverPort);
    }
    const f = requestFacts(e, e.serverAddress === undefined ? undefined : endpoint(e.serverAddress, e.serverPort));
    addRequest(edge, f, f.route, f.routeHash, f.peer, f.peerHash);
  }
  const service = sink.open(entityIds.service(e.service), t);
  if (service) {
    if (service.samples === 0) service.setAttribute('service.name', e.service);
    service.samples++;
    addDestination(service, callee);
  }
}

/** The pod id of a resource (or of a record's attributes), without its `pod:` prefix use. */
function podOf(r: Resource, attrs?: Resource): string | undefined {
  return entityIds.pod(text(r, 'k8s.namespace.name'), text(r, 'k8s.pod.name'), text(attrs, 'container.id') ?? text(r, 'container.id'));
}

function hostEntities(sink: AggregateSink, host: string, pod: string | undefined, t: number, r: Resource): EntityAggregate[] {
  const out: EntityAggregate[] = [];
  const h = sink.open(entityIds.host(host), t);
  if (h) {
    if (h.samples === 0) h.setAttribute('host.name', host);
    out.push(h);
  }
  if (pod) {
    const p = podEntity(sink, pod, host, t, r);
    if (p) out.push(p);
  }
  return out;
}

function podEntity(sink: AggregateSink, pod: string, host: string, t: number, r: Resource): EntityAggregate | undefined {
  const p = sink.open(pod, t);
  if (p && p.samples === 0) {
    p.setAttribute('host.name', host);
    resourceAttributes(p, r);
  }
  return p;
}

function processEntity(sink: AggregateSink, host: string, pod: string | undefined, executable: string, t: number): EntityAggregate | undefined {
  const agg = sink.open(entityIds.process(pod === undefined ? host : pod.slice('pod:'.length), executable), t);
  if (agg && agg.samples === 0) {
    agg.setAttribute('host.name', host);
    agg.setAttribute('process.executable', executable);
  }
  return agg;
}

function routeExec(sink: AggregateSink, e: ProcessExecEvent, r: Resource, attrs: Resource): void {
  const pod = podOf(r, attrs);
  const shell = SHELLS.has(basename(e.binary));
  const commandLine = e.args.length > 0 ? e.args.join(' ') : e.binary;
  for (const agg of hostEntities(sink, e.host, pod, e.timeMs, r)) {
    agg.samples++;
    const a = agg.act();
    a.execs++;
    (a.binaries ??= new ItemSample(FIRST_SEEN_SAMPLE)).add(e.binary);
    if (shell) {
      a.shellExecs++;
      (a.shellSample ??= new ItemSample(EXAMPLE_SAMPLE)).add(commandLine);
    }
  }
  const proc = processEntity(sink, e.host, pod, e.binary, e.timeMs);
  if (proc) {
    proc.samples++;
    proc.act().execs++;
    if (shell) proc.act().shellExecs++;
  }
}

function routeConnection(sink: AggregateSink, e: ConnectionEvent, r: Resource): void {
  const pod = podOf(r);
  const destination = e.role === 'server' ? undefined : endpoint(e.remoteAddress, e.remotePort);
  const executable = text(r, 'process.executable.path') ?? e.command;
  const targets = hostEntities(sink, e.host, pod, e.timeMs, r);
  const proc = executable === undefined ? undefined : processEntity(sink, e.host, pod, executable, e.timeMs);
  if (proc) targets.push(proc);
  if (destination !== undefined && executable !== undefined) {
    const edge = sink.open(entityIds.edge(basename(executable), destination), e.timeMs);
    if (edge) {
      if (edge.samples === 0) {
        edge.setAttribute('host.name', e.host);
        edge.setAttribute('process.executable', executable);
        edge.setAttribute('destination.address', e.remoteAddress);
        edge.setAttribute('destination.port', e.remotePort);
      }
      targets.push(edge);
    }
  }
  for (const agg of targets) {
    agg.samples++;
    const a = agg.act();
    if (e.phase === 'open') a.connections++;
    a.bytesOut += sane(e.bytesSent, MAX_BYTES) ?? 0;
    a.bytesIn += sane(e.bytesReceived, MAX_BYTES) ?? 0;
    if (destination !== undefined && e.phase === 'open') addDestination(agg, destination);
  }
}

function routePlainLog(sink: AggregateSink, log: LogRecordEvent): void {
  const auth = authLogFacts(log);
  const service = sink.open(entityIds.service(log.service), log.timeMs);
  if (service) {
    if (service.samples === 0) {
      service.setAttribute('service.name', log.service);
      resourceAttributes(service, log.resource);
    }
    service.samples++;
    service.logs++;
    if (log.severity >= SEVERITY_ERROR) service.logErrors++;
    if (auth.failure) {
      service.authFailureLogs++;
      if (auth.identity !== undefined) addIdentity(service, auth.identity);
    }
  }
  if (auth.failure && auth.clientAddress !== undefined) {
    const client = sink.open(entityIds.client(auth.clientAddress), log.timeMs);
    if (client) {
      if (client.samples === 0) {
        client.setAttribute('source.ip', auth.clientAddress);
        client.setAttribute('service.name', log.service);
      }
      client.samples++;
      client.authFailureLogs++;
      if (auth.identity !== undefined) {
        addIdentity(client, auth.identity);
        client.setAttribute('user.name', auth.identity);
      }
    }
  }
}

/** A log record: the sensor's exec and connection records, or an application log. */
export function routeLog(sink: AggregateSink, log: LogRecordEvent): void {
  const typed = activityEvent(log);
  if (typed.kind === 'exec') routeExec(sink, typed, log.resource, log.attributes);
  else if (typed.kind === 'connection') routeConnection(sink, typed, log.resource);
  else routePlainLog(sink, log);
}

const TIME_UNITS: Readonly<Record<string, number>> = { s: 1, ms: 1e-3, us: 1e-6, 'µs': 1e-6, ns: 1e-9 };
const PROCESS_CPU = new Set(['process.cpu.time', 'process.runtime.cpu.time']);
const PROCESS_MEMORY = new Set(['process.memory.usage', 'process.memory.rss', 'process.runtime.memory.rss']);
const POD_CPU = new Set(['container.cpu.time', 'k8s.pod.cpu.time']);
const POD_MEMORY = new Set(['container.memory.usage', 'container.memory.working_set', 'k8s.pod.memory.usage', 'k8s.pod.memory.working_set']);

/** Process, container and host CPU and memory metrics; other metrics are not features (yet). */
export function routeMetric(sink: AggregateSink, m: MetricPointEvent): void {
  const name = m.name;
  const cpu = PROCESS_CPU.has(name) || POD_CPU.has(name) || name === 'system.cpu.time';
  const memory = PROCESS_MEMORY.has(name) || POD_MEMORY.has(name) || name === 'system.memory.usage';
  if (!cpu && !memory) return;
  const state = m.attributes.state ?? m.attributes['cpu.mode'] ?? m.attributes['system.memory.state'];
  if (name === 'system.cpu.time' && state === 'idle') return;
  if (name === 'system.memory.usage' && state !== undefined && state !== 'used') return;
  const r = m.resource;
  const host = text(r, 'host.name') ?? m.service;
  const pod = podOf(r);
  // A delta covers (start, time]: its last instant is just before `time`, so a scrape at a window's boundary counts in
  // the window the CPU was spent in, not in the next one (a miner's first busy seconds a window late).
  const t = cpu && m.startTimeMs !== undefined && m.startTimeMs < m.timeMs ? m.timeMs - Math.min(1, (m.timeMs - m.startTimeMs) / 2) : m.timeMs;
  let agg: EntityAggregate | undefined;
  if (PROCESS_CPU.has(name) || PROCESS_MEMORY.has(name)) {
    const executable = text(r, 'process.executable.path') ?? text(r, 'process.executable.name') ?? text(r, 'process.command');
    if (executable === undefined) return;
    agg = processEntity(sink, host, pod, executable, t);
  } else if (POD_CPU.has(name) || POD_MEMORY.has(name)) {
    if (pod === undefined) return;
    agg = podEntity(sink, pod, host, t, r);
  } else {
    agg = hostEntities(sink, host, undefined, t, r)[0];
  }
  if (!agg) return;
  agg.samples++;
  const a = agg.act();
  if (cpu) {
    if (m.metricType !== 'sum' || m.monotonic === false) return; // a cumulative counter, already made a delta
    const seconds = (sane(m.value, MAX_BYTES) ?? 0) * (TIME_UNITS[m.unit ?? 's'] ?? 1);
    a.cpuSeconds += seconds;
  } else {
    const bytes = sane(m.value, MAX_BYTES) ?? 0;
    if (bytes > a.memoryBytesMax) a.memoryBytesMax = bytes;
  }
}
