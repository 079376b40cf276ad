/** What the webhook sends and how it reads the answer: request building, answer classification, backoff. Pure. */
import type { EncodedFinding } from '../findings.ts';
import { SIGNATURE_HEADER, signatureHeader } from './signature.ts';

export const FINDING_ID_HTTP_HEADER = 'x-peregrine-finding-id';

export interface WebhookRequest {
  body: string;
  headers: Record<string, string>;
}

/** A finding as a signed POST: the ECS document as the body; the finding id also as an idempotency key. */
export function webhookRequest(finding: EncodedFinding, secret: string, nowSec: number, extraHeaders: Record<string, string> = {}): WebhookRequest {
  const body = JSON.stringify(finding.doc);
  return {
    body,
    headers: {
      ...extraHeaders,
      'content-type': 'application/json',
      'user-agent': 'peregrine-webhook/1',
      [FINDING_ID_HTTP_HEADER]: finding.id,
      'idempotency-key': finding.id,
      [SIGNATURE_HEADER]: signatureHeader(secret, nowSec, body),
    },
  };
}

/** 2xx delivered; 408, 425, 429 and 5xx worth another attempt; any other answer refused for good. */
export function classifyStatus(status: number): 'delivered' | 'retry' | 'refused' {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 408 || status === 425 || status === 429 || status >= 500) return 'retry';
  return 'refused';
}

/**
 * The wait before attempt `attempt + 1` (attempt counts from 1): exponential from `initialMs`, capped at `maxMs`, with
 * full jitter (`random` in [0, 1)) so that many findings failing together do not retry together; a Retry-After the
 * webhook gave is respected (up to the cap).
 */
export function backoffMs(attempt: number, initialMs: number, maxMs: number, random: number, retryAfterSec?: number): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** (attempt - 1));
  const jittered = Math.floor(ceiling * random);
  if (retryAfterSec !== undefined && Number.isFinite(retryAfterSec) && retryAfterSec >= 0) return Math.min(maxMs, Math.max(jittered, retryAfterSec * 1000));
  return jittered;
}
