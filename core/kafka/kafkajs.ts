import { Kafka, logLevel, type LogEntry, type Consumer as KjsConsumer, type Admin } from 'kafkajs';
import type { KafkaConfig } from '../config.ts';
import { UnavailableError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { CommittedOffset, ConsumeOptions, Consumer, IncomingRecord, KafkaAdapter, KafkaHeaders, PartitionOffsets, Producer, TopicSpec } from './adapter.ts';
import './kafkajs-idle-fix.ts';
import { kafkaClientTls } from './tls.ts';

process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error', [logLevel.WARN]: 'warn', [logLevel.INFO]: 'info', [logLevel.DEBUG]: 'debug',
};

/**
 * Our adapter: consumer groups and admin on kafkajs, producers on @platformatic/kafka (platformatic-producer.ts:
 * a third of kafkajs' CPU per message on the receiver's hot path; bench/kafka-clients.ts measures both).
 */
/**
 * Polls until every partition of `topics` has a leader (or `timeoutMs` passed: the first produce or fetch then waits
 * in its own retries). Not createTopics' own waitForLeaders: on a loaded broker its wait can reject outside any caller
 * (an UNKNOWN_TOPIC_OR_PARTITION from its metadata retry), an unhandled rejection that ends the process.
 */
export async function waitForLeaders(admin: Admin, topics: readonly string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ready = await admin.fetchTopicMetadata({ topics: [...topics] })
      .then((m) => m.topics.every((topic) => topic.partitions.length > 0 && topic.partitions.every((p) => p.leader >= 0)))
      .catch(() => false);
    if (ready) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function createKafkaAdapter(config: KafkaConfig, log: Logger): KafkaAdapter {
  const kafkaLog = log.child({ component: 'kafka' });
  const kafka = new Kafka({
    clientId: config.clientId,
    brokers: config.brokers,
    connectionTimeout: Math.min(config.connectTimeoutMs, 10_000),
    ssl: kafkaClientTls(config.tls),
    sasl: config.sasl as never,
    logLevel: logLevel.WARN,
    // kafkajs logs through pino. Its per-retry connection errors are warnings (the caller reports the outcome) and
    // the coordinator's routine rebalance chatter is debug.
    logCreator: () => (entry: LogEntry) => {
      const { message, ...rest } = entry.log;
      const routine = entry.level === logLevel.ERROR && (entry.namespace === 'Connection' || entry.namespace === 'BrokerPool');
      const rebalance = entry.namespace === 'ConsumerGroup' && entry.level === logLevel.ERROR && /rebalanc/i.test(message);
      // We bound retries on purpose so an outage surfaces as a retryable error (the callers retry without limit).
      const boundedRetries = /Limiting retries for the idempotent producer/.test(message);
      const level = rebalance || boundedRetries ? 'debug' : routine ? 'warn' : LEVELS[entry.level] ?? 'info';
      kafkaLog[level]({ namespace: entry.namespace, ...rest }, message);
    },
    retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5_000 },
  });
  const brokers = config.brokers.join(',');
  let admin: Admin | undefined;
  const open: Array<{ close(): Promise<void> }> = [];

  async function getAdmin(): Promise<Admin> {
    if (!admin) {
      const a = kafka.admin({ retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 2_000 } });
      try {
        await a.connect();
      } catch (e) {
        throw new UnavailableError('kafka', `brokers ${brokers} unreachable: ${(e as Error).message}`, { cause: e });
      }
      admin = a;
    }
    return admin;
  }

  async function topicOffsets(topic: string): Promise<PartitionOffsets[]> {
    const a = await getAdmin();
    // Right after a topic is created its partitions may still be electing leaders: that error is worth a wait. kafkajs
    // 2.2.4 reports it either as a retriable error or, when a partition has no leader yet, as a TypeError of its own
    // (`low.pop()` of an empty offsets answer in admin.fetchTopicOffsets).
    for (let attempt = 1; ; attempt++) {
      try {
        const offsets = await a.fetchTopicOffsets(topic);
        return offsets.map((o) => ({ partition: o.partition, low: o.low, high: o.high })).sort((x, y) => x.partition - y.partition);
      } catch (e) {
        const electing = (e as { retriable?: boolean }).retriable || e instanceof TypeError;
        if (!electing || attempt >= 60) throw e;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }

  async function committedOffsets(groupId: string, topic: string): Promise<CommittedOffset[]> {
    const a = await getAdmin();
    const [result] = await a.fetchOffsets({ groupId, topics: [topic] });
    return (result?.partitions ?? []).map((p) => ({ partition: p.partition, offset: p.offset, metadata: p.metadata ?? undefined }));
  }

  return {
    async checkReachable() {
      const a = await getAdmin();
      try {
        await a.describeCluster();
      } catch (e) {
        throw new UnavailableError('kafka', `brokers ${brokers} do not answer: ${(e as Error).message}`, { cause: e });
      }
    },

    async ensureTopics(topics: TopicSpec[]) {
      const a = await getAdmin();
      const existing = new Set(await a.listTopics());
      const missing = topics.filter((t) => !existing.has(t.topic));
      if (missing.length === 0) return;
      await a.createTopics({
        waitForLeaders: false,
        topics: missing.map((t) => ({
          topic: t.topic,
          numPartitions: t.partitions,
          replicationFactor: 1,
          configEntries: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
        })),
      });
      await waitForLeaders(a, missing.map((t) => t.topic));
    },

    committedOffsets,

    topicOffsets,

    async readToEnd(topic: string, partitions: readonly number[]): Promise<IncomingRecord[]> {
      const a = await getAdmin();
      const ends = new Map<number, bigint>();
      for (const p of await topicOffsets(topic)) {
        if (partitions.includes(p.partition) && BigInt(p.high) > BigInt(p.low)) ends.set(p.partition, BigInt(p.high));
      }
      if (ends.size === 0) return [];
      // kafkajs reads only through a consumer group: a throwaway one, deleted afterwards.
      const groupId = `${config.clientId}-restore-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
      const c = kafka.consumer({ groupId, sessionTimeout: 30_000, heartbeatInterval: 3_000, allowAutoTopicCreation: false, maxBytesPerPartition: 4 * 1024 * 1024 });
      const out: IncomingRecord[] = [];
      try {
        await c.connect();
        await c.subscribe({ topic, fromBeginning: true });
        await new Promise<void>((resolve, reject) => {
          const remaining = new Set(ends.keys());
          c.run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              const end = ends.get(batch.partition);
              if (end === undefined) return;
              for (const m of batch.messages) {
                if (BigInt(m.offset) >= end) break;
                out.push({
                  topic, partition: batch.partition, offset: m.offset, key: m.key ?? undefined, value: m.value ?? Buffer.alloc(0),
                  headers: (m.headers ?? {}) as KafkaHeaders, timestampMs: Number(m.timestamp),
                });
              }
              const last = batch.messages.at(-1);
              if (last && BigInt(last.offset) + 1n >= end) remaining.delete(batch.partition);
              if (remaining.size === 0) resolve();
            },
          }).catch(reject);
        });
      } catch (e) {
        throw new UnavailableError('kafka', `reading ${topic} back failed: ${(e as Error).message}`, { cause: e });
      } finally {
        await c.disconnect().catch(() => undefined);
        await a.deleteGroups([groupId]).catch(() => undefined);
      }
      // Compacted topics may skip offsets; order by partition and offset so later changes win.
      return out.sort((x, y) => x.partition - y.partition || (BigInt(x.offset) < BigInt(y.offset) ? -1 : 1));
    },

    async producer(): Promise<Producer> {
      // Loaded on first use: the client takes seconds to import, and commands that never produce should not wait for it.
      const { createPlatformaticProducer } = await import('./platformatic-producer.ts');
      const handle = await createPlatformaticProducer(config);
      open.push(handle);
      return handle;
    },

    async consume(options: ConsumeOptions): Promise<Consumer> {
      const c: KjsConsumer = kafka.consumer({
        groupId: options.groupId,
        sessionTimeout: 30_000,
        heartbeatInterval: 3_000,
        allowAutoTopicCreation: true,
        maxBytesPerPartition: 4 * 1024 * 1024,
      });
      // kafkajs does not await event listeners: the assignment is handed over as soon as the group is joined, and
      // the next batch waits until that is done.
      let assignmentDone: Promise<void> = Promise.resolve();
      c.on(c.events.GROUP_JOIN, (event) => {
        const assigned = event.payload.memberAssignment as Record<string, number[]>;
        if (!options.onAssign) return;
        const handOver = async () => {
          // Every subscribed topic, with an empty list when this member got none of its partitions: a stage must
          // hear that it lost them all, or it keeps acting for partitions another member now owns.
          for (const topic of options.topics) {
            const partitions = assigned[topic] ?? [];
            const committed = partitions.length === 0 ? [] : await committedOffsets(options.groupId, topic);
            await options.onAssign!(topic, committed.filter((o) => partitions.includes(o.partition)), partitions);
          }
        };
        // A stage that never heard of its partitions would sit idle: a failed hand-over (a broker still electing
        // leaders, an outage) is tried again, a few times, before it is given up as an error.
        assignmentDone = assignmentDone.then(async () => {
          for (let attempt = 1; ; attempt++) {
            try {
              return await handOver();
            } catch (e) {
              if (attempt >= 5) throw e;
              kafkaLog.warn({ err: (e as Error).message, groupId: options.groupId, attempt }, 'handling a partition assignment failed; trying again');
              await new Promise((resolve) => setTimeout(resolve, 1_000 * attempt));
            }
          }
        }).catch((e) => kafkaLog.error({ err: (e as Error).message, groupId: options.groupId }, 'handling a partition assignment failed'));
      });
      try {
        await c.connect();
        for (const topic of options.topics) await c.subscribe({ topic, fromBeginning: options.fromBeginning });
      } catch (e) {
        throw new UnavailableError('kafka', `brokers ${brokers} unreachable: ${(e as Error).message}`, { cause: e });
      }
      await c.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: async ({ batch, heartbeat, resolveOffset, isRunning, isStale }) => {
          if (!isRunning() || isStale()) return;
          await assignmentDone;
          await options.onBatch({
            topic: batch.topic,
            partition: batch.partition,
            highWatermark: batch.highWatermark,
            records: batch.messages.map((m) => ({
              topic: batch.topic,
              partition: batch.partition,
              offset: m.offset,
              key: m.key ?? undefined,
              value: m.value ?? Buffer.alloc(0),
              headers: (m.headers ?? {}) as KafkaHeaders,
              timestampMs: Number(m.timestamp),
            })),
            heartbeat,
            commit: async (nextOffset: string, metadata?: string) => {
              await c.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: nextOffset, metadata: metadata ?? null }]);
            },
          });
          // Fetch position moves past the batch; what is committed is the stage's decision above.
          const last = batch.messages.at(-1);
          if (last) resolveOffset(last.offset);
        },
      });
      const handle = { close: () => c.disconnect() };
      open.push(handle);
      return { stop: () => c.disconnect() };
    },

    async close() {
      await Promise.allSettled(open.map((h) => h.close()));
      if (admin) await admin.disconnect();
    },
  };
}
