/**
 * Per-connection reassembly: sensor records in, paired HTTP exchanges out. Pure (time comes from
 * the records and from the caller), bounded (connection count, pending requests per connection,
 * body excerpts, header size), and never throws on what a socket carried.
 */
import type { ConnRecord, DataRecord, Endpoint, MonoNs, Role } from './frames.ts';
import { HttpStream, startsMessage, type FeedResult, type HttpMessage } from './http-stream.ts';

export interface ConnectionMeta {
  key: string;
  tgid: number;
  fd: number;
  connId: string;
  role: Role;
  comm: string;
  local?: Endpoint;
  remote?: Endpoint;
  cgroupId?: string;
  tls: boolean;
  preexisting: boolean;
  openedNs: MonoNs;
}

export interface HttpExchange {
  conn: ConnectionMeta;
  /** Thread that handled the request's last chunk. */
  tid: number;
  request: HttpMessage;
  response: HttpMessage;
  latencyNs: number;
}

export interface TrackerOptions {
  /** Body bytes kept per message (excerpt + redaction margin). */
  keepBodyBytes: number;
  maxHeaderBytes: number;
  maxConnections: number;
  /** Connections with no activity for this long are dropped. */
  idleTimeoutNs: number;
  /** Requests waiting for responses on one connection (pipelining depth). */
  maxPending: number;
  /** Chunks a connection may carry without any HTTP before it is written off as not HTTP. */
  maxNonHttpChunks: number;
  /** http-stream.ts's JS fast path (on unless false). */
  fastPath?: boolean;
}

export const DEFAULT_TRACKER_OPTIONS: TrackerOptions = {
  keepBodyBytes: 4096 + 256,
  maxHeaderBytes: 16 * 1024,
  maxConnections: 16_384,
  idleTimeoutNs: 300e9,
  maxPending: 64,
  maxNonHttpChunks: 8,
};

export interface TrackerCounters {
  exchanges: number;
  /** Streams that broke (malformed, truncated headers, binary) — dropped, then resynchronized. */
  unparseable: number;
  /** Connections written off as another protocol (HTTP/2, gRPC, binary). */
  nonHttpConnections: number;
  http2Connections: number;
  tlsCiphertextChunks: number;
  unansweredRequests: number;
  unmatchedResponses: number;
  pendingOverflow: number;
  evictedConnections: number;
  expiredConnections: number;
  ignoredBytes: number;
}

type Mode = 'http' | 'not-http';

interface ConnState {
  meta: ConnectionMeta;
  lastNs: MonoNs;
  /** lastNs when the entry last moved to the end of the map (see ensure). */
  orderNs: MonoNs;
  lastTid: number;
  mode: Mode;
  /** Which direction carries requests; undefined until the first chunk says. */
  requestDirection?: 'egress' | 'ingress';
  requests?: HttpStream;
  responses?: HttpStream;
  pending: HttpMessage[];
  chunksWithoutHttp: number;
  sawHttp: boolean;
  brokenReported: boolean;
}

const HTTP2_PREFACE = 'PRI * HTTP/2.0';

function looksLikeTlsRecord(data: Buffer): boolean {
  // content type handshake/alert/application data/ccs, version 3.x
  return data.length >= 3 && data[0] >= 0x14 && data[0] <= 0x17 && data[1] === 0x03 && data[2] <= 0x04;
}

function zeroCounters(): TrackerCounters {
  return {
    exchanges: 0, unparseable: 0, nonHttpConnections: 0, http2Connections: 0, tlsCiphertextChunks: 0,
    unansweredRequests: 0, unmatchedResponses: 0, pendingOverflow: 0, evictedConnections: 0,
    expiredConnections: 0, ignoredBytes: 0,
  };
}

export class ConnectionTracker {
  private readonly conns = new Map<string, ConnState>();
  /** Live connections by their id (a record's connId string is made once per connection, see frames.ts). */
  private readonly byConnId = new Map<string, ConnState>();
  /** Live socket connections by (tgid, fd): an open finds the instances it replaces without a scan. */
  private readonly byFd = new Map<string, ConnState[]>();
  readonly counters: TrackerCounters = zeroCounters();
  private readonly options: TrackerOptions;

  private readonly reorderNs: number;

  constructor(options: Partial<TrackerOptions> = {}) {
    this.options = { ...DEFAULT_TRACKER_OPTIONS, ...options };
    this.reorderNs = Math.min(1e9, this.options.idleTimeoutNs / 300);
  }

  get size(): number {
    return this.conns.size;
  }

  /** Feeds one record; returns the exchanges it completed. */
  onRecord(rec: DataRecord | ConnRecord): HttpExchange[] {
    const out: HttpExchange[] = [];
    if (rec.type === 'conn-open') {
      const key = connKey(rec.tgid, rec.fd, rec.connId);
      // An open on an (tgid, fd) we still track means the old instance closed unseen.
      const sameFd = this.byFd.get(fdKey(rec.tgid, rec.fd));
      if (sameFd) for (const c of [...sameFd]) if (c.meta.key !== key) this.drop(c.meta.key, c, rec.tsNs, out);
      const state = this.ensure(key, rec, rec.tsNs);
      state.meta.local = rec.local;
      state.meta.remote = rec.remote;
      state.meta.cgroupId = rec.cgroupId;
      state.meta.preexisting = rec.preexisting;
      if (rec.role !== 'unknown') state.meta.role = rec.role;
      return out;
    }
    if (rec.type === 'conn-close') {
      const key = connKey(rec.tgid, rec.fd, rec.connId);
      const state = this.conns.get(key);
      if (state) this.drop(key, state, rec.tsNs, out);
      return out;
    }
    if (rec.type !== 'data') return out;
    const state = this.stateOf(rec);
    state.lastTid = rec.tid;
    if (rec.source === 'tls' && !state.meta.tls) {
      // From now on the plaintext comes from SSL_*; what the syscalls carried was ciphertext.
      state.meta.tls = true;
      this.resetStreams(state);
      state.mode = 'http';
      state.chunksWithoutHttp = 0;
    } else if (rec.source === 'syscall' && state.meta.tls) {
      this.counters.ignoredBytes += rec.size;
      return out;
    }
    if (state.mode === 'not-http') {
      this.counters.ignoredBytes += rec.size;
      return out;
    }
    this.feed(state, rec, out);
    return out;
  }

  /** Drops connections idle for longer than the timeout. */
  expire(nowNs: MonoNs): HttpExchange[] {
    const out: HttpExchange[] = [];
    for (const [key, state] of this.conns) {
      // Map order is least recently active first (to within reorderNs, see ensure).
      if (nowNs - state.lastNs < this.options.idleTimeoutNs) break;
      this.counters.expiredConnections++;
      this.drop(key, state, nowNs, out);
    }
    return out;
  }

  /** Ends every connection (sensor shutdown): completes what the close can complete. */
  closeAll(nowNs: MonoNs): HttpExchange[] {
    const out: HttpExchange[] = [];
    for (const [key, state] of this.conns) this.drop(key, state, nowNs, out);
    return out;
  }

  private ensure(key: string, rec: DataRecord | ConnRecord, tsNs: MonoNs): ConnState {
    const state = this.conns.get(key);
    if (state) return this.touch(state, rec, tsNs);
    const created: ConnState = {
      meta: {
        key, tgid: rec.tgid, fd: rec.fd, connId: rec.connId, role: rec.role, comm: rec.comm,
        tls: false, preexisting: false, openedNs: tsNs,
      },
      lastNs: tsNs, orderNs: tsNs, lastTid: rec.tid, mode: 'http', pending: [], chunksWithoutHttp: 0, sawHttp: false,
      brokenReported: false,
    };
    while (this.conns.size >= this.options.maxConnections) {
      const [oldKey, oldest] = this.conns.entries().next().value as [string, ConnState];
      this.counters.evictedConnections++;
      this.drop(oldKey, oldest, tsNs, []);
    }
    if (rec.fd >= 0) {
      this.byConnId.set(rec.connId, created);
      const fk = fdKey(rec.tgid, rec.fd);
      const sameFd = this.byFd.get(fk);
      if (sameFd) sameFd.push(created);
      else this.byFd.set(fk, [created]);
    }
    this.conns.set(key, created);
    return created;
  }

  /** A data record's connection, found by its id without building the key (the usual case) or by the key. */
  private stateOf(rec: DataRecord): ConnState {
    const known = rec.fd >= 0 ? this.byConnId.get(rec.connId) : undefined;
    if (known !== undefined && known.meta.tgid === rec.tgid && known.meta.fd === rec.fd) return this.touch(known, rec, rec.tsNs);
    return this.ensure(rec.fd >= 0 ? connKey(rec.tgid, rec.fd, rec.connId) : `${rec.tgid}:ssl:${rec.sslPtr}`, rec, rec.tsNs);
  }

  private touch(state: ConnState, rec: DataRecord | ConnRecord, tsNs: MonoNs): ConnState {
    if (rec.comm) state.meta.comm = rec.comm;
    if (tsNs > state.lastNs) state.lastNs = tsNs;
    // Re-inserting keeps the map ordered by activity for expiry and eviction. Once per reorderNs
    // of stream time is enough (not on every record): the order is then at most that stale, which
    // delays an expiry by at most as much (1 s of a 300 s timeout).
    if (tsNs - state.orderNs >= this.reorderNs) {
      this.conns.delete(state.meta.key);
      this.conns.set(state.meta.key, state);
      state.orderNs = state.lastNs;
    }
    return state;
  }

  private feed(state: ConnState, rec: DataRecord, out: HttpExchange[]): void {
    const data = rec.data;
    if (!state.requestDirection && !this.decideDirection(state, rec)) return;
    const isRequest = rec.direction === state.requestDirection;
    const stream = isRequest ? this.requestStream(state) : this.responseStream(state);
    let result: FeedResult;
    if (!stream.inMessage && !stream.upgraded && !startsMessage(stream.kind, data)) {
      result = this.classifyForeign(state, data) ? 'ok' : stream.feed(data, rec.size, rec.tsNs);
      if (state.mode === 'not-http') return;
    } else {
      result = stream.feed(data, rec.size, rec.tsNs);
    }
    if (result === 'ok') {
      if (stream.completed.length) state.sawHttp = true;
    } else {
      if (!state.brokenReported) {
        this.counters.unparseable++;
        state.brokenReported = true; // one count per break, not per chunk
      }
      if (!state.sawHttp && ++state.chunksWithoutHttp >= this.options.maxNonHttpChunks) {
        this.writeOff(state);
        return;
      }
    }
    if (result === 'ok' && stream.inMessage) state.brokenReported = false;
    this.collect(state, rec.tid, out);
    // After a 101 (or a CONNECT tunnel) the bytes are another protocol. The request side stops by
    // itself at an upgrade request; the connection is written off once the answer says yes.
    if (state.responses?.upgraded) this.writeOff(state, false);
  }

  /** First chunk of a connection whose role we do not know: which side speaks first? */
  private decideDirection(state: ConnState, rec: DataRecord): boolean {
    const { role } = state.meta;
    if (role === 'client') state.requestDirection = 'egress';
    else if (role === 'server') state.requestDirection = 'ingress';
    else if (startsMessage('request', rec.data)) state.requestDirection = rec.direction;
    else if (startsMessage('response', rec.data)) state.requestDirection = rec.direction === 'egress' ? 'ingress' : 'egress';
    else {
      if (!this.classifyForeign(state, rec.data) && ++state.chunksWithoutHttp >= this.options.maxNonHttpChunks) this.writeOff(state);
      return false;
    }
    if (role === 'unknown') state.meta.role = state.requestDirection === 'egress' ? 'client' : 'server';
    return true;
  }

  /** Recognizes protocols that are not HTTP/1.x; true when the chunk was accounted for. */
  private classifyForeign(state: ConnState, data: Buffer): boolean {
    if (looksLikeTlsRecord(data)) {
      // Ciphertext: its plaintext arrives from the uprobes, if the library is attached.
      this.counters.tlsCiphertextChunks++;
      return true;
    }
    if (data.toString('latin1', 0, HTTP2_PREFACE.length) === HTTP2_PREFACE) {
      this.counters.http2Connections++;
      this.writeOff(state);
      return true;
    }
    return false;
  }

  private writeOff(state: ConnState, count = true): void {
    if (count) this.counters.nonHttpConnections++;
    state.mode = 'not-http';
    this.counters.unansweredRequests += state.pending.length;
    state.pending = [];
    this.resetStreams(state);
  }

  private requestStream(state: ConnState): HttpStream {
    state.requests ??= new HttpStream('request', this.options);
    return state.requests;
  }

  private responseStream(state: ConnState): HttpStream {
    state.responses ??= new HttpStream('response', this.options, () => state.pending[0]?.method);
    return state.responses;
  }

  private collect(state: ConnState, tid: number, out: HttpExchange[]): void {
    const requests = state.requests?.completed;
    if (requests?.length) {
      for (const req of requests) {
        if (state.pending.length >= this.options.maxPending) {
          state.pending.shift();
          this.counters.pendingOverflow++;
        }
        state.pending.push(req);
      }
      requests.length = 0;
    }
    const responses = state.responses?.completed;
    if (responses?.length) {
      for (const resp of responses) {
        const status = resp.status ?? 0;
        if (status >= 100 && status < 200 && status !== 101) continue; // 100 Continue etc. precede the real answer
        const req = state.pending.shift();
        if (!req) {
          this.counters.unmatchedResponses++;
          continue;
        }
        this.counters.exchanges++;
        out.push({
          conn: { ...state.meta },
          tid,
          request: req,
          response: resp,
          latencyNs: Math.max(0, resp.endNs - req.startNs),
        });
      }
      responses.length = 0;
    }
  }

  private drop(key: string, state: ConnState, nowNs: MonoNs, out: HttpExchange[]): void {
    // A response delimited by the close (HTTP/1.0 without Content-Length) completes now.
    if (state.mode === 'http') {
      state.responses?.finish(nowNs);
      state.requests?.finish(nowNs);
      this.collect(state, state.lastTid, out);
    }
    this.counters.unansweredRequests += state.pending.length;
    this.resetStreams(state);
    this.conns.delete(key);
    if (this.byConnId.get(state.meta.connId) === state) this.byConnId.delete(state.meta.connId);
    if (state.meta.fd >= 0) {
      const fk = fdKey(state.meta.tgid, state.meta.fd);
      const sameFd = this.byFd.get(fk);
      const at = sameFd ? sameFd.indexOf(state) : -1;
      if (at >= 0) sameFd!.splice(at, 1);
      if (sameFd && sameFd.length === 0) this.byFd.delete(fk);
    }
  }

  private resetStreams(state: ConnState): void {
    state.requests?.dispose();
    state.responses?.dispose();
    state.requests = undefined;
    state.responses = undefined;
    state.requestDirection = state.meta.role === 'unknown' ? undefined : state.requestDirection;
  }
}

function fdKey(tgid: number, fd: number): string {
  return `${tgid}:${fd}`;
}

export function connKey(tgid: number, fd: number, connId: string): string {
  return `${tgid}:${fd}:${connId}`;
}
