/**
 * The first half of an entity window, on the instance that reads a source partition: events of that partition
 * (`otlp_spans` partitions hold whole traces, so one entity's events are spread over partitions and instances)
 * accumulate into partial aggregates per (entity, window). Everything here is a function of the partition's records
 * in offset order — no wall clock, no batch boundaries — so two instances, a restart or any batch size give the
 * same partials:
 * - event times are checked against the Kafka record's timestamp (set when the record was written): a time far in
 *   the future is clamped to it (and does not move the watermark), one far in the past is dropped, both counted;
 *   the watermark only ever takes min(event time, record timestamp), so a spoofed future time cannot move it and
 *   close everyone's windows;
 * - the watermark is the partition's own (the largest such time seen), and a window closes once it passes the
 *   window's end by the allowed lateness, checked after every record;
 * - after a restart the partition is re-read from the first record of its oldest open window, with the watermark
 *   and closed position it had when that offset was committed (`checkpoint`/`restore`).
 * Pure: the shell reads records, routes their events here and sends what `takeClosed` returns.
 */
import type { AggregateSink } from '../extract/router.ts';
import { EntityAggregate } from './aggregate.ts';

export interface SourceWindowSettings {
  windowMs: number;
  allowedLatenessMs: number;
  /** Event times later than the record's timestamp by more than this are clamped to it. */
  maxFutureMs: number;
  /** Event times earlier than the record's timestamp by more than this are dropped. */
  maxPastMs: number;
  /** Entity windows open at once in this partition; new ones beyond it are refused and counted. */
  maxOpenWindows: number;
}

export type SourceCounters = Record<'clampedFuture' | 'droppedPast' | 'late' | 'refused', number>;

/** A closed partial aggregate, ready for the internal partials topic. */
export interface ClosedPartial {
  entityId: string;
  windowStartMs: number;
  aggregate: EntityAggregate;
}

/** What a commit records so that a restart resumes with the same decisions. */
export interface SourceCheckpoint {
  watermarkMs: number;
  closedThroughMs: number;
}

interface OpenWindow {
  aggregates: Map<string, EntityAggregate>;
  /** Offset of the window's first record. */
  firstOffset: bigint;
}

const NONE_CLOSED: readonly ClosedPartial[] = Object.freeze([]) as never;

/** Record timestamps at or below this are "not set" (Kafka's -1, or a producer that wrote 0). */
const UNSET_TIMESTAMP = 0;

export class SourcePartitionWindows implements AggregateSink {
  private readonly windows = new Map<number, OpenWindow>();
  private openCount = 0;
  private watermark = -Infinity;
  private closedThrough = -Infinity;
  private closed: ClosedPartial[] = [];
  private recordOffset = 0n;
  /** The window `open` found last (events of a record mostly share one); forgotten when windows close. */
  private lastStart = Number.NaN;
  private lastWindow: OpenWindow | undefined;
  private recordTimestampMs = UNSET_TIMESTAMP;
  readonly counters: SourceCounters = { clampedFuture: 0, droppedPast: 0, late: 0, refused: 0 };

  constructor(private readonly settings: SourceWindowSettings) {}

  /** The partition's state as of a commit (see the file comment). */
  restore(c: SourceCheckpoint): void {
    this.watermark = Math.max(this.watermark, c.watermarkMs);
    this.closedThrough = Math.max(this.closedThrough, c.closedThroughMs);
    this.lastStart = Number.NaN;
  }

  checkpoint(): SourceCheckpoint {
    return { watermarkMs: this.watermark, closedThroughMs: this.closedThrough };
  }

  get closedThroughMs(): number {
    return this.closedThrough;
  }

  get watermarkMs(): number {
    return this.watermark;
  }

  get openWindows(): number {
    return this.openCount;
  }

  /** Starts a record: the events routed until `endRecord` come from it. */
  beginRecord(offset: bigint, timestampMs: number): void {
    this.recordOffset = offset;
    this.recordTimestampMs = timestampMs;
  }

  /**
   * The event time to use for an event of the current record: itself, clamped to the record's timestamp when it
   * is too far ahead, or undefined (dropped) when it is too far behind or not a time at all. Also moves the watermark.
   */
  admitTime(eventMs: number): number | undefined {
    if (!Number.isFinite(eventMs) || eventMs <= 0) {
      this.counters.droppedPast++;
      return undefined;
    }
    const ts = this.recordTimestampMs;
    if (ts > UNSET_TIMESTAMP) {
      if (eventMs > ts + this.settings.maxFutureMs) {
        // Counted where the record was written, and no say in the watermark: the record's own time may be far
        // ahead of its neighbours' event times (a replay, an import), and this event's time is a lie.
        this.counters.clampedFuture++;
        return ts;
      }
      if (eventMs < ts - this.settings.maxPastMs) {
        this.counters.droppedPast++;
        return undefined;
      }
    }
    const contribution = ts > UNSET_TIMESTAMP ? Math.min(eventMs, ts) : eventMs;
    if (contribution > this.watermark) this.watermark = contribution;
    return eventMs;
  }

  open(entityId: string, timeMs: number): EntityAggregate | undefined {
    const start = Math.floor(timeMs / this.settings.windowMs) * this.settings.windowMs;
    let w: OpenWindow | undefined;
    if (start === this.lastStart) w = this.lastWindow!;
    else {
      if (start + this.settings.windowMs <= this.closedThrough) {
        this.counters.late++;
        return undefined;
      }
      w = this.windows.get(start);
      if (!w) this.windows.set(start, (w = { aggregates: new Map(), firstOffset: this.recordOffset }));
      this.lastStart = start;
      this.lastWindow = w;
    }
    let agg = w.aggregates.get(entityId);
    if (!agg) {
      if (this.openCount >= this.settings.maxOpenWindows) {
        this.counters.refused++;
        return undefined;
      }
      w.aggregates.set(entityId, (agg = new EntityAggregate()));
      this.openCount++;
    }
    return agg;
  }

  /** Ends the current record: closes the windows the watermark has passed. */
  endRecord(): void {
    const { windowMs, allowedLatenessMs } = this.settings;
    const closeThrough = Math.floor((this.watermark - allowedLatenessMs) / windowMs) * windowMs;
    if (closeThrough > this.closedThrough) this.closeThrough(closeThrough);
  }

  /** Closes every open window (the partition has gone quiet: its owner read all it has). */
  flushAll(): void {
    let last = this.closedThrough;
    for (const start of this.windows.keys()) last = Math.max(last, start + this.settings.windowMs);
    if (last > this.closedThrough) this.closeThrough(last);
  }

  private closeThrough(endMs: number): void {
    this.closedThrough = endMs;
    this.lastStart = Number.NaN;
    this.lastWindow = undefined;
    const starts = [...this.windows.keys()].filter((s) => s + this.settings.windowMs <= endMs).sort((a, b) => a - b);
    for (const start of starts) {
      const w = this.windows.get(start)!;
      this.windows.delete(start);
      this.openCount -= w.aggregates.size;
      for (const [entityId, aggregate] of w.aggregates) {
        // A window an event opened but that no extractor filled (e.g. a metric that is not a feature) has nothing to say.
        if (aggregate.samples > 0) this.closed.push({ entityId, windowStartMs: start, aggregate });
      }
    }
  }

  /** The partials closed since the last call. */
  takeClosed(): readonly ClosedPartial[] {
    if (this.closed.length === 0) return NONE_CLOSED;
    const out = this.closed;
    this.closed = [];
    return out;
  }

  /** The offset a commit may go up to: the first record of the oldest open window, else `nextOffset`. */
  commitOffset(nextOffset: bigint): bigint {
    let min = nextOffset;
    for (const w of this.windows.values()) if (w.firstOffset < min) min = w.firstOffset;
    return min;
  }
}
