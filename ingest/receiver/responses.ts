/**
 * What the receivers answer, per the OTLP specification: Export*ServiceResponse (with partial_success when items
 * were rejected) on success, google.rpc.Status for failures, each in the request's encoding; gRPC status codes and
 * HTTP statuses for each kind of failure.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { Signal } from './split.ts';

/** Why a request was not (fully) taken. `retryable` kinds come with Retry-After / RetryInfo. */
export type FailureKind =
  | 'malformed' | 'too_large' | 'unsupported_media' | 'unauthenticated' | 'rate_limited' | 'overloaded' | 'unavailable' | 'not_found' | 'method';

export class ReceiverError extends Error {
  constructor(readonly kind: FailureKind, message: string) {
    super(message);
    this.name = 'ReceiverError';
  }
  get retryable(): boolean {
    return this.kind === 'rate_limited' || this.kind === 'overloaded' || this.kind === 'unavailable';
  }
}

export const HTTP_STATUS: Record<FailureKind, number> = {
  malformed: 400, too_large: 413, unsupported_media: 415, unauthenticated: 401, rate_limited: 429, overloaded: 429, unavailable: 503, not_found: 404, method: 405,
};

export const GRPC_CODE: Record<FailureKind, GrpcStatus> = {
  malformed: GrpcStatus.INVALID_ARGUMENT, too_large: GrpcStatus.RESOURCE_EXHAUSTED, unsupported_media: GrpcStatus.INVALID_ARGUMENT,
  unauthenticated: GrpcStatus.UNAUTHENTICATED, rate_limited: GrpcStatus.RESOURCE_EXHAUSTED, overloaded: GrpcStatus.RESOURCE_EXHAUSTED, unavailable: GrpcStatus.UNAVAILABLE,
  not_found: GrpcStatus.UNIMPLEMENTED, method: GrpcStatus.UNIMPLEMENTED,
};

// ---------- tiny protobuf writer for the few response messages ----------

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

function lenField(field: number, bytes: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([(field << 3) | 2, ...varint(bytes.length)]), bytes]);
}

function varintField(field: number, n: number): Buffer {
  return Buffer.from([field << 3, ...varint(n)]);
}

const PARTIAL_KEYS: Record<Signal, string> = { traces: 'rejectedSpans', metrics: 'rejectedDataPoints', logs: 'rejectedLogRecords' };

/** Export{Trace,Metrics,Logs}ServiceResponse: the three share one wire shape (partial_success{1 rejected, 2 message}). */
export function exportResponse(signal: Signal, rejected: number, errorMessage: string, json: boolean): Buffer {
  if (json) {
    if (rejected === 0 && !errorMessage) return Buffer.from('{}');
    return Buffer.from(JSON.stringify({ partialSuccess: { [PARTIAL_KEYS[signal]]: String(rejected), errorMessage } }));
  }
  if (rejected === 0 && !errorMessage) return Buffer.alloc(0);
  const partial = Buffer.concat([rejected ? varintField(1, rejected) : Buffer.alloc(0), errorMessage ? lenField(2, Buffer.from(errorMessage)) : Buffer.alloc(0)]);
  return lenField(1, partial);
}

/** google.rpc.RetryInfo{retry_delay: Duration{seconds}} packed in an Any. */
function retryInfoAny(seconds: number): Buffer {
  const retryInfo = lenField(1, varintField(1, seconds));
  return Buffer.concat([lenField(1, Buffer.from('type.googleapis.com/google.rpc.RetryInfo')), lenField(2, retryInfo)]);
}

/** google.rpc.Status{code, message, details}; RetryInfo in details when the client should retry later. */
export function statusMessage(code: number, message: string, retryAfterSeconds?: number): Buffer {
  return Buffer.concat([
    code ? varintField(1, code) : Buffer.alloc(0),
    lenField(2, Buffer.from(message)),
    retryAfterSeconds ? lenField(3, retryInfoAny(retryAfterSeconds)) : Buffer.alloc(0),
  ]);
}

export function statusJson(code: number, message: string): Buffer {
  return Buffer.from(JSON.stringify({ code, message }));
}
