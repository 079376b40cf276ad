/**
 * `features:` — the features stage's configuration (event-time windows per entity). The wave-1 keys keep their names
 * and defaults; the rest bound state and bad input. Topics (the inputs, the vectors and the stage's two internal
 * topics `featurePartials` and `featureState`) come from the topic table, core/topics.ts.
 */
import { z } from 'zod';

export const FeaturesConfig = z.strictObject({
  /** The source side's consumer group; the merge side's is `<groupId>-merge`. */
  groupId: z.string().default('peregrine-features'),
  windowMs: z.number().int().min(1000).default(10_000),
  /** Event time a window stays open after its end for late events. */
  allowedLatenessMs: z.number().int().min(0).default(5_000),
  /** A source partition read to its end and quiet for this much wall time closes its windows and stops holding others back. */
  idleFlushMs: z.number().int().min(100).default(15_000),
  /** Event times ahead of their Kafka record's timestamp by more than this are clamped to it (counted). */
  maxFutureMs: z.number().int().min(0).default(300_000),
  /** Event times behind their Kafka record's timestamp by more than this are dropped (counted); raise it to import old data. */
  maxPastMs: z.number().int().min(60_000).default(7 * 86_400_000),
  /** First-seen history: an item (route, binary, destination, edge) unseen this long is new again. */
  historyTtlMs: z.number().int().min(60_000).default(7 * 86_400_000),
  /** Entity windows open at once in this process, all partitions together (past it, new entities are refused and counted). */
  maxActiveEntities: z.number().int().min(1000).default(1_000_000),
  /** Entity histories kept in this process, all partitions together (the least recently used are evicted and counted). */
  maxHistories: z.number().int().min(1000).default(1_000_000),
  /** How often every source partition's marker is re-sent (a restarted merge owner needs them). */
  markerIntervalMs: z.number().int().min(100).default(2_000),
});
export type FeaturesConfig = z.infer<typeof FeaturesConfig>;

/** The merge side's consumer group (on the partials topic). */
export function mergeGroupOf(groupId: string): string {
  return `${groupId}-merge`;
}
