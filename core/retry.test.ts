import { describe, expect, it } from 'vitest';
import { PeregrineError, UnavailableError } from './errors.ts';
import { retryUntilDone, SerialQueue } from './retry.ts';

describe('retryUntilDone', () => {
  const sleep = async () => {};
  it('retries retryable errors with growing delays until success', async () => {
    let calls = 0;
    const delays: number[] = [];
    const result = await retryUntilDone(async () => {
      if (++calls < 4) throw new UnavailableError('elasticsearch', 'down');
      return 'ok';
    }, { sleep, initialDelayMs: 10, maxDelayMs: 30, onRetry: (_e, _a, d) => void delays.push(d) });
    expect(result).toBe('ok');
    expect(delays).toEqual([10, 20, 30]);
  });
  it('throws a permanent error at once', async () => {
    let calls = 0;
    await expect(retryUntilDone(async () => { calls++; throw new PeregrineError('rejected'); }, { sleep })).rejects.toThrow('rejected');
    expect(calls).toBe(1);
  });
  it('gives up when aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(retryUntilDone(async () => { throw new UnavailableError('kafka', 'down'); }, { sleep, signal: controller.signal })).rejects.toThrow('kafka: down');
  });
});

describe('SerialQueue', () => {
  it('runs tasks one after another even when one fails', async () => {
    const q = new SerialQueue();
    const order: string[] = [];
    const a = q.run(async () => { await new Promise((r) => setTimeout(r, 20)); order.push('a'); });
    const b = q.run(async () => { order.push('b'); throw new Error('x'); });
    const c = q.run(async () => { order.push('c'); });
    await a; await expect(b).rejects.toThrow('x'); await c;
    expect(order).toEqual(['a', 'b', 'c']);
  });
});
