import { z } from 'zod';
import { ServerTls } from '../../core/config.ts';

/** Peregrine's own OTLP receivers (`peregrine run receiver`): OTLP/HTTP and OTLP/gRPC → Kafka, like a collector's kafka exporter. */
export const ReceiverConfig = z.strictObject({
  /** Bind address of both receivers. */
  host: z.string().default('127.0.0.1'),
  http: z.strictObject({ enabled: z.boolean().default(true), port: z.number().int().min(0).max(65535).default(4318) }).default({ enabled: true, port: 4318 }),
  grpc: z.strictObject({ enabled: z.boolean().default(true), port: z.number().int().min(0).max(65535).default(4317) }).default({ enabled: true, port: 4317 }),
  /** Largest request body as sent (compressed); bigger gets 413 / RESOURCE_EXHAUSTED. */
  maxRequestBytes: z.number().int().positive().default(8_388_608),
  /** Largest body after gzip decompression (a gzip bomb stops here). */
  maxDecompressedBytes: z.number().int().positive().default(33_554_432),
  /** Requests and decompressed bytes held until Kafka acknowledges them; more gets 429 / RESOURCE_EXHAUSTED. */
  maxInFlightRequests: z.number().int().positive().default(256),
  maxInFlightBytes: z.number().int().positive().default(268_435_456),
  /** Largest Kafka message written; bigger requests are split into several valid messages. */
  maxMessageBytes: z.number().int().min(1024).default(1_000_000),
  /** A request Kafka has not acknowledged by then gets 503 / UNAVAILABLE (the client retries). */
  kafkaTimeoutMs: z.number().int().positive().default(10_000),
  /** Retry-After (HTTP) and RetryInfo (gRPC) sent with retryable answers. */
  retryAfterSeconds: z.number().int().min(1).default(2),
  /**
   * `full`: every request is decoded as the pipeline will decode it, so a body malformed anywhere gets 400 (what a
   * collector does); `structure`: only the request/resource/scope framing is checked (cheaper).
   */
  validate: z.enum(['full', 'structure']).default('full'),
  /** One message per trace id, keyed by the trace id (the kafka exporter's partition_traces_by_id). */
  partitionTracesById: z.boolean().default(true),
  /**
   * One message per resource, keyed by a hash of its attributes. On by default: the features stage turns cumulative
   * sums (`process.cpu.time`) into deltas per partition, which needs every point of a series on one partition; whole
   * requests without a key go round-robin, and each partition would see every n-th point (n intervals at once).
   */
  partitionMetricsByResourceAttributes: z.boolean().default(true),
  partitionLogsByResourceAttributes: z.boolean().default(false),
  /**
   * Requests per second each client address may send (a token bucket of `burst`); more get 429 / RESOURCE_EXHAUSTED
   * with Retry-After. SDKs and collectors batch, so honest clients stay far below it. 0 turns it off.
   */
  rateLimit: z.strictObject({
    requestsPerSecond: z.number().min(0).default(500),
    burst: z.number().int().min(1).default(1000),
    /** Client buckets kept; more addresses push out the least recently seen. */
    maxClients: z.number().int().min(1).default(10_000),
  }).default({ requestsPerSecond: 500, burst: 1000, maxClients: 10_000 }),
  /** When set, requests need `Authorization: Bearer <token>` (PEREGRINE__RECEIVER__AUTH_TOKEN). Never logged. */
  authToken: z.string().min(1).optional(),
  /** TLS on both receivers (PEM file paths). */
  tls: ServerTls.optional(),
});
export type ReceiverConfig = z.infer<typeof ReceiverConfig>;

