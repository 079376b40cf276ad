import type { RequestEvent } from '../core/events.ts';
import { deliver, processRecords, type Processor } from '../core/component.ts';
import { errorMessage } from '../core/errors.ts';
import type { IncomingRecord, Producer, RecordBatch } from '../core/kafka/adapter.ts';
import { kafkaTopicSink } from '../core/kafka/sink.ts';
import { SerialQueue } from '../core/retry.ts';
import type { RunningStage, StageContext } from '../core/stage.ts';
import { encodeFeatureVector, FEATURE_SCHEMA_FINGERPRINT, FINGERPRINT_HEADER, type FeatureVector } from '../schemas/feature-vector.ts';
import { OperationWindows } from './entity_window/window.ts';
import { PartitionWatermarks } from './entity_window/watermark.ts';

export const FEATURES_STAGE = 'features';

export interface FeaturesStageOptions {
  /** OTLP message → request events; throws DecodeError for what cannot be decoded. */
  decode(record: IncomingRecord): RequestEvent[];
  /** Called with every vector after Kafka acknowledged it (the demo prints them). */
  onEmit?(vectors: FeatureVector[]): void;
}

interface CommitState {
  emittedThroughMs: number;
}

/**
 * otlp_spans → decode → per-operation event-time windows → peregrine.features.v1 (Avro, keyed by entity).
 * Offsets are committed up to the first record still held in an open window, with how far windows were emitted in
 * the commit metadata: a restart re-reads what open windows held and skips windows already emitted.
 */
export async function startFeaturesStage(ctx: StageContext, options: FeaturesStageOptions): Promise<RunningStage> {
  const { config, kafka, metrics, clock } = ctx;
  const log = ctx.log.child({ stage: FEATURES_STAGE });
  const m = metrics.stage;
  const stage = FEATURES_STAGE;
  const topics = config.topics;
  const settings = config.features;
  await kafka.ensureTopics([
    { topic: topics.spans, partitions: topics.partitions },
    { topic: topics.features, partitions: topics.partitions },
    { topic: topics.deadLetter, partitions: 1 },
  ]);
  const producer: Producer = await kafka.producer();
  const windows = new OperationWindows({ windowMs: settings.windowMs, allowedLatenessMs: settings.allowedLatenessMs });
  const queue = new SerialQueue();
  const lastBatch = new Map<number, RecordBatch>();
  const nextOffset = new Map<number, bigint>();
  const watermarks = new PartitionWatermarks(settings.idleFlushMs);
  let consuming = true;
  metrics.addHealthCheck(stage, () => consuming);

  const featuresSink = kafkaTopicSink(producer, topics.features);
  const deadLetterSink = kafkaTopicSink(producer, topics.deadLetter);
  const retry = {
    signal: ctx.signal,
    onRetry: (e: unknown, attempt: number) => { m.errors.inc({ stage, kind: 'produce' }); log.warn({ attempt, err: errorMessage(e) }, 'retrying produce'); },
  };
  const decode: Processor<IncomingRecord, { event: RequestEvent; record: IncomingRecord }> = {
    name: 'decode_otlp',
    process: (record) => options.decode(record).map((event) => ({ event, record })),
  };

  /** Emits what the watermark closed, then commits every partition as far as open windows allow. */
  async function emitAndCommit(watermarkMs: number): Promise<void> {
    const closed = windows.advanceWatermark(watermarkMs);
    if (closed.length > 0) {
      await deliver([featuresSink], closed.map((v) => ({
        key: v.entityId, value: encodeFeatureVector(v), timestampMs: v.windowEndMs,
        headers: { [FINGERPRINT_HEADER]: FEATURE_SCHEMA_FINGERPRINT },
      })), retry);
      m.recordsOut.inc({ stage }, closed.length);
      options.onEmit?.(closed);
    }
    const emittedThroughMs = windows.watermark - settings.allowedLatenessMs;
    const metadata = Number.isFinite(emittedThroughMs) ? JSON.stringify({ emittedThroughMs } satisfies CommitState) : undefined;
    for (const [partition, batch] of lastBatch) {
      const commitAt = windows.minOpenOffset(partition) ?? nextOffset.get(partition)!;
      try {
        await batch.commit(commitAt.toString(), metadata);
      } catch (e) {
        // The partition moved to another member; it re-reads from the last good commit.
        lastBatch.delete(partition);
        m.errors.inc({ stage, kind: 'commit' });
        log.warn({ partition, err: errorMessage(e) }, 'commit failed');
      }
    }
  }

  async function handle(batch: RecordBatch): Promise<void> {
    const started = performance.now();
    m.recordsIn.inc({ stage }, batch.records.length);
    const { items, deadLetters } = processRecords(batch.records, decode, stage);
    for (const { event, record } of items) {
      const outcome = windows.record(event, { partition: batch.partition, offset: BigInt(record.offset) });
      if (outcome === 'late' || outcome === 'already_emitted') m.recordsDropped.inc({ stage, reason: outcome });
      watermarks.observe(batch.partition, event.timeMs, clock.now());
    }
    if (deadLetters.length > 0) {
      await deliver([deadLetterSink], deadLetters, retry);
      m.recordsDropped.inc({ stage, reason: 'undecodable' }, deadLetters.length);
    }
    const last = batch.records.at(-1);
    if (last) nextOffset.set(batch.partition, BigInt(last.offset) + 1n);
    lastBatch.set(batch.partition, batch);
    await emitAndCommit(watermarks.current(clock.now()));
    m.consumerLag.set({ stage, topic: batch.topic, partition: String(batch.partition) }, Number(BigInt(batch.highWatermark) - (nextOffset.get(batch.partition) ?? 0n)));
    m.processingLatency.observe({ stage }, (performance.now() - started) / 1000);
  }

  const consumer = await kafka.consume({
    groupId: settings.groupId,
    topics: [topics.spans],
    fromBeginning: true,
    onAssign: (_topic, committed, partitions) => {
      watermarks.assign(partitions, clock.now());
      for (const c of committed) {
        if (!c.metadata) continue;
        try {
          const state = JSON.parse(c.metadata) as CommitState;
          windows.restoreEmittedThrough(state.emittedThroughMs);
        } catch {
          log.warn({ partition: c.partition }, 'ignoring unreadable commit metadata');
        }
      }
    },
    onBatch: (batch) => queue.run(() => handle(batch)),
  });

  // When traffic stops, windows still close: once every partition is quiet, all open windows are emitted.
  const idleTimer = setInterval(() => {
    if (windows.openCount === 0 || !watermarks.allIdle(clock.now())) return;
    queue.run(() => emitAndCommit(watermarks.newestEventMs + settings.windowMs + settings.allowedLatenessMs))
      .catch((e) => { m.errors.inc({ stage, kind: 'flush' }); log.error({ err: errorMessage(e) }, 'idle flush failed'); });
  }, Math.min(1000, settings.idleFlushMs));

  log.info({ topic: topics.spans, groupId: settings.groupId, windowMs: settings.windowMs }, 'features stage consuming');
  return {
    name: stage,
    async stop() {
      consuming = false;
      clearInterval(idleTimer);
      await consumer.stop();
      await queue.run(async () => {});
      await producer.close();
    },
  };
}
