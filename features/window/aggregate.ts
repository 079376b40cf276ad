/**
 * What one entity's window holds while it is open: counters, sums and mergeable sketches, grouped in families that
 * are created on first use (most entities touch one or two). The same type is the partial aggregate one features
 * instance builds from one source partition and the merged aggregate the entity's owner turns into a vector:
 * `merge` folds partials together (the owner merges in a fixed order, so even float sums come out bit for bit the
 * same), `write`/`read` carry partials over the internal topic. Pure.
 */
import { DecodeError } from '../../core/errors.ts';
import { ByteReader, ByteWriter } from '../codec.ts';
import { DistinctCounter } from '../sketch/distinct.ts';
import { insertedAt } from '../sketch/hash.ts';
import { QuantileSketch } from '../sketch/quantile.ts';
import { ItemSample } from '../sketch/sample.ts';

/** Items kept per window for route entropy and first-seen checks, and examples kept per named list. */
export const ROUTE_SAMPLE = 64;
export const FIRST_SEEN_SAMPLE = 32;
export const EXAMPLE_SAMPLE = 5;
export const MAX_ERROR_EXEMPLARS = 3;
/** Attribute values longer than this are cut (they go into findings as they are). */
const MAX_ATTRIBUTE_LENGTH = 256;

export interface ExemplarCandidate {
  traceId: string;
  spanId: string;
  timeMs: number;
  value: number;
  statusMessage?: string;
}

/** A total order on candidates, so which exemplars a window keeps never depends on arrival or merge order. */
function earlier(a: ExemplarCandidate, b: ExemplarCandidate): boolean {
  return a.timeMs !== b.timeMs ? a.timeMs < b.timeMs : a.traceId !== b.traceId ? a.traceId < b.traceId : a.spanId < b.spanId;
}

function larger(a: ExemplarCandidate, b: ExemplarCandidate | undefined): boolean {
  return b === undefined || a.value > b.value || (a.value === b.value && earlier(a, b));
}

export class Exemplars {
  errors: ExemplarCandidate[] = [];
  slowest: ExemplarCandidate | undefined;
  largest: ExemplarCandidate | undefined;

  // Offers copy a candidate only when it is kept: callers pass one scratch object for every event.
  offerError(c: ExemplarCandidate): void {
    const e = this.errors;
    if (e.length === MAX_ERROR_EXEMPLARS && !earlier(c, e[e.length - 1])) return;
    let i = e.length;
    while (i > 0 && earlier(c, e[i - 1])) i--;
    if (i < e.length && e[i].traceId === c.traceId && e[i].spanId === c.spanId) return;
    this.errors = insertedAt(e, i, { ...c }).slice(0, MAX_ERROR_EXEMPLARS);
  }

  offerSlow(c: ExemplarCandidate): void {
    if (larger(c, this.slowest)) this.slowest = { ...c };
  }

  offerLarge(c: ExemplarCandidate): void {
    if (c.value > 0 && larger(c, this.largest)) this.largest = { ...c };
  }

  merge(o: Exemplars): void {
    for (const c of o.errors) this.offerError(c);
    if (o.slowest) this.offerSlow(o.slowest);
    if (o.largest) this.offerLarge(o.largest);
  }
}

/** Requests served or made (spans), from the entity's point of view. */
export class RequestStats {
  count = 0;
  errors = 0;
  serverErrors = 0;
  clientErrors = 0;
  authFailures = 0;
  notFound = 0;
  failedLogins = 0;
  latencySum = 0;
  latencyMax = 0;
  readonly latency = new QuantileSketch();
  requestBytesCount = 0;
  requestBytesSum = 0;
  requestBytesMax = 0;
  requestBytes: QuantileSketch | undefined;
  responseBytesCount = 0;
  responseBytesSum = 0;
  responseBytesMax = 0;
  responseBytes: QuantileSketch | undefined;
  methodGet = 0;
  methodPost = 0;
  methodOther = 0;
  routes: DistinctCounter | undefined;
  routeSample: ItemSample | undefined;
  missingRoutes: DistinctCounter | undefined;
  missingSample: ItemSample | undefined;
  peers: DistinctCounter | undefined;
  peerSample: ItemSample | undefined;
  /** Requests with a query or body (most windows have none: kept apart, created on first use). */
  payload: PayloadTotals | undefined;

  merge(o: RequestStats): void {
    this.count += o.count;
    this.errors += o.errors;
    this.serverErrors += o.serverErrors;
    this.clientErrors += o.clientErrors;
    this.authFailures += o.authFailures;
    this.notFound += o.notFound;
    this.failedLogins += o.failedLogins;
    this.latencySum += o.latencySum;
    this.latencyMax = Math.max(this.latencyMax, o.latencyMax);
    this.latency.merge(o.latency);
    this.requestBytesCount += o.requestBytesCount;
    this.requestBytesSum += o.requestBytesSum;
    this.requestBytesMax = Math.max(this.requestBytesMax, o.requestBytesMax);
    if (o.requestBytes) (this.requestBytes ??= new QuantileSketch()).merge(o.requestBytes);
    this.responseBytesCount += o.responseBytesCount;
    this.responseBytesSum += o.responseBytesSum;
    this.responseBytesMax = Math.max(this.responseBytesMax, o.responseBytesMax);
    if (o.responseBytes) (this.responseBytes ??= new QuantileSketch()).merge(o.responseBytes);
    this.methodGet += o.methodGet;
    this.methodPost += o.methodPost;
    this.methodOther += o.methodOther;
    if (o.routes) (this.routes ??= new DistinctCounter()).merge(o.routes);
    if (o.routeSample) (this.routeSample ??= new ItemSample(ROUTE_SAMPLE)).merge(o.routeSample);
    if (o.missingRoutes) (this.missingRoutes ??= new DistinctCounter()).merge(o.missingRoutes);
    if (o.missingSample) (this.missingSample ??= new ItemSample(EXAMPLE_SAMPLE)).merge(o.missingSample);
    if (o.peers) (this.peers ??= new DistinctCounter()).merge(o.peers);
    if (o.peerSample) (this.peerSample ??= new ItemSample(EXAMPLE_SAMPLE)).merge(o.peerSample);
    if (o.payload) (this.payload ??= new PayloadTotals()).merge(o.payload);
  }
}

export class PayloadTotals {
  count = 0;
  lengthSum = 0;
  lengthMax = 0;
  alphaSum = 0;
  digitSum = 0;
  specialSum = 0;
  encodedSum = 0;
  entropySum = 0;
  entropyMax = 0;

  merge(o: PayloadTotals): void {
    this.count += o.count;
    this.lengthSum += o.lengthSum;
    this.lengthMax = Math.max(this.lengthMax, o.lengthMax);
    this.alphaSum += o.alphaSum;
    this.digitSum += o.digitSum;
    this.specialSum += o.specialSum;
    this.encodedSum += o.encodedSum;
    this.entropySum += o.entropySum;
    this.entropyMax = Math.max(this.entropyMax, o.entropyMax);
  }

  write(w: ByteWriter): void {
    w.uint(this.count);
    for (const n of [this.lengthSum, this.lengthMax, this.alphaSum, this.digitSum, this.specialSum, this.encodedSum, this.entropySum, this.entropyMax]) w.double(n);
  }

  static read(r: ByteReader): PayloadTotals {
    const p = new PayloadTotals();
    p.count = r.uint();
    p.lengthSum = r.double(); p.lengthMax = r.double(); p.alphaSum = r.double(); p.digitSum = r.double();
    p.specialSum = r.double(); p.encodedSum = r.double(); p.entropySum = r.double(); p.entropyMax = r.double();
    return p;
  }
}

/** Process starts and connections (the sensor's records) and resource use (metrics). */
export class ActivityStats {
  execs = 0;
  shellExecs = 0;
  binaries: ItemSample | undefined;
  shellSample: ItemSample | undefined;
  connections = 0;
  bytesOut = 0;
  bytesIn = 0;
  cpuSeconds = 0;
  memoryBytesMax = 0;

  merge(o: ActivityStats): void {
    this.execs += o.execs;
    this.shellExecs += o.shellExecs;
    if (o.binaries) (this.binaries ??= new ItemSample(FIRST_SEEN_SAMPLE)).merge(o.binaries);
    if (o.shellSample) (this.shellSample ??= new ItemSample(EXAMPLE_SAMPLE)).merge(o.shellSample);
    this.connections += o.connections;
    this.bytesOut += o.bytesOut;
    this.bytesIn += o.bytesIn;
    this.cpuSeconds += o.cpuSeconds;
    this.memoryBytesMax = Math.max(this.memoryBytesMax, o.memoryBytesMax);
  }
}

export class EntityAggregate {
  /** Events of any kind that went into the window. */
  samples = 0;
  requests: RequestStats | undefined;
  activity: ActivityStats | undefined;
  /** Outbound destinations (callees of client spans, remote ends of the sensor's client connections). */
  destinations: DistinctCounter | undefined;
  destinationSample: ItemSample | undefined;
  /** User names tried (login requests, authentication logs). */
  identities: DistinctCounter | undefined;
  identitySample: ItemSample | undefined;
  logs = 0;
  logErrors = 0;
  /** Authentication failures reported by logs (they add to failed_login_count). */
  authFailureLogs = 0;
  exemplars: Exemplars | undefined;
  /** ECS-bound attributes: the first value seen per key. */
  attributes: Record<string, string> | undefined;

  req(): RequestStats {
    return (this.requests ??= new RequestStats());
  }

  act(): ActivityStats {
    return (this.activity ??= new ActivityStats());
  }

  ex(): Exemplars {
    return (this.exemplars ??= new Exemplars());
  }

  setAttribute(key: string, value: string | number | boolean | undefined): void {
    if (value === undefined || value === '') return;
    const attrs = (this.attributes ??= {});
    if (attrs[key] !== undefined) return;
    const s = String(value);
    attrs[key] = s.length > MAX_ATTRIBUTE_LENGTH ? s.slice(0, MAX_ATTRIBUTE_LENGTH) : s;
  }

  merge(o: EntityAggregate): void {
    this.samples += o.samples;
    if (o.requests) this.req().merge(o.requests);
    if (o.activity) this.act().merge(o.activity);
    if (o.destinations) (this.destinations ??= new DistinctCounter()).merge(o.destinations);
    if (o.destinationSample) (this.destinationSample ??= new ItemSample(FIRST_SEEN_SAMPLE)).merge(o.destinationSample);
    if (o.identities) (this.identities ??= new DistinctCounter()).merge(o.identities);
    if (o.identitySample) (this.identitySample ??= new ItemSample(EXAMPLE_SAMPLE)).merge(o.identitySample);
    this.logs += o.logs;
    this.logErrors += o.logErrors;
    this.authFailureLogs += o.authFailureLogs;
    if (o.exemplars) this.ex().merge(o.exemplars);
    if (o.attributes) for (const [k, v] of Object.entries(o.attributes)) this.setAttribute(k, v);
  }

  write(w: ByteWriter): void {
    w.uint(this.samples).uint(this.logs).uint(this.logErrors).uint(this.authFailureLogs);
    const r = this.requests;
    w.uint(r ? 1 : 0);
    if (r) {
      for (const n of [r.count, r.errors, r.serverErrors, r.clientErrors, r.authFailures, r.notFound, r.failedLogins,
        r.requestBytesCount, r.responseBytesCount, r.methodGet, r.methodPost, r.methodOther]) w.uint(n);
      for (const n of [r.latencySum, r.latencyMax, r.requestBytesSum, r.requestBytesMax, r.responseBytesSum, r.responseBytesMax]) w.double(n);
      writeOptional(w, r.payload);
      r.latency.write(w);
      writeOptional(w, r.requestBytes);
      writeOptional(w, r.responseBytes);
      writeOptional(w, r.routes);
      writeOptional(w, r.routeSample);
      writeOptional(w, r.missingRoutes);
      writeOptional(w, r.missingSample);
      writeOptional(w, r.peers);
      writeOptional(w, r.peerSample);
    }
    const a = this.activity;
    w.uint(a ? 1 : 0);
    if (a) {
      w.uint(a.execs).uint(a.shellExecs).uint(a.connections).double(a.bytesOut).double(a.bytesIn).double(a.cpuSeconds).double(a.memoryBytesMax);
      writeOptional(w, a.binaries);
      writeOptional(w, a.shellSample);
    }
    writeOptional(w, this.destinations);
    writeOptional(w, this.destinationSample);
    writeOptional(w, this.identities);
    writeOptional(w, this.identitySample);
    const e = this.exemplars;
    w.uint(e ? 1 : 0);
    if (e) {
      w.uint(e.errors.length);
      for (const c of e.errors) writeCandidate(w, c);
      writeOptionalCandidate(w, e.slowest);
      writeOptionalCandidate(w, e.largest);
    }
    const attrs = this.attributes ? Object.entries(this.attributes) : [];
    w.uint(attrs.length);
    for (const [k, v] of attrs) w.string(k).string(v);
  }

  static read(rd: ByteReader): EntityAggregate {
    const g = new EntityAggregate();
    g.samples = rd.uint();
    g.logs = rd.uint();
    g.logErrors = rd.uint();
    g.authFailureLogs = rd.uint();
    if (flag(rd)) {
      const r = g.req();
      r.count = rd.uint(); r.errors = rd.uint(); r.serverErrors = rd.uint(); r.clientErrors = rd.uint();
      r.authFailures = rd.uint(); r.notFound = rd.uint(); r.failedLogins = rd.uint(); r.requestBytesCount = rd.uint();
      r.responseBytesCount = rd.uint(); r.methodGet = rd.uint(); r.methodPost = rd.uint(); r.methodOther = rd.uint();
      r.latencySum = rd.double(); r.latencyMax = rd.double(); r.requestBytesSum = rd.double(); r.requestBytesMax = rd.double();
      r.responseBytesSum = rd.double(); r.responseBytesMax = rd.double();
      r.payload = flag(rd) ? PayloadTotals.read(rd) : undefined;
      r.latency.merge(QuantileSketch.read(rd));
      r.requestBytes = flag(rd) ? QuantileSketch.read(rd) : undefined;
      r.responseBytes = flag(rd) ? QuantileSketch.read(rd) : undefined;
      r.routes = flag(rd) ? DistinctCounter.read(rd) : undefined;
      r.routeSample = flag(rd) ? ItemSample.read(rd, ROUTE_SAMPLE) : undefined;
      r.missingRoutes = flag(rd) ? DistinctCounter.read(rd) : undefined;
      r.missingSample = flag(rd) ? ItemSample.read(rd, EXAMPLE_SAMPLE) : undefined;
      r.peers = flag(rd) ? DistinctCounter.read(rd) : undefined;
      r.peerSample = flag(rd) ? ItemSample.read(rd, EXAMPLE_SAMPLE) : undefined;
    }
    if (flag(rd)) {
      const a = g.act();
      a.execs = rd.uint(); a.shellExecs = rd.uint(); a.connections = rd.uint();
      a.bytesOut = rd.double(); a.bytesIn = rd.double(); a.cpuSeconds = rd.double(); a.memoryBytesMax = rd.double();
      a.binaries = flag(rd) ? ItemSample.read(rd, FIRST_SEEN_SAMPLE) : undefined;
      a.shellSample = flag(rd) ? ItemSample.read(rd, EXAMPLE_SAMPLE) : undefined;
    }
    g.destinations = flag(rd) ? DistinctCounter.read(rd) : undefined;
    g.destinationSample = flag(rd) ? ItemSample.read(rd, FIRST_SEEN_SAMPLE) : undefined;
    g.identities = flag(rd) ? DistinctCounter.read(rd) : undefined;
    g.identitySample = flag(rd) ? ItemSample.read(rd, EXAMPLE_SAMPLE) : undefined;
    if (flag(rd)) {
      const e = g.ex();
      const n = rd.count(MAX_ERROR_EXEMPLARS);
      for (let i = 0; i < n; i++) e.offerError(readCandidate(rd));
      if (flag(rd)) e.offerSlow(readCandidate(rd));
      if (flag(rd)) e.offerLarge(readCandidate(rd));
    }
    const attrs = rd.count(64);
    for (let i = 0; i < attrs; i++) g.setAttribute(rd.string(), rd.string());
    return g;
  }
}

function flag(r: ByteReader): boolean {
  const f = r.uint();
  if (f > 1) throw new DecodeError(`aggregate: presence flag ${f}`);
  return f === 1;
}

function writeOptional(w: ByteWriter, part: { write(w: ByteWriter): void } | undefined): void {
  w.uint(part ? 1 : 0);
  part?.write(w);
}

function writeCandidate(w: ByteWriter, c: ExemplarCandidate): void {
  w.string(c.traceId).string(c.spanId).double(c.timeMs).double(c.value).string(c.statusMessage ?? '');
}

function writeOptionalCandidate(w: ByteWriter, c: ExemplarCandidate | undefined): void {
  w.uint(c ? 1 : 0);
  if (c) writeCandidate(w, c);
}

function readCandidate(r: ByteReader): ExemplarCandidate {
  const traceId = r.string();
  const spanId = r.string();
  const timeMs = r.double();
  const value = r.double();
  const statusMessage = r.string();
  return { traceId, spanId, timeMs, value, statusMessage: statusMessage === '' ? undefined : statusMessage };
}

export function encodeAggregate(a: EntityAggregate): Buffer {
  const w = new ByteWriter(512);
  a.write(w);
  return w.finish();
}

export function decodeAggregate(bytes: Uint8Array): EntityAggregate {
  return EntityAggregate.read(new ByteReader(bytes));
}
