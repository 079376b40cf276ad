/**
 * What the receivers answer, per the OTLP specification: Export*ServiceResponse (with partial_success when items
 * were rejected) on success, google.rpc.Status for failures, each in the request's encoding; gRPC status codes and
 * HTTP statuses for each kind of failure.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { ProtoWriter } from '../../core/protobuf/writer.ts';
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

const PARTIAL_KEYS: Record<Signal, string> = { traces: 'rejectedSpans', metrics: 'rejectedDataPoints', logs: 'rejectedLogRecords' };

/** Export{Trace,Metrics,Logs}ServiceResponse: the three share one wire shape (partial_success{1 rejected, 2 message}). */
export function exportResponse(signal: Signal, rejected: number, errorMessage: string, json: boolean): Buffer {
  if (json) {
    if (rejected === 0 && !errorMessage) return Buffer.from('{}');
    return Buffer.from(JSON.stringify({ partialSuccess: { [PARTIAL_KEYS[signal]]: String(rejected), errorMessage } }));
  }
  if (rejected === 0 && !errorMessage) return Buffer.alloc(0);
  const w = new ProtoWriter(64 + errorMessage.length * 3);
  const partial = w.begin(1);
  if (rejected) w.varintField(1, rejected);
  if (errorMessage) w.stringField(2, errorMessage);
  w.end(partial);
  return w.finish();
}

/** google.rpc.Status{code, message, details}; RetryInfo in details when the client should retry later. */
export function statusMessage(code: number, message: string, retryAfterSeconds?: number): Buffer {
  const w = new ProtoWriter(96 + message.length * 3);
  if (code) w.varintField(1, code);
  w.stringField(2, message);
  if (retryAfterSeconds) {
    // details: Any{type_url, value: RetryInfo{retry_delay: Duration{seconds}}}
    const any = w.begin(3);
    w.stringField(1, 'type.googleapis.com/google.rpc.RetryInfo');
    const retryInfo = w.begin(2);
    const delay = w.begin(1);
    w.varintField(1, retryAfterSeconds);
    w.end(delay);
    w.end(retryInfo);
    w.end(any);
  }
  return w.finish();
}

export function statusJson(code: number, message: string): Buffer {
  return Buffer.from(JSON.stringify({ code, message }));
}
