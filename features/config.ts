import { z } from 'zod';

/** `features:` — the features stage (event-time windows per entity). */
export const FeaturesConfig = z.strictObject({
  groupId: z.string().default('peregrine-features'),
  windowMs: z.number().int().min(1000).default(10_000),
  /** Event time a window stays open after its end for late spans. */
  allowedLatenessMs: z.number().int().min(0).default(5_000),
  /** Windows of entities that stop sending close after this much wall time without data. */
  idleFlushMs: z.number().int().min(100).default(15_000),
});
export type FeaturesConfig = z.infer<typeof FeaturesConfig>;
