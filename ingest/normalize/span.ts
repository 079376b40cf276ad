/**
 * Span → RequestEvent, following the OpenTelemetry semantic conventions in their current and older
 * names. Pure: the same span and resource always give the same event. Decoders feed attributes one
 * at a time into a SpanNormalizer (no intermediate attribute object on the hot path); a plain
 * `normalizeSpan` wraps it for callers that already hold the attributes.
 */
import type { Protocol, RequestEvent, SpanKind } from '../../core/events.ts';
import { routeTemplate } from '../../core/route.ts';
import { forwardedClient } from '../../core/addresses.ts';

export type AttrValue = string | number | boolean;
export type Attributes = Record<string, AttrValue>;

/** What a resource contributes to each of its spans. `resource` is shared by those events: treat it as read-only. */
export interface ResourceInfo {
  service: string;
  resource: Attributes;
}

export const UNKNOWN_SERVICE = 'unknown_service';

export function resourceInfo(resource: Attributes): ResourceInfo {
  const name = resource['service.name'];
  return { service: typeof name === 'string' && name !== '' ? name : UNKNOWN_SERVICE, resource };
}

/** The span fields that are not attributes. Ids are lowercase hex ('' when absent). */
export interface SpanFields {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind number (0 unspecified … 5 consumer). */
  kind: number;
  startMs: number;
  durationMs: number;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  statusCode: number;
  statusMessage: string;
}

export function emptySpanFields(): SpanFields {
  return { traceId: '', spanId: '', parentSpanId: '', name: '', kind: 0, startMs: 0, durationMs: 0, statusCode: 0, statusMessage: '' };
}

const SPAN_KINDS: readonly SpanKind[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];

export function spanKindName(kind: number): SpanKind {
  return SPAN_KINDS[kind] ?? 'unspecified';
}

// Attribute slots: each semantic-convention key the normalizer reads lands in a slot instead of the
// remaining attributes. `keep` keys are read and also stay in `attributes` (they carry more than the
// field they feed, or mean different things on client and server spans).
const S = {
  method: 0, methodOld: 1, urlPath: 2, urlQuery: 3, target: 4, urlFull: 5, httpUrl: 6, route: 7,
  status: 8, statusOld: 9, serverAddress: 10, netPeerName: 11, netHostName: 12, httpHost: 13,
  serverPort: 14, netPeerPort: 15, netHostPort: 16, clientAddress: 17, sockPeerAddr: 18, clientIp: 19,
  netPeerIp: 20, networkPeerAddress: 21, rpcSystem: 22, rpcService: 23, rpcMethod: 24, grpcStatus: 25,
  dbSystem: 26, dbSystemName: 27, dbNamespace: 28, dbName: 29, dbOperationName: 30, dbOperation: 31,
  dbQueryText: 32, dbStatement: 33, peerService: 34, userAgent: 35, userAgentOld: 36, requestSize: 37,
  requestSizeOld: 38, responseSize: 39, responseSizeOld: 40, requestBody: 41, responseBody: 42,
  messagingSystem: 43,
} as const;
const SLOT_COUNT = 44;
/** A captured request header (semantic conventions: `http.request.header.<lower-case name>`). */
const FORWARDED_FOR = 'http.request.header.x-forwarded-for';

const SLOT_KEYS: ReadonlyArray<[key: string, slot: number, keep: boolean]> = [
  ['http.request.method', S.method, false],
  ['http.method', S.methodOld, false],
  ['url.path', S.urlPath, false],
  ['url.query', S.urlQuery, false],
  ['http.target', S.target, false],
  ['url.full', S.urlFull, true],
  ['http.url', S.httpUrl, true],
  ['http.route', S.route, false],
  ['http.response.status_code', S.status, false],
  ['http.status_code', S.statusOld, false],
  ['server.address', S.serverAddress, false],
  ['net.peer.name', S.netPeerName, true],
  ['net.host.name', S.netHostName, true],
  ['http.host', S.httpHost, true],
  ['server.port', S.serverPort, false],
  ['net.peer.port', S.netPeerPort, true],
  ['net.host.port', S.netHostPort, true],
  ['client.address', S.clientAddress, false],
  ['net.sock.peer.addr', S.sockPeerAddr, true],
  ['http.client_ip', S.clientIp, false],
  ['net.peer.ip', S.netPeerIp, true],
  ['network.peer.address', S.networkPeerAddress, true],
  ['rpc.system', S.rpcSystem, false],
  ['rpc.service', S.rpcService, false],
  ['rpc.method', S.rpcMethod, false],
  ['rpc.grpc.status_code', S.grpcStatus, false],
  ['db.system', S.dbSystem, false],
  ['db.system.name', S.dbSystemName, false],
  ['db.namespace', S.dbNamespace, false],
  ['db.name', S.dbName, false],
  ['db.operation.name', S.dbOperationName, false],
  ['db.operation', S.dbOperation, false],
  ['db.query.text', S.dbQueryText, false],
  ['db.statement', S.dbStatement, false],
  ['peer.service', S.peerService, false],
  ['user_agent.original', S.userAgent, false],
  ['http.user_agent', S.userAgentOld, false],
  ['http.request.body.size', S.requestSize, false],
  ['http.request_content_length', S.requestSizeOld, false],
  ['http.response.body.size', S.responseSize, false],
  ['http.response_content_length', S.responseSizeOld, false],
  // Not semantic conventions: where Peregrine's sensor and Pixie import put body excerpts.
  ['http.request.body', S.requestBody, false],
  ['http.response.body', S.responseBody, false],
  ['messaging.system', S.messagingSystem, true],
];

/** Which part of finish() reads a slot: the groups of a span that saw none of their attributes are skipped. */
const G_HTTP = 1;
const G_NET = 2;
const G_RPC = 4;
const G_DB = 8;
const G_MESSAGING = 16;
const GROUP_OF = new Uint8Array(SLOT_COUNT);
for (const slot of [S.method, S.methodOld, S.urlPath, S.urlQuery, S.target, S.urlFull, S.httpUrl, S.route, S.status, S.statusOld,
  S.userAgent, S.userAgentOld, S.requestSize, S.requestSizeOld, S.responseSize, S.responseSizeOld, S.requestBody, S.responseBody]) GROUP_OF[slot] = G_HTTP;
for (const slot of [S.serverAddress, S.netPeerName, S.netHostName, S.httpHost, S.serverPort, S.netPeerPort, S.netHostPort, S.clientAddress,
  S.sockPeerAddr, S.clientIp, S.netPeerIp, S.networkPeerAddress, S.peerService]) GROUP_OF[slot] = G_NET;
for (const slot of [S.rpcSystem, S.rpcService, S.rpcMethod, S.grpcStatus]) GROUP_OF[slot] = G_RPC;
for (const slot of [S.dbSystem, S.dbSystemName, S.dbNamespace, S.dbName, S.dbOperationName, S.dbOperation, S.dbQueryText, S.dbStatement]) GROUP_OF[slot] = G_DB;
GROUP_OF[S.messagingSystem] = G_MESSAGING;

/** Key → slot, with the slot number in the low bits and flags above them. */
const KEEP = 0x100;
/** Set for keys whose values rarely repeat (paths, URLs, statements): decoders skip interning them. */
export const UNIQUE_VALUE = 0x200;
const NOT_A_SLOT = 0xff;
const UNIQUE_VALUE_KEYS = new Set(['url.path', 'url.query', 'http.target', 'url.full', 'http.url', 'db.query.text', 'db.statement', 'http.request.body', 'http.response.body']);
const SLOT_OF = new Map<string, number>(SLOT_KEYS.map(([key, slot, keep]) => [key, slot | (keep ? KEEP : 0)]));

/**
 * What the normalizer does with an attribute key, as one number (for decoders that cache it per
 * key, see `attributeClassified`): slot in the low byte (0xff = none) plus KEEP / UNIQUE_VALUE flags.
 */
export function classifyAttributeKey(key: string): number {
  const slot = SLOT_OF.get(key);
  return (slot === undefined ? NOT_A_SLOT : slot) | (UNIQUE_VALUE_KEYS.has(key) ? UNIQUE_VALUE : 0);
}

/** Attribute keys that the normalizer turns into RequestEvent fields (they do not appear in `attributes`). */
export const CONSUMED_ATTRIBUTE_KEYS: readonly string[] = SLOT_KEYS.filter(([, , keep]) => !keep).map(([key]) => key);

/**
 * Reusable per-span scratch: `begin()`, `attribute()` for each attribute, then `finish()`. One
 * instance serves any number of spans, one at a time.
 */
export class SpanNormalizer {
  private readonly values: Array<AttrValue | undefined> = new Array<AttrValue | undefined>(SLOT_COUNT).fill(undefined);
  private readonly seen = new Int32Array(SLOT_COUNT);
  private generation = 1;
  private groups = 0;
  private rest: Attributes = {};

  begin(): void {
    this.groups = 0;
    this.generation++;
    if (this.generation === 0x7fffffff) {
      this.seen.fill(0);
      this.generation = 1;
    }
    this.rest = {};
  }

  attribute(key: string, value: AttrValue): void {
    const slot = SLOT_OF.get(key);
    if (slot === undefined) {
      this.rest[key] = value;
      return;
    }
    const index = slot & 0xff;
    this.values[index] = value;
    this.seen[index] = this.generation;
    this.groups |= GROUP_OF[index];
    if (slot & KEEP) this.rest[key] = value;
  }

  /** `attribute` with the key's `classifyAttributeKey` result already known. */
  attributeClassified(key: string, meta: number, value: AttrValue): void {
    const index = meta & 0xff;
    if (index === NOT_A_SLOT) {
      this.rest[key] = value;
      return;
    }
    this.values[index] = value;
    this.seen[index] = this.generation;
    this.groups |= GROUP_OF[index];
    if (meta & KEEP) this.rest[key] = value;
  }

  private get(slot: number): AttrValue | undefined {
    return this.seen[slot] === this.generation ? this.values[slot] : undefined;
  }

  private str(slot: number): string | undefined {
    const v = this.get(slot);
    return v === undefined ? undefined : typeof v === 'string' ? v : String(v);
  }

  private num(slot: number): number | undefined {
    const v = this.get(slot);
    if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
    if (typeof v === 'string' && v !== '') {
      const n = Number(v);
      return Number.isFinite(n) ? n : undefined;
    }
    return undefined;
  }

  finish(span: SpanFields, res: ResourceInfo): RequestEvent {
    const kind = spanKindName(span.kind);
    const isServer = span.kind === 2;
    const isClient = span.kind === 3;
    const groups = this.groups;

    // Each group is only looked at when one of its attributes was seen (most spans are HTTP or RPC or DB).
    let method: string | undefined;
    let path: string | undefined;
    let query: string | undefined;
    let route: string | undefined;
    let httpStatus: number | undefined;
    let userAgent: string | undefined;
    let requestBytes: number | undefined;
    let responseBytes: number | undefined;
    let requestBody: string | undefined;
    let responseBody: string | undefined;
    let urlHost: string | undefined;
    if (groups & G_HTTP) {
      method = this.str(S.method) ?? this.str(S.methodOld);
      path = this.str(S.urlPath);
      query = this.str(S.urlQuery);
      if (path === undefined) {
        const target = this.str(S.target);
        if (target !== undefined) {
          const q = target.indexOf('?');
          path = q >= 0 ? target.slice(0, q) : target;
          if (q >= 0 && query === undefined) query = target.slice(q + 1);
        } else {
          const full = this.str(S.urlFull) ?? this.str(S.httpUrl);
          if (full !== undefined) {
            const url = splitUrl(full);
            path = url.path;
            if (query === undefined) query = url.query;
            urlHost = url.host;
          }
        }
      }
      route = this.str(S.route);
      httpStatus = this.num(S.status) ?? this.num(S.statusOld);
      userAgent = this.str(S.userAgent) ?? this.str(S.userAgentOld);
      requestBytes = this.num(S.requestSize) ?? this.num(S.requestSizeOld);
      responseBytes = this.num(S.responseSize) ?? this.num(S.responseSizeOld);
      requestBody = this.str(S.requestBody);
      responseBody = this.str(S.responseBody);
    }

    let serverAddress: string | undefined;
    let serverPort: number | undefined;
    let clientAddress: string | undefined;
    let peerService: string | undefined;
    if (groups & G_NET) {
      serverAddress = this.str(S.serverAddress) ?? urlHost ?? (isServer ? this.str(S.netHostName) : this.str(S.netPeerName));
      if (serverAddress === undefined) {
        const host = this.str(S.httpHost);
        if (host !== undefined) serverAddress = stripPort(host);
      }
      serverPort = this.num(S.serverPort) ?? (isServer ? this.num(S.netHostPort) : this.num(S.netPeerPort));
      clientAddress =
        this.str(S.clientAddress) ??
        this.str(S.clientIp) ??
        (isServer ? this.str(S.sockPeerAddr) ?? this.str(S.netPeerIp) ?? this.str(S.networkPeerAddress) : undefined);
      if (isServer) {
        // An instrumentation that names the socket's peer as the client (the eBPF sensor) behind the deployment's own
        // proxy: the client is the one the proxy forwarded for, as the HTTP instrumentations report it.
        const peer = this.str(S.networkPeerAddress) ?? this.str(S.sockPeerAddr) ?? this.str(S.netPeerIp);
        const forwardedFor = this.rest[FORWARDED_FOR];
        if (forwardedFor !== undefined && peer !== undefined && (clientAddress === undefined || clientAddress === peer)) {
          clientAddress = forwardedClient(peer, String(forwardedFor)) ?? clientAddress;
        }
      }
      peerService = this.str(S.peerService);
    } else serverAddress = urlHost;

    let rpcSystem: string | undefined;
    let rpcService: string | undefined;
    let rpcMethod: string | undefined;
    let grpcStatus: number | undefined;
    if (groups & G_RPC) {
      rpcSystem = this.str(S.rpcSystem);
      rpcService = this.str(S.rpcService);
      rpcMethod = this.str(S.rpcMethod);
      grpcStatus = this.num(S.grpcStatus);
    }

    let dbSystem: string | undefined;
    let dbName: string | undefined;
    let dbOperation: string | undefined;
    let dbStatement: string | undefined;
    if (groups & G_DB) {
      dbSystem = this.str(S.dbSystemName) ?? this.str(S.dbSystem);
      dbName = this.str(S.dbNamespace) ?? this.str(S.dbName);
      dbOperation = this.str(S.dbOperationName) ?? this.str(S.dbOperation);
      dbStatement = this.str(S.dbQueryText) ?? this.str(S.dbStatement);
    }

    if (route === undefined) {
      if (path !== undefined) route = routeTemplate(path);
      else if (rpcService !== undefined && rpcMethod !== undefined) route = `${rpcService}/${rpcMethod}`;
    }

    let protocol: Protocol;
    if (rpcSystem === 'grpc' || grpcStatus !== undefined) protocol = 'grpc';
    else if (dbSystem !== undefined) protocol = 'db';
    else if (groups & G_MESSAGING) protocol = 'messaging';
    else if (method !== undefined || httpStatus !== undefined || path !== undefined) protocol = 'http';
    else protocol = 'other';

    const error =
      span.statusCode === 2 ||
      (httpStatus !== undefined && ((isServer && httpStatus >= 500) || (isClient && httpStatus >= 400))) ||
      (grpcStatus !== undefined && grpcStatus !== 0);

    return {
      kind: 'request',
      timeMs: span.startMs,
      // An unset or earlier end time is an instrumentation bug, not a negative latency.
      durationMs: span.durationMs > 0 ? span.durationMs : 0,
      service: res.service,
      operation: span.name,
      spanKind: kind,
      protocol,
      traceId: span.traceId,
      spanId: span.spanId,
      parentSpanId: span.parentSpanId === '' ? undefined : span.parentSpanId,
      error,
      statusMessage: span.statusMessage === '' ? undefined : span.statusMessage,
      method,
      route,
      path,
      query,
      httpStatus,
      grpcStatus,
      serverAddress,
      serverPort,
      clientAddress,
      peerService,
      requestBytes,
      responseBytes,
      userAgent,
      dbSystem,
      dbName,
      dbOperation,
      dbStatement,
      rpcSystem,
      rpcService,
      rpcMethod,
      requestBody,
      responseBody,
      attributes: this.rest,
      resource: res.resource,
    };
  }
}

/** `scheme://host:port/path?query#fragment` → parts; tolerant of missing pieces, never throws. */
export function splitUrl(url: string): { host?: string; path: string; query?: string } {
  let host: string | undefined;
  let pathStart = 0;
  const scheme = url.indexOf('://');
  if (scheme >= 0) {
    const authorityStart = scheme + 3;
    let hostStart = authorityStart;
    let authorityEnd = url.length;
    for (let i = authorityStart; i < url.length; i++) {
      const c = url.charCodeAt(i);
      if (c === 47 || c === 63 || c === 35) {
        authorityEnd = i;
        break;
      }
      if (c === 64) hostStart = i + 1; // userinfo@
    }
    host = hostOf(url, hostStart, authorityEnd);
    pathStart = authorityEnd;
  }
  let end = url.indexOf('#', pathStart);
  if (end < 0) end = url.length;
  const q = url.indexOf('?', pathStart);
  if (q >= 0 && q < end) return { host, path: q > pathStart ? url.slice(pathStart, q) : '/', query: url.slice(q + 1, end) };
  return { host, path: end > pathStart ? url.slice(pathStart, end) : '/', query: undefined };
}

/** The host of `host[:port]` or `[v6]:port` within url[start, end); undefined when empty. */
function hostOf(url: string, start: number, end: number): string | undefined {
  if (start >= end) return undefined;
  if (url.charCodeAt(start) === 91) {
    const close = url.indexOf(']', start);
    return close > start && close < end ? url.slice(start + 1, close) : url.slice(start, end);
  }
  const colon = url.indexOf(':', start);
  if (colon < 0 || colon >= end) return url.slice(start, end);
  if (colon === start) return undefined;
  // More than one colon without brackets: a bare IPv6 address, no port to strip.
  const second = url.indexOf(':', colon + 1);
  return second >= 0 && second < end ? url.slice(start, end) : url.slice(start, colon);
}

function stripPort(hostPort: string): string {
  return hostOf(hostPort, 0, hostPort.length) ?? '';
}

const plainNormalizer = new SpanNormalizer();

/** Normalizes one span whose attributes are already flattened. */
export function normalizeSpan(span: SpanFields & { attributes: Attributes }, res: ResourceInfo): RequestEvent {
  plainNormalizer.begin();
  for (const key of Object.keys(span.attributes)) plainNormalizer.attribute(key, span.attributes[key]);
  return plainNormalizer.finish(span, res);
}
