/**
 * The second half of an entity window, on the instance that owns the entity's partition of the internal partials
 * topic: partial aggregates from every source partition are merged, in a fixed order (source topic, then
 * partition), once every source partition has said it closed the window (a marker on every partials partition,
 * written after its partials) or has gone idle. Then the entity's first-seen history is consulted and updated, and
 * the vector is built. Windows are emitted in (window start, entity id) order, so the history evolves the same way
 * whatever the number of instances.
 *
 * After a restart the owner re-reads the partials partition from the oldest pending window's first record, with the
 * emitted position and source markers of its last commit (`checkpoint`/`restore`) and the histories restored from
 * the changelog; an entity whose history already covers a window (the vector was sent before the commit) is not
 * emitted twice. Pure: the shell feeds records and sends vectors and history changes.
 */
import { DecodeError } from '../../core/errors.ts';
import type { KeyedStore } from '../../core/state/keyed-store.ts';
import type { FeatureVector } from '../../schemas/feature-vector.ts';
import { kindOf, type EntityKind } from '../entity/ids.ts';
import { firstSeen, SeenSet, type EntityHistory } from '../history/first-seen.ts';
import { decodeAggregate, EntityAggregate } from './aggregate.ts';
import { buildVector, type FirstSeenResult } from './vector.ts';

/** A source partition: `<topic>/<partition>`. */
export interface SourceId {
  topic: string;
  partition: number;
}

export function sourceKey(s: SourceId): string {
  return `${s.topic}/${s.partition}`;
}

function compareSources(a: SourceId, b: SourceId): number {
  return a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition;
}

export interface MergeSettings {
  windowMs: number;
  /** An item (or edge, or binary) not seen for this long counts as new again. */
  historyTtlMs: number;
  /** Entity windows pending on this partition; new ones beyond it are refused (counted). */
  maxPendingWindows: number;
}

export type MergeCounters = Record<'late' | 'duplicates' | 'refused' | 'replayed' | 'corrupt', number>;

/** Where a merge partition keeps what must survive it (the stage persists both to the compacted state topic). */
export interface MergeStores {
  histories: KeyedStore<EntityHistory>;
  /** When each entity kind's history began on this partition (event time, ms), keyed by kind. */
  historyStart: KeyedStore<number>;
}

interface SourceState {
  closedThroughMs: number;
  idle: boolean;
}

export interface MergeCheckpoint {
  emittedThroughMs: number;
  sources: Record<string, [closedThroughMs: number, idle: 0 | 1]>;
}

interface PendingWindow {
  /** entity → (source key → partial bytes, with the source for ordering) */
  entities: Map<string, Map<string, { source: SourceId; bytes: Uint8Array }>>;
  firstOffset: bigint;
}

/** Entity kinds whose vectors have first-seen features, and which item lists they track. */
const HISTORY: Readonly<Record<EntityKind, { routes?: true; binaries?: true; destinations?: true; existence?: true } | undefined>> = {
  operation: undefined,
  service: { destinations: true },
  edge: { existence: true },
  client: { routes: true },
  host: { binaries: true, destinations: true },
  pod: { binaries: true, destinations: true },
  process: { existence: true, destinations: true },
};

export class MergePartition {
  private readonly sources = new Map<string, SourceState>();
  private readonly expected: SourceId[];
  private readonly pending = new Map<number, PendingWindow>();
  private pendingCount = 0;
  private emittedThrough = -Infinity;
  readonly counters: MergeCounters = { late: 0, duplicates: 0, refused: 0, replayed: 0, corrupt: 0 };

  constructor(expectedSources: SourceId[], private readonly settings: MergeSettings, private readonly stores: MergeStores) {
    this.expected = [...expectedSources].sort(compareSources);
  }

  get histories(): KeyedStore<EntityHistory> {
    return this.stores.histories;
  }

  restore(c: MergeCheckpoint): void {
    this.emittedThrough = Math.max(this.emittedThrough, c.emittedThroughMs);
    for (const [key, [closedThroughMs, idle]] of Object.entries(c.sources)) this.sources.set(key, { closedThroughMs, idle: idle === 1 });
  }

  checkpoint(): MergeCheckpoint {
    const sources: MergeCheckpoint['sources'] = {};
    for (const [key, s] of this.sources) sources[key] = [s.closedThroughMs, s.idle ? 1 : 0];
    return { emittedThroughMs: this.emittedThrough, sources };
  }

  get pendingWindows(): number {
    return this.pendingCount;
  }

  /** A partial from `source` for (entity, window starting at `windowStartMs`), read at `offset`. */
  acceptPartial(source: SourceId, entityId: string, windowStartMs: number, bytes: Uint8Array, offset: bigint): 'accepted' | 'late' | 'duplicate' | 'refused' {
    if (windowStartMs + this.settings.windowMs <= this.emittedThrough) {
      this.counters.late++;
      return 'late';
    }
    let w = this.pending.get(windowStartMs);
    if (!w) this.pending.set(windowStartMs, (w = { entities: new Map(), firstOffset: offset }));
    let parts = w.entities.get(entityId);
    if (!parts) {
      if (this.pendingCount >= this.settings.maxPendingWindows) {
        this.counters.refused++;
        return 'refused';
      }
      w.entities.set(entityId, (parts = new Map()));
      this.pendingCount++;
    }
    const key = sourceKey(source);
    if (parts.has(key)) {
      // The same source partition re-read after a restart: its partial is the same.
      this.counters.duplicates++;
      return 'duplicate';
    }
    parts.set(key, { source, bytes });
    return 'accepted';
  }

  /** A source partition's marker: it has closed every window ending at or before `closedThroughMs`; `idle`: nothing open. */
  acceptMarker(source: SourceId, closedThroughMs: number, idle: boolean): void {
    const key = sourceKey(source);
    const s = this.sources.get(key);
    if (!s) this.sources.set(key, { closedThroughMs, idle });
    else {
      s.closedThroughMs = Math.max(s.closedThroughMs, closedThroughMs);
      s.idle = idle;
    }
  }

  /** Windows ending at or before this are complete: every source closed them or is idle. */
  completeThroughMs(): number {
    let min = Infinity;
    for (const source of this.expected) {
      const s = this.sources.get(sourceKey(source));
      if (!s) return -Infinity;
      if (!s.idle) min = Math.min(min, s.closedThroughMs);
    }
    return min;
  }

  /** Merges and emits every complete window, oldest first (entities in id order within a window). */
  emitReady(): FeatureVector[] {
    const through = this.completeThroughMs();
    if (through === -Infinity || this.pending.size === 0) return [];
    const starts = [...this.pending.keys()].filter((s) => s + this.settings.windowMs <= through).sort((a, b) => a - b);
    const out: FeatureVector[] = [];
    for (const start of starts) {
      const w = this.pending.get(start)!;
      this.pending.delete(start);
      this.pendingCount -= w.entities.size;
      const endMs = start + this.settings.windowMs;
      for (const entityId of [...w.entities.keys()].sort()) {
        const parts = [...w.entities.get(entityId)!.values()].sort((a, b) => compareSources(a.source, b.source));
        // The first partial read is the merged aggregate (merging into an empty one gives the same).
        let merged: EntityAggregate | undefined;
        for (const p of parts) {
          try {
            const partial = decodeAggregate(p.bytes);
            if (merged) merged.merge(partial);
            else merged = partial;
          } catch (e) {
            // A corrupt partial (whatever wrote it) is left out and counted; the same bytes are left out on a replay.
            if (!(e instanceof DecodeError)) throw e;
            this.counters.corrupt++;
          }
        }
        merged ??= new EntityAggregate();
        const seen = this.firstSeen(entityId, start, endMs, merged);
        if (seen) out.push(buildVector(entityId, start, endMs, merged, seen));
      }
      this.emittedThrough = Math.max(this.emittedThrough, endMs);
    }
    return out;
  }

  /** Consults and updates the entity's history; undefined when an earlier run already emitted this window. */
  private firstSeen(entityId: string, startMs: number, endMs: number, agg: EntityAggregate): FirstSeenResult | undefined {
    const kind = kindOf(entityId)!;
    const tracks = HISTORY[kind];
    const none = { count: 0, names: [] };
    if (!tracks) return { historyAgeS: 0, entityNew: false, newRoutes: none, newBinaries: none, newDestinations: none };
    const h = this.stores.histories.get(entityId);
    if (h && h.lastWindowEndMs >= endMs) {
      this.counters.replayed++;
      return undefined;
    }
    let historyStart = this.stores.historyStart.get(kind);
    if (historyStart === undefined) this.stores.historyStart.set(kind, (historyStart = startMs));
    const ttl = this.settings.historyTtlMs;
    const nowS = Math.floor(endMs / 1000);
    const sinceS = Math.floor((endMs - ttl) / 1000);
    const next: EntityHistory = h ?? { firstWindowEndMs: endMs, lastWindowEndMs: endMs };
    const entityNew = !h || h.lastWindowEndMs < endMs - ttl;
    const result: FirstSeenResult = {
      historyAgeS: (endMs - historyStart) / 1000,
      entityNew,
      newRoutes: none,
      newBinaries: none,
      newDestinations: none,
    };
    const routes = agg.requests?.routeSample;
    if (tracks.routes && routes) result.newRoutes = firstSeen((next.routes ??= new SeenSet()), routes, nowS, sinceS);
    const binaries = agg.activity?.binaries;
    if (tracks.binaries && binaries) result.newBinaries = firstSeen((next.binaries ??= new SeenSet()), binaries, nowS, sinceS);
    const destinations = agg.destinationSample;
    if (tracks.destinations && destinations) result.newDestinations = firstSeen((next.destinations ??= new SeenSet()), destinations, nowS, sinceS);
    next.lastWindowEndMs = endMs;
    this.stores.histories.set(entityId, next);
    return result;
  }

  /** The offset a commit may go up to: the first record of the oldest pending window, else `nextOffset`. */
  commitOffset(nextOffset: bigint): bigint {
    let min = nextOffset;
    for (const w of this.pending.values()) if (w.firstOffset < min) min = w.firstOffset;
    return min;
  }
}
