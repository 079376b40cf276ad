/**
 * The features stage: otlp_spans, otlp_logs and otlp_metrics → per-entity event-time windows → feature vectors on
 * peregrine.features.v1 (Avro, keyed by entity id, schema fingerprint in a header). Two halves, both on the core
 * consumer-stage loop, in one process (features/README.md explains why this makes windows complete whatever the
 * number of instances):
 * - source half (group `features.groupId`, the three input topics): each source partition's events → partial
 *   aggregates per (entity, window) → the internal partials topic (partition = the entity's), then markers "this
 *   source partition closed every window ending at or before T". A partition's offset is committed up to the first
 *   record of its oldest open window, with its watermark in the commit metadata; a partition read to its end and
 *   quiet for `idleFlushMs` closes its windows (wall clock: the only place time is read);
 * - merge half (group `<groupId>-merge`, the partials topic): an entity's partials from every source partition are
 *   merged once all of them closed the window → the vector; first-seen histories live in the compacted state topic
 *   (written before each commit, read back when a partition is assigned). Committed up to the oldest pending window.
 * All decisions are in the pure engine (engine.ts); this file wires it to Kafka and /metrics.
 */
import { Counter, Gauge } from 'prom-client';
import type { Processor } from '../core/component.ts';
import { startConsumerStage, type ConsumerStage } from '../core/consumer-stage.ts';
import type { CommittedOffset, IncomingRecord, OutgoingMessage } from '../core/kafka/adapter.ts';
import { kafkaTopicSink } from '../core/kafka/sink.ts';
import { PartitionedState } from '../core/state/changelog.ts';
import type { RunningStage, StageFactory } from '../core/stage.ts';
import { ensureTopics } from '../core/topics.ts';
import { CumulativeToDelta, decodeLogs, decodeMetrics, decodeTraces } from '../ingest/otlp/index.ts';
import { encodeFeatureVector, FEATURE_SCHEMA_FINGERPRINT, FINGERPRINT_HEADER, type FeatureVector } from '../schemas/feature-vector.ts';
import { FeaturesConfig, mergeGroupOf } from './config.ts';
import { MergeSide, SourceSide, type SourceEvent } from './engine.ts';
import { decodeInternal, historyCodec, type InternalRecord } from './internal-records.ts';
import type { MergeCheckpoint, SourceId } from './window/merge.ts';
import type { SourceCheckpoint } from './window/source.ts';

export const FEATURES_STAGE = 'features';

export interface FeaturesHooks {
  /** Called with every vector after Kafka acknowledged it (the demo prints them). */
  onEmit?(vectors: FeatureVector[]): void;
}

function parseJson<T>(text: string | undefined): T | undefined {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

/** What the source half knows of a source partition beyond the engine: whether it was read to its end, and when. */
interface SourcePartition {
  caughtUp: boolean;
  lastActiveMs: number;
  /** Cumulative metrics become deltas per partition (a series' points stay in one partition). */
  deltas: CumulativeToDelta;
}

const keyOf = (topic: string, partition: number) => `${topic}/${partition}`;

export const featuresStage: StageFactory<FeaturesConfig, FeaturesHooks, RunningStage, typeof FEATURES_STAGE> = {
  id: FEATURES_STAGE,
  config: FeaturesConfig,
  runByDefault: true,
  async create({ config: settings, platform, kafka, metrics, log: parentLog, clock, signal }, hooks = {}): Promise<RunningStage> {
    const stage = FEATURES_STAGE;
    const log = parentLog.child({ stage });
    const topics = platform.topics;
    const sourceTopics = [topics.spans, topics.logs, topics.metrics];
    await ensureTopics(kafka, topics, ['spans', 'logs', 'metrics', 'features', 'featurePartials', 'featureState', 'deadLetter']);
    // The partition counts as they are (input topics created by others may have their own): every source partition
    // must close a window before it is merged.
    const expectedSources: SourceId[] = [];
    for (const topic of sourceTopics) for (const p of await kafka.topicOffsets(topic)) expectedSources.push({ topic, partition: p.partition });
    const partialsPartitions = (await kafka.topicOffsets(topics.featurePartials)).length;

    const registers = [metrics.registry];
    const timestamps = new Counter({ name: 'peregrine_features_timestamps_total', help: 'Event times clamped (far future) or dropped (far past, unset), per outcome', labelNames: ['outcome'], registers });
    const late = new Counter({ name: 'peregrine_features_late_total', help: 'Events (source side) or partials (merge side) for windows already closed; corrupt partials left out', labelNames: ['side'], registers });
    const evictions = new Counter({ name: 'peregrine_features_evictions_total', help: 'Entity state refused or evicted to stay under its cap', labelNames: ['state'], registers });
    const stateSize = new Gauge({ name: 'peregrine_features_state_entries', help: 'Open entity windows, pending merges and histories held', labelNames: ['state'], registers });

    // Caps per partition, so that what is refused or evicted is the same whatever the number of instances.
    const source = new SourceSide({
      windowMs: settings.windowMs, allowedLatenessMs: settings.allowedLatenessMs, maxFutureMs: settings.maxFutureMs, maxPastMs: settings.maxPastMs,
      maxOpenWindows: Math.max(1, Math.floor(settings.maxActiveEntities / 2 / expectedSources.length)),
    }, partialsPartitions);
    const state = new PartitionedState({
      defaultMaxKeys: Math.max(1, Math.floor(settings.maxHistories / partialsPartitions)),
      codec: historyCodec,
      onEvict: (_store, n) => evictions.inc({ state: 'histories' }, n),
    });
    const merge = new MergeSide(expectedSources, {
      windowMs: settings.windowMs, historyTtlMs: settings.historyTtlMs,
      maxPendingWindows: Math.max(1, Math.floor(settings.maxActiveEntities / 2 / partialsPartitions)),
    }, state);

    // The engine counts in totals per partition (parts come and go with assignments); /metrics gets the increments.
    const counted = new WeakMap<object, Record<string, number>>();
    const publish = (counters: Record<string, number>, metric: Counter<string>, labels: Record<string, Record<string, string>>) => {
      const before = counted.get(counters);
      for (const [k, v] of Object.entries(counters)) {
        const delta = v - (before?.[k] ?? 0);
        if (delta > 0 && labels[k]) metric.inc(labels[k], delta);
      }
      counted.set(counters, { ...counters });
    };
    const publishCounters = () => {
      let open = 0;
      for (const s of source.assigned) {
        const w = source.windows(s)!;
        open += w.openWindows;
        publish(w.counters, timestamps, { clampedFuture: { outcome: 'clamped_future' }, droppedPast: { outcome: 'dropped_past' } });
        publish(w.counters, late, { late: { side: 'source' } });
        publish(w.counters, evictions, { refused: { state: 'open_windows' } });
      }
      let pending = 0;
      let histories = 0;
      for (const q of merge.assigned) {
        const p = merge.partition(q)!;
        pending += p.pendingWindows;
        histories += p.histories.size;
        publish(p.counters, late, { late: { side: 'merge' }, corrupt: { side: 'corrupt_partial' } });
        publish(p.counters, evictions, { refused: { state: 'pending_windows' } });
      }
      stateSize.set({ state: 'open_windows' }, open);
      stateSize.set({ state: 'pending_windows' }, pending);
      stateSize.set({ state: 'histories' }, histories);
    };

    const producer = await kafka.producer();
    const consumers: ConsumerStage[] = [];
    const common = { stage, kafka, producer, deadLetterTopic: topics.deadLetter, metrics, log, signal };
    try {
      // ---- source half ---------------------------------------------------------------------------------------
      const partitions = new Map<string, SourcePartition>();
      const decodeSource: Processor<IncomingRecord, SourceEvent[]> = {
        name: 'decode_otlp',
        process(record) {
          const encoding = record.value[0] === 0x7b ? 'otlp_json' : 'otlp_proto';
          if (record.topic === topics.spans) return [decodeTraces(record.value, encoding)];
          if (record.topic === topics.logs) return [decodeLogs(record.value, encoding)];
          const deltas = partitions.get(keyOf(record.topic, record.partition))?.deltas ?? new CumulativeToDelta();
          return [decodeMetrics(record.value, encoding, { deltas })];
        },
      };
      let lastMarkersMs = 0;
      consumers.push(await startConsumerStage<SourceEvent[], OutgoingMessage>({
        ...common, groupId: settings.groupId, topics: sourceTopics, decode: decodeSource,
        process(items, batch) {
          const s = { topic: batch.topic, partition: batch.partition };
          for (const { item, record } of items) source.ingest(s, BigInt(record.offset), record.timestampMs, item);
          const p = partitions.get(keyOf(batch.topic, batch.partition));
          if (p) {
            if (batch.nextOffset !== undefined) p.caughtUp = batch.nextOffset >= batch.highWatermark;
            p.lastActiveMs = clock.now();
          }
          return source.takeOutput();
        },
        sinks: [kafkaTopicSink(producer, topics.featurePartials)],
        commitPosition(topic, partition, next) {
          const w = source.windows({ topic, partition });
          return w ? { offset: w.commitOffset(next), metadata: JSON.stringify(w.checkpoint() satisfies SourceCheckpoint) } : { offset: next };
        },
        onAssign: async (topic, committed, assigned) => {
          // Every assigned partition, kept or new, goes back to its last commit (the consumer resumes there).
          for (const s of source.assigned) {
            if (s.topic !== topic) continue;
            source.revoke(s);
            partitions.delete(keyOf(s.topic, s.partition));
          }
          if (assigned.length === 0) return;
          const now = clock.now();
          // Only a partition known to have nothing left to read may go idle before its first batch: one whose data
          // is merely slow to arrive must not stop holding the others back.
          const ends = new Map((await kafka.topicOffsets(topic)).map((o) => [o.partition, o]));
          for (const partition of assigned) {
            const commit = committedOf(committed, partition);
            source.assign({ topic, partition }, parseJson<SourceCheckpoint>(commit?.metadata));
            const end = ends.get(partition);
            const position = commit && Number(commit.offset) >= 0 ? BigInt(commit.offset) : BigInt(end?.low ?? '0');
            partitions.set(keyOf(topic, partition), { caughtUp: end !== undefined && position >= BigInt(end.high), lastActiveMs: now, deltas: new CumulativeToDelta() });
          }
        },
        tick: {
          intervalMs: Math.min(1000, Math.max(100, Math.floor(settings.idleFlushMs / 3))),
          run() {
            const now = clock.now();
            for (const s of source.assigned) {
              const p = partitions.get(keyOf(s.topic, s.partition));
              if (p?.caughtUp && now - p.lastActiveMs >= settings.idleFlushMs) source.markIdle(s);
            }
            // Every source's marker now and then: a merge owner that restarted needs them.
            const everySource = now - lastMarkersMs >= settings.markerIntervalMs;
            if (everySource) lastMarkersMs = now;
            publishCounters();
            return source.takeOutput(everySource);
          },
        },
      }));

      // ---- merge half ----------------------------------------------------------------------------------------
      const vectorsTopic = kafkaTopicSink(producer, topics.features);
      const decodePartial: Processor<IncomingRecord, InternalRecord> = { name: 'decode_partial', process: (record) => [decodeInternal(record.value)] };
      consumers.push(await startConsumerStage<InternalRecord, FeatureVector>({
        ...common, groupId: mergeGroupOf(settings.groupId), topics: [topics.featurePartials], decode: decodePartial,
        state: { store: state, topic: topics.featureState, inputTopic: topics.featurePartials },
        process(items, batch) {
          const q = batch.partition;
          for (const { item, record } of items) merge.acceptRecord(q, BigInt(record.offset), record.key?.toString() ?? '', item);
          return merge.emit(q);
        },
        sinks: [{
          name: vectorsTopic.name,
          write: (vectors: FeatureVector[]) => vectorsTopic.write(vectors.map((v) => ({
            key: v.entityId, value: encodeFeatureVector(v), timestampMs: v.windowEndMs, headers: { [FINGERPRINT_HEADER]: FEATURE_SCHEMA_FINGERPRINT },
          }))),
        }],
        commitPosition(_topic, q, next) {
          const p = merge.partition(q);
          return p ? { offset: p.commitOffset(next), metadata: JSON.stringify(p.checkpoint() satisfies MergeCheckpoint) } : { offset: next };
        },
        // The loop has restored the histories of newly assigned partitions; windows restart from the last commit.
        onAssign(_topic, committed, assigned) {
          for (const q of merge.assigned) merge.revoke(q);
          for (const q of assigned) merge.assign(q, parseJson<MergeCheckpoint>(committedOf(committed, q)?.metadata));
        },
        onDelivered: (vectors) => hooks.onEmit?.(vectors),
      }));
    } catch (e) {
      for (const c of consumers) await c.stop();
      await producer.close();
      throw e;
    }
    log.info({ sources: sourceTopics, partials: topics.featurePartials, state: topics.featureState, groupId: settings.groupId, windowMs: settings.windowMs }, 'features stage consuming');
    return {
      name: stage,
      healthy: () => consumers.every((c) => c.healthy()),
      async stop() {
        for (const c of consumers) await c.stop();
        await producer.close();
      },
    };
  },
};

function committedOf(committed: CommittedOffset[], partition: number): CommittedOffset | undefined {
  return committed.find((c) => c.partition === partition);
}
