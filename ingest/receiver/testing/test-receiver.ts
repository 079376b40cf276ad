/** Helpers for the receiver's tests and benchmark: a receiver on free ports against the real broker, and a topic reader. */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { loadAppConfig, type AppConfig } from '../../../app/config.ts';
import type { IncomingRecord, KafkaAdapter, Producer } from '../../../core/kafka/adapter.ts';
import { createKafkaAdapter } from '../../../core/kafka/kafkajs.ts';
import { createLogger, type Logger } from '../../../core/log.ts';
import { MetricsRegistry } from '../../../core/metrics.ts';
import { startReceivers, type ReceiverStage } from '../stage.ts';

export interface TestReceiver {
  config: AppConfig;
  kafka: KafkaAdapter;
  producer: Producer;
  stage: ReceiverStage;
  metrics: MetricsRegistry;
  httpUrl: string;
  grpcUrl: string;
  topics: { traces: string; metrics: string; logs: string };
  close(): Promise<void>;
}

/** A receiver on free ports writing to fresh topics of the real broker. */
export async function startTestReceiver(overrides: Record<string, unknown> = {}, log: Logger = createLogger({ level: 'error', pretty: false })): Promise<TestReceiver> {
  const run = randomUUID().slice(0, 8);
  const config = loadAppConfig({
    env: {},
    overrides: {
      'topics.spans': `test-rcv-spans-${run}`, 'topics.metrics': `test-rcv-metrics-${run}`, 'topics.logs': `test-rcv-logs-${run}`,
      'receiver.http.port': 0, 'receiver.grpc.port': 0, 'topics.partitions': 3,
      ...overrides,
    },
  });
  const kafka = createKafkaAdapter(config.kafka, log);
  const topics = { traces: config.topics.spans, metrics: config.topics.metrics, logs: config.topics.logs };
  await kafka.ensureTopics(Object.values(topics).map((topic) => ({ topic, partitions: config.topics.partitions })));
  const producer = await kafka.producer();
  const metrics = new MetricsRegistry();
  const stage = await startReceivers(config, producer, metrics, log);
  const scheme = config.receiver.tls ? 'https' : 'http';
  return {
    config, kafka, producer, stage, metrics, topics,
    httpUrl: `${scheme}://127.0.0.1:${stage.httpPort}`,
    grpcUrl: `${scheme}://127.0.0.1:${stage.grpcPort}`,
    async close() {
      await stage.stop();
      await kafka.close();
    },
  };
}

/** Reads `topic` from the beginning until `done(records)` holds or the timeout passes. */
export async function readTopic(kafka: KafkaAdapter, topic: string, done: (records: IncomingRecord[]) => boolean, timeoutMs = 30_000): Promise<IncomingRecord[]> {
  const records: IncomingRecord[] = [];
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => { finish = resolve; });
  const consumer = await kafka.consume({
    groupId: `test-reader-${randomUUID().slice(0, 8)}`, topics: [topic], fromBeginning: true,
    onBatch: async (batch) => {
      records.push(...batch.records);
      if (done(records)) finish();
    },
  });
  const timer = setTimeout(finish, timeoutMs);
  await finished;
  clearTimeout(timer);
  await consumer.stop();
  return records;
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}
