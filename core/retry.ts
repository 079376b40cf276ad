import { isRetryable } from './errors.ts';

export interface RetryOptions {
  /** First wait; doubles up to maxDelayMs. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Stop retrying when this aborts (shutdown); the last error is thrown. */
  signal?: AbortSignal;
  /** Called before each wait, e.g. to log and heartbeat. */
  onRetry?(error: unknown, attempt: number, delayMs: number): void | Promise<void>;
  sleep?(ms: number): Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `fn` until it succeeds, waiting with exponential backoff after each retryable error. A non-retryable error
 * is thrown at once. There is no attempt limit: an outage delays data, it never drops it.
 */
export async function retryUntilDone<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const sleep = options.sleep ?? defaultSleep;
  let delay = options.initialDelayMs ?? 200;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!isRetryable(error) || options.signal?.aborted) throw error;
      await options.onRetry?.(error, attempt, delay);
      await sleep(delay);
      delay = Math.min(delay * 2, options.maxDelayMs ?? 10_000);
    }
  }
}

/** Serializes async work (a batch and a timer flush must not interleave). */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}
