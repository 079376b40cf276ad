import { describe, expect, it } from 'vitest';
import { ClientRateLimiter, grpcPeerAddress } from './rate-limit.ts';

describe('per-client rate limit', () => {
  it('lets a burst through, then the refill rate, per client', () => {
    const limiter = new ClientRateLimiter({ requestsPerSecond: 10, burst: 5, maxClients: 100 });
    const burst = Array.from({ length: 8 }, () => limiter.allow('10.0.0.1', 0));
    expect(burst).toEqual([true, true, true, true, true, false, false, false]);
    // Another client has its own bucket.
    expect(limiter.allow('10.0.0.2', 0)).toBe(true);
    // 10/s: one token per 100 ms.
    expect(limiter.allow('10.0.0.1', 50)).toBe(false);
    expect(limiter.allow('10.0.0.1', 150)).toBe(true);
    expect(limiter.allow('10.0.0.1', 160)).toBe(false);
    // Idle long enough, the bucket is full again but never above the burst.
    const later = Array.from({ length: 7 }, () => limiter.allow('10.0.0.1', 60_000));
    expect(later.filter(Boolean)).toHaveLength(5);
  });

  it('sustains the configured rate over time', () => {
    const limiter = new ClientRateLimiter({ requestsPerSecond: 200, burst: 20, maxClients: 10 });
    let allowed = 0;
    // 1,000 req/s offered for 10 s.
    for (let ms = 0; ms < 10_000; ms++) if (limiter.allow('c', ms)) allowed++;
    expect(allowed).toBeGreaterThanOrEqual(2000);
    expect(allowed).toBeLessThanOrEqual(2020);
  });

  it('keeps at most maxClients buckets, dropping the least recently seen', () => {
    const limiter = new ClientRateLimiter({ requestsPerSecond: 1, burst: 1, maxClients: 3 });
    for (const c of ['a', 'b', 'c']) expect(limiter.allow(c, 0)).toBe(true);
    expect(limiter.allow('a', 0)).toBe(false); // a is now the most recently seen
    expect(limiter.allow('d', 0)).toBe(true); // pushes out b
    expect(limiter.clients).toBe(3);
    expect(limiter.allow('a', 0)).toBe(false); // a kept its empty bucket
    expect(limiter.allow('b', 0)).toBe(true); // b starts over
  });

  it('keys a gRPC client by the address HTTP reports for it, so both transports share its bucket', () => {
    expect(grpcPeerAddress('ipv4:10.0.0.1:53422')).toBe('10.0.0.1');
    expect(grpcPeerAddress('ipv6:[::1]:53422')).toBe('::1');
    expect(grpcPeerAddress('ipv6:[2001:db8::7]:443')).toBe('2001:db8::7');
  });
});
