/**
 * The features stage without Kafka: the source side (records of otlp_spans / otlp_logs / otlp_metrics partitions →
 * partial aggregates and markers for the internal partials topic) and the merge side (partials-topic records →
 * feature vectors and history changes). The stage shell moves bytes between these and Kafka; tests drive them
 * directly with any batching and any number of "instances". Pure: no clock, no I/O.
 */
import type { LogRecordEvent, MetricPointEvent, RequestEvent } from '../core/events.ts';
import type { PartitionedState } from '../core/state/changelog.ts';
import type { FeatureVector } from '../schemas/feature-vector.ts';
import { routeLog, routeMetric, routeRequest } from './extract/router.ts';
import { decodeInternal, encodeMarker, encodePartial, historyStores, partitionOfEntity, type InternalRecord } from './internal-records.ts';
import { MergePartition, sourceKey, type MergeCheckpoint, type MergeSettings, type SourceId } from './window/merge.ts';
import { SourcePartitionWindows, type SourceCheckpoint, type SourceWindowSettings } from './window/source.ts';

export type SourceEvent = RequestEvent | LogRecordEvent | MetricPointEvent;

/** A record for the partials topic: explicit partition, key = entity id (markers: empty key). */
export interface InternalMessage {
  partition: number;
  key: string;
  value: Buffer;
}

interface SourceState {
  source: SourceId;
  windows: SourcePartitionWindows;
  idle: boolean;
  /** What the last marker said, to send markers only on change. */
  sentClosedThroughMs: number;
  sentIdle: boolean;
}

export class SourceSide {
  private readonly sources = new Map<string, SourceState>();
  private readonly out: InternalMessage[] = [];
  private lastSource: SourceId | undefined;
  private lastState: SourceState | undefined;

  constructor(private readonly settings: SourceWindowSettings, private readonly partialsPartitions: number) {}

  assign(source: SourceId, checkpoint?: SourceCheckpoint): SourcePartitionWindows {
    const key = sourceKey(source);
    let s = this.sources.get(key);
    if (!s) {
      s = { source, windows: new SourcePartitionWindows(this.settings), idle: false, sentClosedThroughMs: Number.NaN, sentIdle: false };
      this.sources.set(key, s);
    }
    if (checkpoint) s.windows.restore(checkpoint);
    return s.windows;
  }

  /** Forgets a partition that moved to another instance (its new owner re-reads what was open). */
  revoke(source: SourceId): void {
    this.sources.delete(sourceKey(source));
    this.lastSource = undefined;
    this.lastState = undefined;
  }

  windows(source: SourceId): SourcePartitionWindows | undefined {
    return this.sources.get(sourceKey(source))?.windows;
  }

  get assigned(): SourceId[] {
    return [...this.sources.values()].map((s) => s.source);
  }

  /** One source record's events, in offset order. */
  ingest(source: SourceId, offset: bigint, timestampMs: number, events: readonly SourceEvent[]): void {
    // The records of a batch come with one SourceId object: its state is looked up once.
    let s = source === this.lastSource ? this.lastState : undefined;
    if (s === undefined) {
      const key = sourceKey(source);
      if (!this.sources.has(key)) this.assign(source);
      s = this.sources.get(key)!;
      this.lastSource = source;
      this.lastState = s;
    }
    s.idle = false;
    const w = s.windows;
    w.beginRecord(offset, timestampMs);
    for (const e of events) {
      const t = w.admitTime(e.timeMs);
      if (t === undefined) continue;
      e.timeMs = t;
      if (e.kind === 'request') routeRequest(w, e);
      else if (e.kind === 'log') routeLog(w, e);
      else routeMetric(w, e);
    }
    w.endRecord();
    this.collect(s);
  }

  /** The partition's owner has read everything it holds and it has stayed quiet: close its windows, stop holding others back. */
  markIdle(source: SourceId): void {
    const s = this.sources.get(sourceKey(source));
    if (!s || s.idle) return;
    s.idle = true;
    s.windows.flushAll();
    this.collect(s);
  }

  private collect(s: SourceState): void {
    for (const p of s.windows.takeClosed()) {
      this.out.push({ partition: partitionOfEntity(p.entityId, this.partialsPartitions), key: p.entityId, value: encodePartial(s.source, p.windowStartMs, p.aggregate) });
    }
  }

  /**
   * Partials closed since the last call, followed by a marker on every partials partition for each source whose
   * position changed (all sources when `everySource`: a periodic refresh for owners that restarted). The markers
   * must be written after the partials (same producer, in order), which is what makes them safe.
   */
  takeOutput(everySource = false): InternalMessage[] {
    const out = this.out.splice(0);
    for (const s of this.sources.values()) {
      const closed = s.windows.closedThroughMs;
      if (!everySource && closed === s.sentClosedThroughMs && s.idle === s.sentIdle) continue;
      s.sentClosedThroughMs = closed;
      s.sentIdle = s.idle;
      const value = encodeMarker(s.source, closed, s.idle);
      for (let q = 0; q < this.partialsPartitions; q++) out.push({ partition: q, key: '', value });
    }
    return out;
  }
}

export class MergeSide {
  private readonly partitions = new Map<number, MergePartition>();

  /**
   * `state` holds every partition's histories (stores `history/<q>`, `history-start/<q>`, values in historyCodec):
   * the stage persists its changes before each commit and restores a partition's before its first record.
   */
  constructor(private readonly expectedSources: SourceId[], private readonly settings: MergeSettings, readonly state: PartitionedState) {}

  /** Takes partition `q` (again) from its last commit; its histories are whatever `state` holds for it. */
  assign(q: number, checkpoint?: MergeCheckpoint): MergePartition {
    const names = historyStores(q);
    const m = new MergePartition(this.expectedSources, this.settings, { histories: this.state.store(names.histories), historyStart: this.state.store(names.historyStart) });
    if (checkpoint) m.restore(checkpoint);
    this.partitions.set(q, m);
    return m;
  }

  revoke(q: number): void {
    this.partitions.delete(q);
  }

  partition(q: number): MergePartition | undefined {
    return this.partitions.get(q);
  }

  get assigned(): number[] {
    return [...this.partitions.keys()];
  }

  /** One partials-topic record, read (`decodeInternal`) at `offset` (throws DecodeError for one that does not decode). */
  accept(q: number, offset: bigint, key: string, value: Uint8Array): void {
    this.acceptRecord(q, offset, key, decodeInternal(value));
  }

  acceptRecord(q: number, offset: bigint, key: string, r: InternalRecord): void {
    const m = this.partitions.get(q) ?? this.assign(q);
    if (r.kind === 'marker') {
      m.acceptMarker(r.source, r.closedThroughMs, r.idle);
      return;
    }
    // A copy: the record's buffer is a slice of a whole fetch response, which must not stay alive with the window.
    m.acceptPartial(r.source, key, r.windowStartMs, r.aggregateBytes.slice(), offset);
  }

  /** Complete windows of partition `q` as vectors; their history changes are in `state`, assigned to `q`. */
  emit(q: number): FeatureVector[] {
    const m = this.partitions.get(q);
    if (!m) return [];
    this.state.currentPartition = q;
    return m.emitReady();
  }
}
