/**
 * The one consumer-stage loop every Kafka-reading stage runs on: consume a partition's batch, decode each record
 * (undecodable ones go to the dead-letter topic with source and reason headers), hand the decoded items to the stage's
 * own logic, deliver what it returns to the sinks with retry until they acknowledge (an outage delays, never drops),
 * persist changed state to its changelog, then commit — as far as the stage's commit policy allows. It keeps the
 * stage's metrics (records in/out/dropped, errors, lag, latency) and its health, and stops cleanly.
 */
import { deliver, processRecords, type Processor, type Sink } from './component.ts';
import { errorMessage } from './errors.ts';
import { kafkaTopicSink } from './kafka/sink.ts';
import type { CommittedOffset, IncomingRecord, KafkaAdapter, OutgoingMessage, Producer, RecordBatch } from './kafka/adapter.ts';
import type { Logger } from './log.ts';
import type { MetricsRegistry } from './metrics.ts';
import { SerialQueue } from './retry.ts';
import type { PartitionedState } from './state/changelog.ts';

/** A decoded item and the record it came from. */
export interface Decoded<T> {
  item: T;
  record: IncomingRecord;
}

export interface BatchContext {
  topic: string;
  partition: number;
  /** Counts records the stage's logic set aside for its own reasons (late, filtered, ...). */
  drop(reason: string, n?: number): void;
}

export interface CommitPosition {
  offset: bigint;
  metadata?: string;
}

export interface ConsumerStageOptions<T, O> {
  /** The `stage` label of the metrics and the dead-letter header. */
  stage: string;
  groupId: string;
  topics: string[];
  /** Where a group without committed offsets starts (default: the beginning). */
  fromBeginning?: boolean;
  kafka: KafkaAdapter;
  /** Writes the dead letters and the state changelog; the stage owns and closes it. */
  producer: Producer;
  deadLetterTopic: string;
  metrics: MetricsRegistry;
  log: Logger;
  signal: AbortSignal;
  decode: Processor<IncomingRecord, T>;
  /** The stage's own logic: one partition's decoded items in, what the sinks get out. */
  process(items: Array<Decoded<T>>, batch: BatchContext): O[] | Promise<O[]>;
  sinks: Array<Sink<O>>;
  /** How an item a sink refused for good becomes a dead letter; without it the refusal stops the stage. */
  deadLetterOf?(item: O, reason: string): OutgoingMessage;
  /** How far a partition may be committed once everything handed out was acknowledged (default: all of it). */
  commitPosition?(topic: string, partition: number, next: bigint): CommitPosition;
  /** Per-partition state: persisted to `state.topic` before each commit, restored when partitions are assigned. */
  state?: { store: PartitionedState; topic: string; inputTopic: string };
  /** Called on each assignment with the group's committed offsets, before the partitions' first batch. */
  onAssign?(topic: string, committed: CommittedOffset[], partitions: number[]): Promise<void> | void;
  /** Periodic work serialised with the batches (closing the windows of quiet partitions). */
  tick?: { intervalMs: number; run(): O[] | Promise<O[]> };
  /** Told about what every sink acknowledged (items a sink refused for good are left out: they went to dead letters). */
  onDelivered?(items: O[]): void;
}

export interface ConsumerStage {
  healthy(): boolean;
  stop(): Promise<void>;
}

interface PartitionProgress {
  batch: RecordBatch;
  next: bigint;
  committed?: string;
}

export async function startConsumerStage<T, O>(o: ConsumerStageOptions<T, O>): Promise<ConsumerStage> {
  const { stage, metrics, log } = o;
  const m = metrics.stage;
  const queue = new SerialQueue();
  const progress = new Map<string, PartitionProgress>();
  const deadLetterSink = kafkaTopicSink(o.producer, o.deadLetterTopic);
  const changelogSink = o.state ? kafkaTopicSink(o.producer, o.state.topic) : undefined;
  let consuming = true;
  let ownedStatePartitions = new Set<number>();
  const evictions = o.state && metrics.counter('peregrine_state_evictions_total', 'Keys of a stage\'s state evicted to stay within its cap', ['stage', 'store']);
  const deadLetters = metrics.counter('peregrine_dead_letters_total', 'Records and items a stage sent to the dead-letter topic, by why', ['stage', 'reason']);
  const evictionsCounted = new Map<string, number>();
  const stateKeys = o.state && metrics.gauge('peregrine_state_keys', 'Keys held in a stage\'s state', ['stage', 'store']);

  const retryOptions = (batch?: RecordBatch) => ({
    signal: o.signal,
    onRetry: async (e: unknown, attempt: number) => {
      m.errors.inc({ stage, kind: 'sink' });
      log.warn({ attempt, err: errorMessage(e) }, 'retrying a write');
      await batch?.heartbeat().catch(() => undefined);
    },
  });

  async function deliverDeadLetters(messages: OutgoingMessage[], reason: string, batch?: RecordBatch): Promise<void> {
    if (messages.length === 0) return;
    await deliver([deadLetterSink], messages, retryOptions(batch));
    m.recordsDropped.inc({ stage, reason }, messages.length);
    deadLetters.inc({ stage, reason }, messages.length);
  }

  async function deliverOutputs(items: O[], batch?: RecordBatch): Promise<void> {
    if (items.length === 0) return;
    const refused = new Set<O>();
    await deliver(o.sinks, items, {
      ...retryOptions(batch),
      onRejected: o.deadLetterOf && (async (sink, rejected, error) => {
        log.error({ sink, items: rejected.length, err: error.message }, 'items refused for good; sent to the dead-letter topic');
        for (const item of rejected) refused.add(item);
        await deliverDeadLetters(rejected.map((item) => o.deadLetterOf!(item, `${sink}: ${error.message}`)), `rejected_by_${sink.replace(/[^a-z0-9_]/gi, '_')}`, batch);
      }),
    });
    const acknowledged = refused.size === 0 ? items : items.filter((item) => !refused.has(item));
    m.recordsOut.inc({ stage }, acknowledged.length);
    o.onDelivered?.(acknowledged);
  }

  /** State first, then offsets: a restart never finds offsets ahead of the state they imply. */
  async function commitAll(): Promise<void> {
    if (o.state) {
      const changes = o.state.store.takeChanges();
      if (changes.length > 0) await deliver([changelogSink!], changes, retryOptions());
      for (const s of o.state.store.sizes()) {
        stateKeys!.set({ stage, store: s.store }, s.keys);
        const counted = evictionsCounted.get(s.store) ?? 0;
        if (s.evictions > counted) evictions!.inc({ stage, store: s.store }, s.evictions - counted);
        evictionsCounted.set(s.store, s.evictions);
      }
    }
    for (const [id, p] of progress) {
      const position = o.commitPosition?.(p.batch.topic, p.batch.partition, p.next) ?? { offset: p.next };
      const mark = `${position.offset}|${position.metadata ?? ''}`;
      if (mark === p.committed) continue;
      try {
        await p.batch.commit(position.offset.toString(), position.metadata);
        p.committed = mark;
      } catch (e) {
        // The partition moved to another member; it re-reads from the last good commit.
        progress.delete(id);
        m.errors.inc({ stage, kind: 'commit' });
        log.warn({ topic: p.batch.topic, partition: p.batch.partition, err: errorMessage(e) }, 'commit failed');
      }
    }
  }

  async function handle(batch: RecordBatch): Promise<void> {
    const started = performance.now();
    m.recordsIn.inc({ stage }, batch.records.length);
    const decoder: Processor<IncomingRecord, Decoded<T>> = { name: o.decode.name, process: (record) => o.decode.process(record).map((item) => ({ item, record })) };
    const { items, deadLetters: undecodable } = processRecords(batch.records, decoder, stage);
    if (o.state && batch.topic === o.state.inputTopic) o.state.store.currentPartition = batch.partition;
    const outputs = await o.process(items, {
      topic: batch.topic, partition: batch.partition,
      drop: (reason, n = 1) => m.recordsDropped.inc({ stage, reason }, n),
    });
    await deliverOutputs(outputs, batch);
    await deliverDeadLetters(undecodable, 'undecodable', batch);
    const last = batch.records.at(-1);
    const id = `${batch.topic}\u0000${batch.partition}`;
    const previous = progress.get(id);
    const next = last ? BigInt(last.offset) + 1n : previous?.next;
    if (next !== undefined) progress.set(id, { batch, next, committed: previous?.committed });
    await commitAll();
    if (next !== undefined) m.consumerLag.set({ stage, topic: batch.topic, partition: String(batch.partition) }, Number(BigInt(batch.highWatermark) - next));
    m.processingLatency.observe({ stage }, (performance.now() - started) / 1000);
  }

  async function assign(topic: string, committed: CommittedOffset[], partitions: number[]): Promise<void> {
    if (o.state && topic === o.state.inputTopic) {
      const now = new Set(partitions);
      const revoked = [...ownedStatePartitions].filter((p) => !now.has(p));
      const added = partitions.filter((p) => !ownedStatePartitions.has(p));
      if (revoked.length > 0) o.state.store.drop(revoked);
      if (added.length > 0) {
        const records = await o.kafka.readToEnd(o.state.topic, added);
        const { restored, unreadable } = o.state.store.restore(records);
        if (unreadable > 0) m.recordsDropped.inc({ stage, reason: 'unreadable_state' }, unreadable);
        log.info({ partitions: added, restored }, 'state restored from the changelog');
      }
      ownedStatePartitions = now;
    }
    for (const id of progress.keys()) {
      const [t, p] = id.split('\u0000');
      if (t === topic && !partitions.includes(Number(p))) progress.delete(id);
    }
    await o.onAssign?.(topic, committed, partitions);
  }

  const consumer = await o.kafka.consume({
    groupId: o.groupId,
    topics: o.topics,
    fromBeginning: o.fromBeginning ?? true,
    onAssign: assign,
    onBatch: (batch) => queue.run(() => handle(batch)),
  });

  const timer = o.tick && setInterval(() => {
    queue.run(async () => {
      await deliverOutputs(await o.tick!.run());
      await commitAll();
    }).catch((e) => {
      m.errors.inc({ stage, kind: 'tick' });
      log.error({ err: errorMessage(e) }, 'periodic work failed');
    });
  }, o.tick.intervalMs);
  timer?.unref?.();

  log.info({ topics: o.topics, groupId: o.groupId }, 'consuming');
  return {
    healthy: () => consuming,
    async stop() {
      consuming = false;
      if (timer) clearInterval(timer);
      await consumer.stop();
      await queue.run(async () => {});
    },
  };
}
