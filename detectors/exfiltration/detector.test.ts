import { describe, expect, it } from 'vitest';
import { create, daily, findingsAcrossRestart, noisyCount, run, seeded, vector } from '../testing/vectors.ts';
import { exfiltration } from './detector.ts';

const KB = 1024;
const MB = 1024 * KB;

/** A product API: responses of 2–20 KB, traffic on a daily curve, now and then a bigger catalogue page. */
function normalRoute(windows: number, seed: number) {
  const rand = seeded(seed);
  return Array.from({ length: windows }, (_, i) => {
    const requests = Math.max(1, noisyCount(rand, daily(50, 0.5, i)));
    const p95 = 15 * KB + rand() * 5 * KB;
    const max = p95 * (1 + rand() * (rand() < 0.05 ? 4 : 0.5));
    return vector('operation:shop:GET /api/products', { request_count: requests, response_bytes_p95: p95, response_bytes_max: max, response_bytes_sum: requests * 8 * KB }, { window: i, operation: 'GET /api/products' });
  });
}

/** A regular client: a few pages a window, sometimes a burst of browsing. */
function normalClient(windows: number, seed: number) {
  const rand = seeded(seed);
  return Array.from({ length: windows }, (_, i) => {
    const requests = rand() < 0.1 ? 40 : noisyCount(rand, 6);
    return vector('client:10.2.0.7', { request_count: requests, response_bytes_sum: requests * (5 + rand() * 15) * KB }, { window: i });
  });
}

describe('exfiltration', () => {
  it('fires T1041 on a route answering a response it never gives, with the largest exemplar first', async () => {
    const { detector } = await create(exfiltration);
    expect(run(detector, normalRoute(200, 1))).toEqual([]);
    const f = detector.score(vector('operation:shop:GET /api/products', { request_count: 40, response_bytes_p95: 20 * KB, response_bytes_max: 40 * MB }, {
      window: 200, operation: 'GET /api/products',
      exemplars: [{ traceId: '1'.repeat(32), spanId: '2'.repeat(16), reason: 'slowest', value: 90 }, { traceId: '3'.repeat(32), spanId: '4'.repeat(16), reason: 'largest', value: 40 * MB }],
    }));
    expect(f).toMatchObject({ detector: 'exfiltration', kind: 'intrusion', threat: { tactic: { id: 'TA0010' }, technique: { id: 'T1041' } }, exemplars: [{ reason: 'largest' }, { reason: 'slowest' }] });
    expect(f!.explanation[0]).toMatchObject({ feature: 'response_bytes_max', actual: 40 * MB, share: 1 });
    expect(f!.explanation[0].typical).toBeGreaterThan(14 * KB);
    expect(f!.explanation[0].typical).toBeLessThan(21 * KB);
  });

  it('fires on a known client receiving far more than it ever does', async () => {
    const { detector } = await create(exfiltration);
    expect(run(detector, normalClient(300, 2))).toEqual([]);
    const f = detector.score(vector('client:10.2.0.7', { request_count: 30, response_bytes_sum: 300 * MB }, { window: 300 }));
    expect(f?.entityId).toBe('client:10.2.0.7');
    expect(f?.message).toContain('300 MB');
  });

  it('stays quiet on normal routes and clients, with daily curves and bursts of browsing', async () => {
    const { detector } = await create(exfiltration);
    expect(run(detector, normalRoute(5000, 3))).toEqual([]);
    expect(run(detector, normalClient(5000, 4))).toEqual([]);
  });

  it('judges a client without a history of its own against every client, and fires on a fresh scraper', async () => {
    const { detector } = await create(exfiltration);
    const rand = seeded(7);
    const crowd = Array.from({ length: 3000 }, (_, i) => vector(`client:10.4.${i % 200}.${i % 7}`, { request_count: 10, response_bytes_sum: (50 + rand() * 400) * KB * (rand() < 0.02 ? 8 : 1) }, { window: Math.floor(i / 10) }));
    expect(run(detector, crowd)).toEqual([]);
    const f = detector.score(vector('client:203.0.113.99', { request_count: 300, response_bytes_sum: 40 * MB }, { window: 300 }));
    expect(f?.entityId).toBe('client:203.0.113.99');
    expect(f!.explanation[0].typical).toBeLessThan(MB);
  });

  it('is quiet on a client or route it has no baseline for yet (cold start)', async () => {
    const { detector } = await create(exfiltration);
    expect(detector.score(vector('client:10.9.9.9', { request_count: 3, response_bytes_sum: 200 * MB }, { window: 0 }))).toBeUndefined();
    expect(detector.score(vector('operation:shop:GET /download', { request_count: 3, response_bytes_p95: 50 * MB, response_bytes_max: 80 * MB }, { window: 0 }))).toBeUndefined();
  });

  it('gives the same answers after a restart from its persisted store', async () => {
    const vectors = [...normalRoute(300, 5), vector('operation:shop:GET /api/products', { request_count: 5, response_bytes_p95: 10 * MB, response_bytes_max: 30 * MB }, { window: 300 })];
    const { straight, restarted } = await findingsAcrossRestart(exfiltration, {}, vectors, 150, 15);
    expect(straight).toHaveLength(1);
    expect(restarted).toEqual(straight);
  });
});
