/**
 * What the shop's services are written against. One model of the shop (model.ts) runs in two modes: live (real HTTP
 * servers, wall-clock time, the OpenTelemetry JS SDK exporting as it goes) and fast (simulated time, the same SDK making
 * spans with the simulated times). The modes differ only in how a Runtime makes time pass and how a call reaches the
 * callee; spans, attributes, logs and results come from the same code.
 */
import type { Attributes, Span, SpanKind } from '@opentelemetry/api';
import type { ServiceName } from './catalog.ts';
import type { Random } from './random.ts';
import type { ShopState } from './state.ts';

/** A service operation's answer. `status` is the HTTP status (HTTP operations) or the gRPC status code (gRPC ones). */
export interface Reply {
  status: number;
  body?: unknown;
  /** Response body size on the wire, when it is not the JSON size of `body`. */
  bytes?: number;
  /** Error message (span status and exception event). */
  error?: string;
}

export interface LogSpec {
  severity: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  body: string;
  attributes?: Attributes;
}

export interface SpanOptions {
  kind: SpanKind;
  attributes?: Attributes;
}

export interface Runtime {
  /** This request's random source (seeded in fast mode). */
  readonly rng: Random;
  readonly state: ShopState;
  /** Now, ms since the epoch: simulated in fast mode, the wall clock in live mode. */
  now(): number;
  /** Time passes inside the current span: the service works or waits on something uninstrumented. */
  work(ms: number): Promise<void>;
  /** Runs `fn` inside a new span of `service`, a child of the current span. */
  span<T>(service: ServiceName, name: string, options: SpanOptions, fn: (rt: Runtime, span: Span) => Promise<T>): Promise<T>;
  /** Calls another service's operation: a client span here, the server span and its handler there. */
  call(from: ServiceName, operation: string, request: unknown): Promise<Reply>;
  /** Branches that run at the same time (each on its own clock in fast mode); resolves when all have. */
  parallel<T>(branches: ReadonlyArray<(rt: Runtime) => Promise<T>>): Promise<T[]>;
  /** An application log record of `service`, in the current span's context. */
  log(service: ServiceName, record: LogSpec): void;
  /** Publishes to a Kafka topic (a producer span here); the consumers' handlers run on their own. */
  publish(from: ServiceName, topic: string, message: Record<string, unknown>): Promise<void>;
}

export const GRPC = { OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, INTERNAL: 13, UNAVAILABLE: 14, UNAUTHENTICATED: 16 } as const;

/** gRPC codes a server span reports as errors (OpenTelemetry RPC conventions). */
const GRPC_SERVER_ERRORS: ReadonlySet<number> = new Set([2, 4, 12, 13, 14, 15]);

export function isServerError(protocol: 'grpc' | 'http', status: number): boolean {
  return protocol === 'grpc' ? GRPC_SERVER_ERRORS.has(status) : status >= 500;
}

export function isClientError(protocol: 'grpc' | 'http', status: number): boolean {
  return protocol === 'grpc' ? status !== 0 : status >= 400;
}

/** Size of a JSON body as sent. */
export function jsonBytes(body: unknown): number {
  return body === undefined ? 0 : Buffer.byteLength(typeof body === 'string' ? body : JSON.stringify(body));
}
