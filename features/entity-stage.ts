/**
 * The features stage on Kafka: otlp_spans, otlp_logs and otlp_metrics (consumer group `features.groupId`) → partial
 * aggregates per (entity, window, source partition) on `<group>-partials`, keyed and partitioned by entity → the
 * entity's owner (group `<group>-merge`) merges them once every source partition closed the window → feature
 * vectors on peregrine.features.v1, first-seen histories on the compacted `<group>-state`. All decisions live in
 * the pure engine (engine.ts); this file reads, writes and commits:
 * - a source partition's offset is committed up to the first record of its oldest open window, with its watermark
 *   in the commit metadata; a merge partition's up to the oldest pending window, with its sources' markers;
 * - history changes are written before the commit that covers the windows they come from; a newly assigned merge
 *   partition reads its histories back from the state topic before its first record;
 * - a source partition read to its end and quiet for `idleFlushMs` closes its windows (wall clock: the only place
 *   time is read).
 */
import { Counter, Gauge } from 'prom-client';
import { CumulativeToDelta } from '../ingest/normalize/metrics.ts';
import { decodeLogs, decodeMetrics, decodeTraces, type OtlpEncoding } from '../ingest/otlp/index.ts';
import { deliver } from '../core/component.ts';
import { DecodeError, errorMessage } from '../core/errors.ts';
import { deadLetter } from '../core/kafka/dead-letter.ts';
import type { IncomingRecord, OutgoingMessage, Producer, RecordBatch } from '../core/kafka/adapter.ts';
import { kafkaTopicSink } from '../core/kafka/sink.ts';
import { SerialQueue } from '../core/retry.ts';
import type { StoreChange } from '../core/state/keyed-store.ts';
import type { RunningStage, StageContext } from '../core/stage.ts';
import { encodeFeatureVector, FEATURE_SCHEMA_FINGERPRINT, FINGERPRINT_HEADER, type FeatureVector } from '../schemas/feature-vector.ts';
import { FeaturesConfig, internalTopics } from './config.ts';
import { MergeSide, SourceSide, type InternalMessage, type SourceEvent } from './engine.ts';
import { decodeHistory, encodeHistory } from './internal-records.ts';
import type { HistoryValue, MergeCheckpoint, SourceId } from './window/merge.ts';
import type { SourceCheckpoint } from './window/source.ts';

export const ENTITY_FEATURES_STAGE = 'features';

export interface EntityFeaturesOptions {
  /** Called with every vector after Kafka acknowledged it. */
  onEmit?(vectors: FeatureVector[]): void;
}

/** Retention of the partials topic: long enough for any restart to re-read what open windows hold. */
const PARTIALS_RETENTION_MS = 86_400_000;

function encodingOf(bytes: Uint8Array): OtlpEncoding {
  return bytes[0] === 0x7b ? 'otlp_json' : 'otlp_proto';
}

function parseJson<T>(text: string | undefined): T | undefined {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

export async function startEntityFeaturesStage(ctx: StageContext, options: EntityFeaturesOptions = {}): Promise<RunningStage> {
  const { config, kafka, metrics, clock } = ctx;
  const stage = ENTITY_FEATURES_STAGE;
  const log = ctx.log.child({ stage });
  const m = metrics.stage;
  const settings = FeaturesConfig.parse(config.features);
  const topics = config.topics;
  const internal = internalTopics(settings.groupId);
  const sourceTopics = [topics.spans, topics.logs, topics.metrics];
  const partitions = topics.partitions;

  await kafka.ensureTopics([
    ...sourceTopics.map((topic) => ({ topic, partitions })),
    { topic: topics.features, partitions },
    { topic: topics.deadLetter, partitions: 1 },
    { topic: internal.partials, partitions, config: { 'cleanup.policy': 'delete', 'retention.ms': String(PARTIALS_RETENTION_MS) } },
    { topic: internal.state, partitions, config: { 'cleanup.policy': 'compact' } },
  ]);
  // The partition counts as they are (topics created by others may have their own), for the sources to wait for.
  const expectedSources: SourceId[] = [];
  for (const topic of sourceTopics) for (const p of await kafka.topicOffsets(topic)) expectedSources.push({ topic, partition: p.partition });
  const partialsPartitions = (await kafka.topicOffsets(internal.partials)).length;

  const source = new SourceSide({
    windowMs: settings.windowMs, allowedLatenessMs: settings.allowedLatenessMs, maxFutureMs: settings.maxFutureMs, maxPastMs: settings.maxPastMs,
    maxOpenWindows: Math.max(1, Math.floor(settings.maxActiveEntities / 2 / expectedSources.length)),
  }, partialsPartitions);
  const merge = new MergeSide(expectedSources, {
    windowMs: settings.windowMs, historyTtlMs: settings.historyTtlMs,
    maxHistories: Math.max(1, Math.floor(settings.maxHistories / partialsPartitions)),
    maxPendingWindows: Math.max(1, Math.floor(settings.maxActiveEntities / 2 / partialsPartitions)),
  });

  const registers = [metrics.registry];
  const timestamps = new Counter({ name: 'peregrine_features_timestamps_total', help: 'Event times clamped (far future) or dropped (far past, unset), per outcome', labelNames: ['outcome'], registers });
  const late = new Counter({ name: 'peregrine_features_late_total', help: 'Events (source side) or partials (merge side) for windows already closed', labelNames: ['side'], registers });
  const evictions = new Counter({ name: 'peregrine_features_evictions_total', help: 'State refused or evicted to stay under its cap', labelNames: ['state'], registers });
  const stateSize = new Gauge({ name: 'peregrine_features_state_entries', help: 'Open entity windows, pending merges and histories held', labelNames: ['state'], registers });
  const published = new Map<string, number>();
  /** Counters live in the engine as totals; /metrics gets their increments. */
  const publish = (key: string, total: number, counter: Counter<string>, labels: Record<string, string>) => {
    const delta = total - (published.get(key) ?? 0);
    if (delta > 0) counter.inc(labels, delta);
    published.set(key, total);
  };
  const sourceTotals = { clampedFuture: 0, droppedPast: 0, late: 0, refused: 0 };
  const mergeTotals = { late: 0, refused: 0, historyEvictions: 0, duplicates: 0, replayed: 0, corrupt: 0 };
  const publishCounters = () => {
    let open = 0;
    for (const s of source.assigned) {
      const w = source.windows(s)!;
      open += w.openWindows;
    }
    let pending = 0;
    let histories = 0;
    for (const q of merge.assigned) {
      const p = merge.partition(q)!;
      pending += p.pendingWindows;
      histories += p.histories.size;
    }
    stateSize.set({ state: 'open_windows' }, open);
    stateSize.set({ state: 'pending_windows' }, pending);
    stateSize.set({ state: 'histories' }, histories);
    publish('future', sourceTotals.clampedFuture, timestamps, { outcome: 'clamped_future' });
    publish('past', sourceTotals.droppedPast, timestamps, { outcome: 'dropped_past' });
    publish('late-source', sourceTotals.late, late, { side: 'source' });
    publish('late-merge', mergeTotals.late, late, { side: 'merge' });
    publish('refused-open', sourceTotals.refused, evictions, { state: 'open_windows' });
    publish('refused-pending', mergeTotals.refused, evictions, { state: 'pending_windows' });
    publish('evicted-history', mergeTotals.historyEvictions, evictions, { state: 'histories' });
    publish('corrupt', mergeTotals.corrupt, late, { side: 'corrupt_partial' });
  };
  /** Adds what an engine part counted since `last` (parts come and go with assignments). */
  const accumulate = <K extends string>(totals: Record<K, number>, counters: Record<K, number>, last: WeakMap<object, Record<K, number>>) => {
    const before = last.get(counters);
    for (const k of Object.keys(counters) as K[]) totals[k] += counters[k] - (before?.[k] ?? 0);
    last.set(counters, { ...counters });
  };
  const lastSource = new WeakMap<object, typeof sourceTotals>();
  const lastMerge = new WeakMap<object, typeof mergeTotals>();

  const producer: Producer = await kafka.producer();
  const queue = new SerialQueue();
  const retry = {
    signal: ctx.signal,
    onRetry: (e: unknown, attempt: number) => { m.errors.inc({ stage, kind: 'produce' }); log.warn({ attempt, err: errorMessage(e) }, 'retrying produce'); },
  };
  const partialsSink = kafkaTopicSink(producer, internal.partials);
  const featuresSink = kafkaTopicSink(producer, topics.features);
  const stateSink = kafkaTopicSink(producer, internal.state);
  const deadLetterSink = kafkaTopicSink(producer, topics.deadLetter);

  const sendInternal = async (messages: InternalMessage[]) => {
    await deliver([partialsSink], messages.map((msg) => ({ key: msg.key, value: msg.value, partition: msg.partition })), retry);
  };
  const sendDeadLetters = async (letters: OutgoingMessage[]) => {
    if (letters.length === 0) return;
    await deliver([deadLetterSink], letters, retry);
    m.recordsDropped.inc({ stage, reason: 'undecodable' }, letters.length);
  };

  // ---- source side -------------------------------------------------------------------------------------------
  interface SourceProgress {
    batch?: RecordBatch;
    nextOffset?: bigint;
    caughtUp: boolean;
    lastActiveMs: number;
    deltas: CumulativeToDelta;
  }
  const progress = new Map<string, SourceProgress>();
  const keyOf = (s: SourceId) => `${s.topic}/${s.partition}`;

  const decodeSource = (record: IncomingRecord, deltas: CumulativeToDelta): SourceEvent[] => {
    const encoding = encodingOf(record.value);
    if (record.topic === topics.spans) return decodeTraces(record.value, encoding);
    if (record.topic === topics.logs) return decodeLogs(record.value, encoding);
    return decodeMetrics(record.value, encoding, { deltas });
  };

  async function commitSource(s: SourceId): Promise<void> {
    const p = progress.get(keyOf(s));
    const windows = source.windows(s);
    if (!p?.batch || p.nextOffset === undefined || !windows) return;
    const checkpoint: SourceCheckpoint = windows.checkpoint();
    try {
      await p.batch.commit(windows.commitOffset(p.nextOffset).toString(), JSON.stringify(checkpoint));
    } catch (e) {
      // The partition moved to another member; it resumes from the last good commit.
      m.errors.inc({ stage, kind: 'commit' });
      log.warn({ source: keyOf(s), err: errorMessage(e) }, 'commit failed');
    }
  }

  async function handleSource(batch: RecordBatch): Promise<void> {
    const started = performance.now();
    const s: SourceId = { topic: batch.topic, partition: batch.partition };
    const p = progress.get(keyOf(s));
    // A batch fetched before a rebalance took the partition away: its new owner reads it.
    if (!p || !source.windows(s)) return;
    m.recordsIn.inc({ stage }, batch.records.length);
    const letters: OutgoingMessage[] = [];
    for (const record of batch.records) {
      let events: SourceEvent[];
      try {
        events = decodeSource(record, p.deltas);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        letters.push(deadLetter(record, `decode_otlp: ${errorMessage(e)}`, stage));
        events = [];
      }
      source.ingest(s, BigInt(record.offset), record.timestampMs, events);
    }
    await sendDeadLetters(letters);
    await sendInternal(source.takeOutput());
    const last = batch.records.at(-1);
    if (last) p.nextOffset = BigInt(last.offset) + 1n;
    p.batch = batch;
    p.caughtUp = p.nextOffset !== undefined && p.nextOffset >= BigInt(batch.highWatermark);
    p.lastActiveMs = clock.now();
    const windows = source.windows(s);
    if (windows) accumulate(sourceTotals, windows.counters, lastSource);
    await commitSource(s);
    m.consumerLag.set({ stage, topic: batch.topic, partition: String(batch.partition) }, Number(BigInt(batch.highWatermark) - (p.nextOffset ?? 0n)));
    m.processingLatency.observe({ stage }, (performance.now() - started) / 1000);
  }

  /** Quiet partitions read to their end close their windows; every source's marker is refreshed now and then. */
  let lastMarkersMs = 0;
  async function tick(): Promise<void> {
    const now = clock.now();
    for (const s of source.assigned) {
      const p = progress.get(keyOf(s));
      if (p?.caughtUp && now - p.lastActiveMs >= settings.idleFlushMs) source.markIdle(s);
    }
    const everySource = now - lastMarkersMs >= settings.markerIntervalMs;
    if (everySource) lastMarkersMs = now;
    const out = source.takeOutput(everySource);
    if (out.length > 0) {
      await sendInternal(out);
      for (const s of source.assigned) await commitSource(s);
    }
    publishCounters();
  }

  const sourceConsumer = await kafka.consume({
    groupId: settings.groupId,
    topics: sourceTopics,
    fromBeginning: true,
    onAssign: (topic, committed, assigned) => queue.run(async () => {
      for (const s of source.assigned) {
        if (s.topic === topic && !assigned.includes(s.partition)) {
          source.revoke(s);
          progress.delete(keyOf(s));
        }
      }
      const now = clock.now();
      // Only a partition known to have nothing left to read may go idle before its first batch (see tick): one
      // whose data is merely slow to arrive must not stop holding the others back.
      const ends = new Map((await kafka.topicOffsets(topic)).map((o) => [o.partition, o]));
      for (const partition of assigned) {
        // After every rebalance the consumer resumes from the committed offset, even for a partition it kept: its
        // state goes back to that commit too, or the records since would be counted twice.
        const s = { topic, partition };
        source.revoke(s);
        const commit = committed.find((c) => c.partition === partition);
        source.assign(s, parseJson<SourceCheckpoint>(commit?.metadata));
        const end = ends.get(partition);
        const position = commit && Number(commit.offset) >= 0 ? BigInt(commit.offset) : BigInt(end?.low ?? '0');
        progress.set(keyOf(s), { caughtUp: end !== undefined && position >= BigInt(end.high), lastActiveMs: now, deltas: new CumulativeToDelta() });
      }
    }),
    onBatch: (batch) => queue.run(() => handleSource(batch)),
  });

  // ---- merge side --------------------------------------------------------------------------------------------
  const lastMergeBatch = new Map<number, RecordBatch>();
  const mergeNext = new Map<number, bigint>();

  /** Reads the histories of `wanted` partitions back from the state topic (to its end as of now). */
  async function restoreHistories(wanted: number[]): Promise<Map<number, Array<StoreChange<HistoryValue>>>> {
    const out = new Map<number, Array<StoreChange<HistoryValue>>>(wanted.map((q) => [q, []]));
    const ends = new Map((await kafka.topicOffsets(internal.state)).filter((o) => wanted.includes(o.partition)).map((o) => [o.partition, BigInt(o.high)]));
    const remaining = new Set([...ends].filter(([, high]) => high > 0n).map(([q]) => q));
    if (remaining.size === 0) return out;
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const reader = await kafka.consume({
      groupId: `${internal.mergeGroup}-restore-${process.pid}-${clock.now()}`,
      topics: [internal.state],
      fromBeginning: true,
      onBatch: async (batch) => {
        const list = out.get(batch.partition);
        const end = ends.get(batch.partition);
        if (!list || end === undefined) return;
        for (const r of batch.records) {
          if (BigInt(r.offset) >= end) break;
          const key = r.key?.toString() ?? '';
          try {
            list.push([key, r.value.length === 0 ? undefined : decodeHistory(key, r.value)]);
          } catch (e) {
            if (!(e instanceof DecodeError)) throw e;
            m.errors.inc({ stage, kind: 'state_decode' });
            log.warn({ partition: batch.partition, offset: r.offset, err: errorMessage(e) }, 'skipping an unreadable history');
          }
        }
        const last = batch.records.at(-1);
        if (last && BigInt(last.offset) + 1n >= end) remaining.delete(batch.partition);
        if (remaining.size === 0) done();
      },
    });
    await finished;
    await reader.stop();
    return out;
  }

  async function handleMerge(batch: RecordBatch): Promise<void> {
    const started = performance.now();
    const q = batch.partition;
    const part = merge.partition(q);
    if (!part) return; // fetched before a rebalance took the partition away
    const letters: OutgoingMessage[] = [];
    for (const record of batch.records) {
      try {
        merge.accept(q, BigInt(record.offset), record.key?.toString() ?? '', record.value);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        letters.push(deadLetter(record, `decode_partial: ${errorMessage(e)}`, stage));
      }
    }
    await sendDeadLetters(letters);
    const vectors = merge.emit(q);
    if (vectors.length > 0) {
      await deliver([featuresSink], vectors.map((v) => ({
        key: v.entityId, value: encodeFeatureVector(v), timestampMs: v.windowEndMs,
        headers: { [FINGERPRINT_HEADER]: FEATURE_SCHEMA_FINGERPRINT },
      })), retry);
      m.recordsOut.inc({ stage }, vectors.length);
      options.onEmit?.(vectors);
    }
    const changes = part.takeHistoryChanges();
    if (changes.length > 0) {
      await deliver([stateSink], changes.map(([key, value]) => ({
        key, partition: q, value: value === undefined ? Buffer.alloc(0) : encodeHistory(key, value),
      })), retry);
    }
    accumulate(mergeTotals, part.counters, lastMerge);
    const last = batch.records.at(-1);
    if (last) mergeNext.set(q, BigInt(last.offset) + 1n);
    lastMergeBatch.set(q, batch);
    const next = mergeNext.get(q);
    if (next !== undefined) {
      try {
        await batch.commit(part.commitOffset(next).toString(), JSON.stringify(part.checkpoint()));
      } catch (e) {
        m.errors.inc({ stage, kind: 'commit' });
        log.warn({ partition: q, err: errorMessage(e) }, 'commit failed');
      }
    }
    m.processingLatency.observe({ stage }, (performance.now() - started) / 1000);
  }

  const mergeQueue = new SerialQueue();
  const mergeConsumer = await kafka.consume({
    groupId: internal.mergeGroup,
    topics: [internal.partials],
    fromBeginning: true,
    onAssign: (_topic, committed, assigned) => mergeQueue.run(async () => {
      for (const q of merge.assigned) if (!assigned.includes(q)) merge.revoke(q);
      const fresh = assigned.filter((q) => !merge.partition(q));
      if (fresh.length === 0) return;
      const histories = await restoreHistories(fresh);
      for (const q of fresh) {
        const checkpoint = parseJson<MergeCheckpoint>(committed.find((c) => c.partition === q)?.metadata);
        merge.assign(q, checkpoint, histories.get(q));
      }
      log.info({ partitions: fresh, histories: fresh.map((q) => histories.get(q)?.length ?? 0) }, 'merge partitions assigned, histories restored');
    }),
    onBatch: (batch) => mergeQueue.run(() => handleMerge(batch)),
  });

  let consuming = true;
  metrics.addHealthCheck(stage, () => consuming);
  const timer = setInterval(() => {
    queue.run(tick).catch((e) => { m.errors.inc({ stage, kind: 'tick' }); log.error({ err: errorMessage(e) }, 'idle flush failed'); });
  }, Math.min(1000, Math.max(100, Math.floor(settings.idleFlushMs / 3))));

  log.info({ sources: sourceTopics, partials: internal.partials, state: internal.state, groupId: settings.groupId, windowMs: settings.windowMs }, 'features stage consuming');
  return {
    name: stage,
    async stop() {
      consuming = false;
      clearInterval(timer);
      await sourceConsumer.stop();
      await mergeConsumer.stop();
      await queue.run(async () => {});
      await mergeQueue.run(async () => {});
      await producer.close();
    },
  };
}
