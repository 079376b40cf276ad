/**
 * The webhook sink: each finding POSTed on its own (signed, request.ts), in feed order. An answer worth retrying
 * (timeout, connection error, 408/425/429, 5xx) is retried with exponential backoff and full jitter; after
 * `maxAttempts` the finding is given up and reported as rejected with the reason, so the findings stage puts it on the
 * dead-letter topic and goes on. A write waits at most `budgetMs` between attempts before it hands the batch back as
 * retryable (the stage heartbeats and calls again; attempts are remembered per finding id). TLS verification stays on.
 * I/O; the secret and extra headers are never logged.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, fetch } from 'undici';
import { systemClock, type Clock } from '../../../core/clock.ts';
import type { Sink, WriteResult } from '../../../core/component.ts';
import { ConfigError, errorMessage } from '../../../core/errors.ts';
import type { Logger } from '../../../core/log.ts';
import type { EncodedFinding } from '../findings.ts';
import type { WebhookConfig } from './config.ts';
import { backoffMs, classifyStatus, webhookRequest } from './request.ts';

export const WEBHOOK_SINK = 'webhook';

export interface WebhookSinkOptions {
  config: WebhookConfig;
  log: Logger;
  clock?: Clock;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Longest a write waits between attempts before returning the batch as retryable. */
  budgetMs?: number;
  /** Counts outcomes (`delivered`, `retried`, `gave_up`). */
  count?: (outcome: string) => void;
}

interface Attempted { attempts: number; lastReason: string }

const REMEMBERED = 10_000;
const REASON_CHARS = 300;

export interface WebhookSink extends Sink<EncodedFinding> {
  close(): Promise<void>;
}

export function webhookSink(o: WebhookSinkOptions): WebhookSink {
  const { config } = o;
  if (!config.url || !config.secret) throw new ConfigError('findings.webhook: an enabled webhook needs url and secret', 'findings.webhook.url');
  const url = config.url;
  const secret = config.secret;
  let ca: Buffer | undefined;
  if (config.ca) {
    try {
      ca = readFileSync(config.ca);
    } catch (e) {
      throw new ConfigError(`findings.webhook.ca: cannot read ${config.ca}: ${(e as Error).message}`, 'findings.webhook.ca');
    }
  }
  const dispatcher = new Agent({ connect: { ...(ca ? { ca } : {}), rejectUnauthorized: true }, headersTimeout: config.timeoutMs, bodyTimeout: config.timeoutMs });
  const clock = o.clock ?? systemClock;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = o.random ?? Math.random;
  const budgetMs = o.budgetMs ?? 20_000;
  const attempted = new Map<string, Attempted>();
  // What this sink already delivered (a batch handed back as retryable comes again whole): id and content, so an
  // update of a finding (same id, new content) still goes out.
  const delivered = new Set<string>();
  const deliveryKey = (f: EncodedFinding) => `${f.id}:${createHash('sha1').update(JSON.stringify(f.doc)).digest('hex')}`;

  /** One POST: delivered, retry (with the webhook's Retry-After, if any) or refused, with a reason. */
  async function post(f: EncodedFinding): Promise<{ outcome: 'delivered' | 'retry' | 'refused'; reason: string; retryAfterSec?: number }> {
    const request = webhookRequest(f, secret, Math.floor(clock.now() / 1000), config.headers);
    try {
      const res = await fetch(url, { method: 'POST', body: request.body, headers: request.headers, dispatcher, signal: AbortSignal.timeout(config.timeoutMs) });
      const text = await res.text().catch(() => '');
      const retryAfter = Number(res.headers.get('retry-after'));
      return { outcome: classifyStatus(res.status), reason: `HTTP ${res.status}${text ? `: ${text.slice(0, REASON_CHARS)}` : ''}`, retryAfterSec: Number.isFinite(retryAfter) ? retryAfter : undefined };
    } catch (e) {
      // Unreachable, timed out, TLS refused (an unverifiable certificate is retried: it may be a rotation in progress).
      const cause = (e as { cause?: unknown }).cause;
      return { outcome: 'retry', reason: `${errorMessage(e)}${cause ? `: ${errorMessage(cause)}` : ''}`.slice(0, REASON_CHARS) };
    }
  }

  function remember(id: string, a: Attempted): void {
    attempted.delete(id);
    attempted.set(id, a);
    if (attempted.size > REMEMBERED) attempted.delete(attempted.keys().next().value as string);
  }

  return {
    name: WEBHOOK_SINK,
    async write(items): Promise<WriteResult> {
      const started = clock.now();
      const rejected: number[] = [];
      let firstReason = '';
      for (let i = 0; i < items.length; i++) {
        const f = items[i];
        const key = deliveryKey(f);
        if (delivered.has(key)) continue;
        for (;;) {
          const previous = attempted.get(f.id) ?? { attempts: 0, lastReason: '' };
          const result = await post(f);
          const attempts = previous.attempts + 1;
          if (result.outcome === 'delivered') {
            attempted.delete(f.id);
            delivered.add(key);
            if (delivered.size > REMEMBERED) delivered.delete(delivered.values().next().value as string);
            o.count?.('delivered');
            break;
          }
          if (result.outcome === 'refused' || attempts >= config.maxAttempts) {
            attempted.delete(f.id);
            rejected.push(i);
            firstReason ||= `gave up on finding ${f.id} after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${result.reason}`;
            o.count?.('gave_up');
            o.log.warn({ finding: f.id, attempts, reason: result.reason }, 'webhook gave up on a finding; it goes to the dead-letter topic');
            break;
          }
          remember(f.id, { attempts, lastReason: result.reason });
          o.count?.('retried');
          const wait = backoffMs(attempts, config.initialBackoffMs, config.maxBackoffMs, random(), result.retryAfterSec);
          // Past the budget the stage takes over the waiting (it heartbeats); this finding's attempts are remembered.
          if (clock.now() - started + wait > budgetMs) return { status: 'retryable', error: new Error(`webhook: ${result.reason}`) };
          await sleep(wait);
        }
      }
      if (rejected.length === 0) return { status: 'ok' };
      return { status: 'failed', error: new Error(firstReason), rejected };
    },
    async close() {
      await dispatcher.close();
    },
  };
}
