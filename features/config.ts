/**
 * The features stage's configuration (section `features`). The wave-1 keys keep their names and defaults; the
 * rest bound state and bad input. The lead wires it into core/config.ts as `features: FeaturesConfig.default(FeaturesConfig.parse({}))`.
 */
import { z } from 'zod';

export const FeaturesConfig = z.strictObject({
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

/** The internal topics (core/topics.ts), named after the consumer group like Kafka Streams names its own (one set per deployment). */
export function internalTopics(groupId: string): { partials: string; state: string; mergeGroup: string } {
  return { partials: `${groupId}-partials`, state: `${groupId}-state`, mergeGroup: `${groupId}-merge` };
}
