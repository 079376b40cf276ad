/** The `receiver` stage: Peregrine's OTLP receivers (HTTP on 4318, gRPC on 4317 by default) writing to Kafka. */
import type { Server as HttpServer } from 'node:http';
import type { Server as GrpcServer } from '@grpc/grpc-js';
import { systemClock, type Clock } from '../../core/clock.ts';
import { PeregrineError } from '../../core/errors.ts';
import type { Producer } from '../../core/kafka/adapter.ts';
import type { Logger } from '../../core/log.ts';
import type { MetricsRegistry } from '../../core/metrics.ts';
import type { RunningStage, StageFactory } from '../../core/stage.ts';
import { ensureTopics, type TopicNames } from '../../core/topics.ts';
import { ReceiverConfig } from './config.ts';
import { tuneMajorGcTrigger } from './gc.ts';
import { RECEIVER_STAGE, OtlpExporter, ReceiverMetrics } from './exporter.ts';
import { startGrpcReceiver } from './grpc.ts';
import { startHttpReceiver } from './http.ts';
import { ClientRateLimiter } from './rate-limit.ts';
import { ReceiverError } from './responses.ts';

export interface ReceiverStage extends RunningStage {
  /** Bound ports (useful with port 0); undefined when that receiver is disabled. */
  httpPort?: number;
  grpcPort?: number;
  exporter: OtlpExporter;
}

/** Starts both receivers on an existing producer (the stage, tests and the benchmark use this). */
export async function startReceivers(
  config: { receiver: ReceiverConfig; topics: Pick<TopicNames, 'spans' | 'metrics' | 'logs'> }, producer: Producer, metrics: MetricsRegistry, log: Logger, clock: Clock = systemClock,
): Promise<ReceiverStage> {
  const r = config.receiver;
  tuneMajorGcTrigger();
  const exporter = new OtlpExporter({
    topics: { traces: config.topics.spans, metrics: config.topics.metrics, logs: config.topics.logs },
    maxMessageBytes: r.maxMessageBytes,
    maxInFlightRequests: r.maxInFlightRequests,
    maxInFlightBytes: r.maxInFlightBytes,
    kafkaTimeoutMs: r.kafkaTimeoutMs,
    validate: r.validate,
    partitionTracesById: r.partitionTracesById,
    partitionMetricsByResourceAttributes: r.partitionMetricsByResourceAttributes,
    partitionLogsByResourceAttributes: r.partitionLogsByResourceAttributes,
  }, producer, new ReceiverMetrics(metrics.registry, metrics.stage), log);
  const limiter = r.rateLimit.requestsPerSecond > 0 ? new ClientRateLimiter(r.rateLimit) : undefined;
  const admitClient = (address: string): void => {
    if (limiter && !limiter.allow(address, clock.now())) {
      throw new ReceiverError('rate_limited', `client ${address} is over the receiver's limit of ${r.rateLimit.requestsPerSecond} requests/s; retry later`);
    }
  };
  const common = { host: r.host, maxDecompressedBytes: r.maxDecompressedBytes, retryAfterSeconds: r.retryAfterSeconds, authToken: r.authToken, tls: r.tls, admitClient };
  let http: { server: HttpServer; port: number } | undefined;
  let grpc: { server: GrpcServer; port: number } | undefined;
  try {
    if (r.http.enabled) http = await startHttpReceiver({ ...common, port: r.http.port, maxRequestBytes: r.maxRequestBytes }, exporter, log);
    if (r.grpc.enabled) grpc = await startGrpcReceiver({ ...common, port: r.grpc.port }, exporter, log);
  } catch (e) {
    http?.server.close();
    grpc?.server.forceShutdown();
    const error = e as NodeJS.ErrnoException;
    if (error.code === 'EADDRINUSE' || /address already in use|No address added/i.test(error.message)) {
      throw new PeregrineError(`receiver: ${r.host} port ${http ? r.grpc.port : r.http.port} is in use (the local stack serves OTLP there unless started with \`peregrine stack up --frontend none\`; or set receiver.http.port / receiver.grpc.port): ${error.message}`, { cause: e });
    }
    throw e;
  }
  log.info({ http: http && `${r.host}:${http.port}`, grpc: grpc && `${r.host}:${grpc.port}`, auth: Boolean(r.authToken), tls: Boolean(r.tls) }, 'OTLP receivers listening');
  let serving = true;
  return {
    name: RECEIVER_STAGE,
    healthy: () => serving,
    httpPort: http?.port,
    grpcPort: grpc?.port,
    exporter,
    async stop() {
      serving = false;
      // Stop taking requests; those in flight finish (they are answered once Kafka has them).
      await Promise.all([
        http && new Promise<void>((resolve) => {
          http.server.close(() => resolve());
          http.server.closeIdleConnections();
        }),
        grpc && new Promise<void>((resolve) => grpc.server.tryShutdown(() => resolve())),
      ]);
    },
  };
}

export const receiverStage: StageFactory<ReceiverConfig, never, ReceiverStage, typeof RECEIVER_STAGE> = {
  id: RECEIVER_STAGE,
  config: ReceiverConfig,
  deprecatedIds: ['ingest'],
  // It binds 4317/4318, which the local stack's front end holds unless started with --frontend none.
  runByDefault: false,
  async create({ config, platform, kafka, metrics, log, clock }) {
    await ensureTopics(kafka, platform.topics, ['spans', 'metrics', 'logs']);
    const producer = await kafka.producer();
    try {
      const stage = await startReceivers({ receiver: config, topics: platform.topics }, producer, metrics, log.child({ stage: RECEIVER_STAGE }), clock);
      return { ...stage, stop: async () => { await stage.stop(); await producer.close(); } };
    } catch (e) {
      await producer.close();
      throw e;
    }
  },
};
