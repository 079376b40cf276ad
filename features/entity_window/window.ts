import { DDSketch } from '@datadog/sketches-js';
import type { RequestEvent } from '../../core/events.ts';
import type { Exemplar, FeatureVector } from '../../schemas/feature-vector.ts';

/** Features of an operation window, in the order they appear in the vector. */
export const OPERATION_FEATURES = [
  'request_count', 'error_count', 'error_ratio', 'latency_mean_ms', 'latency_p50_ms', 'latency_p95_ms', 'latency_max_ms',
] as const;

export interface EntityWindowSettings {
  windowMs: number;
  /** A window closes once the watermark passes its end by this much. */
  allowedLatenessMs: number;
  /** Error exemplars kept per window. */
  maxErrorExemplars?: number;
}

/** Where a record came from, so offsets are committed only once its window was emitted. */
export interface RecordPosition {
  partition: number;
  offset: bigint;
}

interface OpenWindow {
  entityId: string;
  service: string;
  operation: string;
  startMs: number;
  count: number;
  errors: number;
  latencySum: number;
  latencyMax: number;
  sketch: DDSketch;
  errorExemplars: Exemplar[];
  slowest?: Exemplar;
  /** Lowest source offset per partition among this window's records. */
  minOffsets: Map<number, bigint>;
}

export type RecordOutcome = 'accepted' | 'ignored' | 'late' | 'already_emitted';

/**
 * Per-operation tumbling event-time windows. Pure: no I/O, no clock; the caller moves the watermark.
 * `record` adds an event; `advanceWatermark` closes windows whose end + lateness <= watermark.
 */
export class OperationWindows {
  private readonly open = new Map<string, OpenWindow>();
  private watermarkMs = -Infinity;
  /** Windows ending at or before this were emitted by an earlier run (from committed metadata). */
  private emittedThroughMs = -Infinity;
  private readonly maxErrorExemplars: number;

  constructor(private readonly settings: EntityWindowSettings) {
    this.maxErrorExemplars = settings.maxErrorExemplars ?? 3;
  }

  /** An entity is an operation of a service, keyed by the spans that serve it. */
  static entityOf(event: RequestEvent): { entityId: string; service: string; operation: string } | undefined {
    const serves = event.spanKind === 'server' || event.spanKind === 'consumer' || event.parentSpanId === undefined;
    if (!serves) return undefined;
    return { entityId: `operation:${event.service}:${event.operation}`, service: event.service, operation: event.operation };
  }

  windowStart(timeMs: number): number {
    return Math.floor(timeMs / this.settings.windowMs) * this.settings.windowMs;
  }

  record(event: RequestEvent, position?: RecordPosition): RecordOutcome {
    const entity = OperationWindows.entityOf(event);
    if (!entity) return 'ignored';
    const startMs = this.windowStart(event.timeMs);
    const endMs = startMs + this.settings.windowMs;
    if (endMs <= this.emittedThroughMs) return 'already_emitted';
    if (endMs + this.settings.allowedLatenessMs <= this.watermarkMs) return 'late';
    const key = `${entity.entityId}\u0000${startMs}`;
    let w = this.open.get(key);
    if (!w) {
      w = {
        ...entity, startMs, count: 0, errors: 0, latencySum: 0, latencyMax: 0,
        sketch: new DDSketch({ relativeAccuracy: 0.01 }), errorExemplars: [], minOffsets: new Map(),
      };
      this.open.set(key, w);
    }
    const latency = Math.max(0, event.durationMs);
    w.count++;
    w.latencySum += latency;
    w.latencyMax = Math.max(w.latencyMax, latency);
    w.sketch.accept(latency);
    if (event.error) {
      w.errors++;
      if (w.errorExemplars.length < this.maxErrorExemplars) {
        w.errorExemplars.push({ traceId: event.traceId, spanId: event.spanId, reason: 'error', value: latency, statusMessage: event.statusMessage });
      }
    }
    if (!w.slowest || latency > w.slowest.value) w.slowest = { traceId: event.traceId, spanId: event.spanId, reason: 'slowest', value: latency };
    if (position) {
      const seen = w.minOffsets.get(position.partition);
      if (seen === undefined || position.offset < seen) w.minOffsets.set(position.partition, position.offset);
    }
    return 'accepted';
  }

  /** Moves the watermark forward (never back) and returns the windows it closed, oldest first. */
  advanceWatermark(watermarkMs: number): FeatureVector[] {
    if (watermarkMs <= this.watermarkMs) return [];
    this.watermarkMs = watermarkMs;
    const closed: OpenWindow[] = [];
    for (const [key, w] of this.open) {
      if (w.startMs + this.settings.windowMs + this.settings.allowedLatenessMs <= watermarkMs) {
        closed.push(w);
        this.open.delete(key);
      }
    }
    closed.sort((a, b) => a.startMs - b.startMs || a.entityId.localeCompare(b.entityId));
    return closed.map((w) => this.toVector(w));
  }

  get watermark(): number {
    return this.watermarkMs;
  }

  /** The end of the newest window that can no longer receive data. */
  get closedThroughMs(): number {
    return this.windowStart(this.watermarkMs - this.settings.allowedLatenessMs);
  }

  /** After a restart: windows up to here were emitted before, so their records are skipped. */
  restoreEmittedThrough(ms: number): void {
    this.emittedThroughMs = Math.max(this.emittedThroughMs, ms);
  }

  /** The offset from which a restart must re-read `partition` to rebuild every open window. */
  minOpenOffset(partition: number): bigint | undefined {
    let min: bigint | undefined;
    for (const w of this.open.values()) {
      const o = w.minOffsets.get(partition);
      if (o !== undefined && (min === undefined || o < min)) min = o;
    }
    return min;
  }

  get openCount(): number {
    return this.open.size;
  }

  private toVector(w: OpenWindow): FeatureVector {
    const exemplars = [...w.errorExemplars];
    if (w.slowest) exemplars.push(w.slowest);
    const values = [
      w.count, w.errors, w.count === 0 ? 0 : w.errors / w.count, w.count === 0 ? 0 : w.latencySum / w.count,
      w.sketch.getValueAtQuantile(0.5), w.sketch.getValueAtQuantile(0.95), w.latencyMax,
    ];
    return {
      entityId: w.entityId, entityType: 'operation', service: w.service, operation: w.operation,
      windowStartMs: w.startMs, windowEndMs: w.startMs + this.settings.windowMs,
      featureNames: [...OPERATION_FEATURES], values, sampleCount: w.count, exemplars,
    };
  }
}
