/**
 * `findings.webhook`: an optional HTTPS destination for findings (a SOAR tool). Each finding is POSTed as its ECS
 * document, signed with HMAC-SHA256 over the timestamp and the body (`X-Peregrine-Signature`), retried with
 * exponential backoff and jitter, and dead-lettered with the reason when the webhook keeps refusing it.
 */
import { z } from 'zod';

export const WebhookConfig = z.strictObject({
  /** Off unless `url` is set. */
  enabled: z.boolean().default(false),
  /** HTTPS only; the server's certificate is always verified (add `ca` for a private CA). */
  url: z.url().refine((u) => u.startsWith('https://'), { message: 'the webhook URL must be https://' }).optional(),
  /**
   * The HMAC-SHA256 key of the signature (at least 32 characters); give it as PEREGRINE__FINDINGS__WEBHOOK__SECRET
   * rather than in the file. Never logged.
   */
  secret: z.string().min(32, 'the webhook secret must be at least 32 characters').optional(),
  /** PEM file of the certificate authority that signed the webhook's certificate, when it is not a public one. */
  ca: z.string().min(1).optional(),
  /** Further request headers (a SOAR's API token); never logged. */
  headers: z.record(z.string(), z.string()).default({}),
  /** Consumer group of the webhook's reading of the alert feed (independent of Elasticsearch's). */
  groupId: z.string().default('peregrine-findings-webhook'),
  timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
  /** Attempts per finding before it is dead-lettered with the last reason. */
  maxAttempts: z.number().int().min(1).max(50).default(8),
  initialBackoffMs: z.number().int().min(1).default(1_000),
  maxBackoffMs: z.number().int().min(1).default(60_000),
}).refine((c) => !c.enabled || (c.url !== undefined && c.secret !== undefined), {
  message: 'an enabled webhook needs url and secret', path: ['url'],
});
export type WebhookConfig = z.infer<typeof WebhookConfig>;
