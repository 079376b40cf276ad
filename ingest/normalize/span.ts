/**
 * Span → RequestEvent, following the OpenTelemetry semantic conventions in their current and older
 * names. Pure: the same span and resource always give the same event. Decoders feed attributes one
 * at a time into a SpanNormalizer (no intermediate attribute object on the hot path); a plain
 * `normalizeSpan` wraps it for callers that already hold the attributes.
 */
import type { Protocol, RequestEvent, SpanKind } from '../../core/events.ts';
import { routeTemplate } from './route.ts';

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

/** Key → slot, with the slot number in the low bits and a keep flag above them. */
const KEEP = 0x100;
const SLOT_OF = new Map<string, number>(SLOT_KEYS.map(([key, slot, keep]) => [key, slot | (keep ? KEEP : 0)]));

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
  private rest: Attributes = {};

  begin(): void {
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
    if (slot & KEEP) this.rest[key] = value;
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

    const method = this.str(S.method) ?? this.str(S.methodOld);
    let path = this.str(S.urlPath);
    let query = this.str(S.urlQuery);
    let serverAddress = this.str(S.serverAddress);
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
          serverAddress ??= url.host;
        }
      }
    }
    if (serverAddress === undefined) {
      serverAddress = isServer ? this.str(S.netHostName) : this.str(S.netPeerName);
      if (serverAddress === undefined) {
        const host = this.str(S.httpHost);
        if (host !== undefined) serverAddress = stripPort(host);
      }
    }
    const serverPort = this.num(S.serverPort) ?? (isServer ? this.num(S.netHostPort) : this.num(S.netPeerPort));
    const clientAddress =
      this.str(S.clientAddress) ??
      this.str(S.clientIp) ??
      (isServer ? this.str(S.sockPeerAddr) ?? this.str(S.netPeerIp) ?? this.str(S.networkPeerAddress) : undefined);

    const httpStatus = this.num(S.status) ?? this.num(S.statusOld);
    const grpcStatus = this.num(S.grpcStatus);
    const rpcSystem = this.str(S.rpcSystem);
    const rpcService = this.str(S.rpcService);
    const rpcMethod = this.str(S.rpcMethod);
    const dbSystem = this.str(S.dbSystemName) ?? this.str(S.dbSystem);

    let route = this.str(S.route);
    if (route === undefined) {
      if (path !== undefined) route = routeTemplate(path);
      else if (rpcService !== undefined && rpcMethod !== undefined) route = `${rpcService}/${rpcMethod}`;
    }

    let protocol: Protocol;
    if (rpcSystem === 'grpc' || grpcStatus !== undefined) protocol = 'grpc';
    else if (dbSystem !== undefined) protocol = 'db';
    else if (this.get(S.messagingSystem) !== undefined) protocol = 'messaging';
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
      peerService: this.str(S.peerService),
      requestBytes: this.num(S.requestSize) ?? this.num(S.requestSizeOld),
      responseBytes: this.num(S.responseSize) ?? this.num(S.responseSizeOld),
      userAgent: this.str(S.userAgent) ?? this.str(S.userAgentOld),
      dbSystem,
      dbName: this.str(S.dbNamespace) ?? this.str(S.dbName),
      dbOperation: this.str(S.dbOperationName) ?? this.str(S.dbOperation),
      dbStatement: this.str(S.dbQueryText) ?? this.str(S.dbStatement),
      rpcSystem,
      rpcService,
      rpcMethod,
      requestBody: this.str(S.requestBody),
      responseBody: this.str(S.responseBody),
      attributes: this.rest,
      resource: res.resource,
    };
  }
}

/** `scheme://host:port/path?query#fragment` → parts; tolerant of missing pieces, never throws. */
export function splitUrl(url: string): { host?: string; path: string; query?: string } {
  let rest = url;
  let host: string | undefined;
  const scheme = url.indexOf('://');
  if (scheme >= 0) {
    const authorityStart = scheme + 3;
    let authorityEnd = url.length;
    for (let i = authorityStart; i < url.length; i++) {
      const c = url.charCodeAt(i);
      if (c === 47 || c === 63 || c === 35) {
        authorityEnd = i;
        break;
      }
    }
    let authority = url.slice(authorityStart, authorityEnd);
    const at = authority.lastIndexOf('@');
    if (at >= 0) authority = authority.slice(at + 1);
    host = stripPort(authority) || undefined;
    rest = url.slice(authorityEnd);
  }
  const hash = rest.indexOf('#');
  if (hash >= 0) rest = rest.slice(0, hash);
  const q = rest.indexOf('?');
  const path = (q >= 0 ? rest.slice(0, q) : rest) || '/';
  return { host, path, query: q >= 0 ? rest.slice(q + 1) : undefined };
}

function stripPort(hostPort: string): string {
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    return close > 0 ? hostPort.slice(1, close) : hostPort;
  }
  const colon = hostPort.indexOf(':');
  // More than one colon without brackets: a bare IPv6 address, no port to strip.
  if (colon >= 0 && hostPort.indexOf(':', colon + 1) < 0) return hostPort.slice(0, colon);
  return hostPort;
}

const plainNormalizer = new SpanNormalizer();

/** Normalizes one span whose attributes are already flattened. */
export function normalizeSpan(span: SpanFields & { attributes: Attributes }, res: ResourceInfo): RequestEvent {
  plainNormalizer.begin();
  for (const key of Object.keys(span.attributes)) plainNormalizer.attribute(key, span.attributes[key]);
  return plainNormalizer.finish(span, res);
}
