import { z } from 'zod';

/** `findings:` — the stage that takes the alert feed to Elasticsearch (and, later, to a SOAR webhook). */
export const FindingsConfig = z.strictObject({
  /** Consumer group of the Elasticsearch indexer's reading of the alert feed. */
  groupId: z.string().default('peregrine-findings-indexer'),
});
export type FindingsConfig = z.infer<typeof FindingsConfig>;
