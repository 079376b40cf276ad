/**
 * The features stage: otlp_spans → decode → per-operation event-time windows → peregrine.features.v1 (Avro, keyed by
 * entity). Offsets are committed up to the first record still held in an open window, with how far windows were
 * emitted in the commit metadata: a restart re-reads what open windows held and skips windows already emitted.
 */
import type { Processor } from '../core/component.ts';
import { startConsumerStage } from '../core/consumer-stage.ts';
import type { RequestEvent } from '../core/events.ts';
import type { IncomingRecord } from '../core/kafka/adapter.ts';
import { kafkaTopicSink } from '../core/kafka/sink.ts';
import type { RunningStage, StageFactory } from '../core/stage.ts';
import { ensureTopics } from '../core/topics.ts';
import { decodeSpansRecord } from '../ingest/otlp/record.ts';
import { encodeFeatureVector, FEATURE_SCHEMA_FINGERPRINT, FINGERPRINT_HEADER, type FeatureVector } from '../schemas/feature-vector.ts';
import { FeaturesConfig } from './config.ts';
import { OperationWindows } from './entity_window/window.ts';
import { PartitionWatermarks } from './entity_window/watermark.ts';

export const FEATURES_STAGE = 'features';

export interface FeaturesHooks {
  /** Called with every vector after Kafka acknowledged it (the demo prints them). */
  onEmit?(vectors: FeatureVector[]): void;
}

interface CommitState {
  emittedThroughMs: number;
}

const decodeSpans: Processor<IncomingRecord, RequestEvent> = { name: 'decode_otlp', process: decodeSpansRecord };

export const featuresStage: StageFactory<FeaturesConfig, FeaturesHooks, RunningStage, typeof FEATURES_STAGE> = {
  id: FEATURES_STAGE,
  config: FeaturesConfig,
  runByDefault: true,
  async create({ config: settings, platform, kafka, metrics, log: parentLog, clock, signal }, hooks = {}): Promise<RunningStage> {
    const log = parentLog.child({ stage: FEATURES_STAGE });
    const topics = platform.topics;
    await ensureTopics(kafka, topics, ['spans', 'features', 'deadLetter']);
    const producer = await kafka.producer();
    const windows = new OperationWindows({ windowMs: settings.windowMs, allowedLatenessMs: settings.allowedLatenessMs });
    const watermarks = new PartitionWatermarks(settings.idleFlushMs);
    const vectorsTopic = kafkaTopicSink(producer, topics.features);
    const featuresSink = {
      name: vectorsTopic.name,
      write: (vectors: FeatureVector[]) => vectorsTopic.write(vectors.map((v) => ({
        key: v.entityId, value: encodeFeatureVector(v), timestampMs: v.windowEndMs, headers: { [FINGERPRINT_HEADER]: FEATURE_SCHEMA_FINGERPRINT },
      }))),
    };
    const consumer = await startConsumerStage<RequestEvent, FeatureVector>({
      stage: FEATURES_STAGE, groupId: settings.groupId, topics: [topics.spans], kafka, producer, deadLetterTopic: topics.deadLetter, metrics, log, signal,
      decode: decodeSpans,
      process(items, batch) {
        for (const { item: event, record } of items) {
          const outcome = windows.record(event, { partition: batch.partition, offset: BigInt(record.offset) });
          if (outcome === 'late' || outcome === 'already_emitted') batch.drop(outcome);
          watermarks.observe(batch.partition, event.timeMs, clock.now());
        }
        return windows.advanceWatermark(watermarks.current(clock.now()));
      },
      sinks: [featuresSink],
      commitPosition(_topic, partition, next) {
        const emittedThroughMs = windows.watermark - settings.allowedLatenessMs;
        return {
          offset: windows.minOpenOffset(partition) ?? next,
          metadata: Number.isFinite(emittedThroughMs) ? JSON.stringify({ emittedThroughMs } satisfies CommitState) : undefined,
        };
      },
      onAssign(_topic, committed, partitions) {
        watermarks.assign(partitions, clock.now());
        for (const c of committed) {
          if (!c.metadata) continue;
          try {
            windows.restoreEmittedThrough((JSON.parse(c.metadata) as CommitState).emittedThroughMs);
          } catch {
            log.warn({ partition: c.partition }, 'ignoring unreadable commit metadata');
          }
        }
      },
      // When traffic stops, windows still close: once every partition is quiet, all open windows are emitted.
      tick: {
        intervalMs: Math.min(1000, settings.idleFlushMs),
        run: () => (windows.openCount === 0 || !watermarks.allIdle(clock.now())
          ? []
          : windows.advanceWatermark(watermarks.newestEventMs + settings.windowMs + settings.allowedLatenessMs)),
      },
      onDelivered: (vectors) => hooks.onEmit?.(vectors),
    });
    log.info({ topic: topics.spans, groupId: settings.groupId, windowMs: settings.windowMs }, 'features stage consuming');
    return {
      name: FEATURES_STAGE,
      healthy: consumer.healthy,
      async stop() {
        await consumer.stop();
        await producer.close();
      },
    };
  },
};
