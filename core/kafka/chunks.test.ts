import { describe, expect, it } from 'vitest';
import { chunksBySize } from './chunks.ts';

describe('chunksBySize', () => {
  it('splits messages into consecutive runs under the byte limit, in order, a too large one alone', () => {
    const m = (n: number, bytes: number) => ({ key: `k${n}`, value: Buffer.alloc(bytes) });
    const messages = [m(0, 300), m(1, 300), m(2, 300), m(3, 5000), m(4, 10), m(5, 10)];
    const chunks = chunksBySize(messages, 1000);
    expect(chunks.map((c) => c.map((x) => x.key))).toEqual([['k0', 'k1'], ['k2'], ['k3'], ['k4', 'k5']]);
    expect(chunks.flat()).toEqual(messages);
    expect(chunksBySize([], 1000)).toEqual([]);
  });
});
