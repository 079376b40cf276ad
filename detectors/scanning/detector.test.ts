import { describe, expect, it } from 'vitest';
import { create, findingsAcrossRestart, run, seeded, vector } from '../testing/vectors.ts';
import { scanning } from './detector.ts';

const WARM = 3600;

/** A crawler: many routes, nearly all answered, a few misses (robots.txt, favicon). */
function crawler(windows: number, seed: number) {
  const rand = seeded(seed);
  return Array.from({ length: windows }, (_, i) => {
    const requests = 20 + Math.floor(rand() * 30);
    const missing = Math.floor(rand() * 3);
    return vector('client:66.249.66.1', {
      request_count: requests, not_found_count: missing, not_found_ratio: missing / requests, distinct_missing_routes: missing,
      distinct_routes: 8 + Math.floor(rand() * 10), new_route_count: i < 3 ? 12 : Math.floor(rand() * 2), history_age_s: WARM,
    }, { window: i });
  });
}

/** A health check: one route, again and again. */
function healthCheck(windows: number) {
  return Array.from({ length: windows }, (_, i) => vector('client:10.0.0.2', {
    request_count: 10, not_found_count: 0, not_found_ratio: 0, distinct_missing_routes: 0, distinct_routes: 1, new_route_count: 0, history_age_s: WARM,
  }, { window: i }));
}

describe('scanning', () => {
  it('fires on a wordlist scan from a new client with T1595.003 and names paths tried', async () => {
    const { detector } = await create(scanning);
    const f = detector.score(vector('client:203.0.113.50', {
      request_count: 120, not_found_count: 110, not_found_ratio: 110 / 120, distinct_missing_routes: 110, distinct_routes: 112, new_route_count: 112, history_age_s: WARM,
    }, { window: 0, examples: { missing_routes: ['/.env', '/wp-admin', '/.git/config'] } }));
    expect(f).toMatchObject({ detector: 'scanning', kind: 'intrusion', threat: { tactic: { id: 'TA0043' }, technique: { id: 'T1595' }, subtechnique: { id: 'T1595.003' } } });
    expect(f!.message).toContain('/.env');
    expect(f!.explanation.reduce((s, e) => s + e.share, 0)).toBeCloseTo(1, 9);
  });

  it('fires on a sweep of many routes new to a known client once the history is warm', async () => {
    const { detector } = await create(scanning);
    expect(run(detector, crawler(100, 1).map((v) => ({ ...v, entityId: 'client:10.0.0.9' })))).toEqual([]);
    const f = detector.score(vector('client:10.0.0.9', { request_count: 80, not_found_ratio: 0.05, distinct_missing_routes: 4, new_route_count: 70, history_age_s: WARM }, { window: 100 }));
    expect(f?.threat?.technique.id).toBe('T1595');
    expect(f?.threat?.subtechnique).toBeUndefined();
  });

  it('ignores new routes while the first-seen history is young (cold start)', async () => {
    const { detector } = await create(scanning);
    expect(detector.score(vector('client:10.0.0.9', { request_count: 80, not_found_ratio: 0, new_route_count: 70, history_age_s: 60 }, { window: 0 }))).toBeUndefined();
  });

  it('stays quiet on crawlers and health checks', async () => {
    const { detector } = await create(scanning);
    expect(run(detector, crawler(3000, 2))).toEqual([]);
    expect(run(detector, healthCheck(3000))).toEqual([]);
  });

  it('needs a high share of 404s: a busy client with a few broken links is not scanning', async () => {
    const { detector } = await create(scanning);
    expect(detector.score(vector('client:10.0.0.3', { request_count: 900, not_found_ratio: 0.02, distinct_missing_routes: 18, history_age_s: WARM }, { window: 0 }))).toBeUndefined();
  });

  it('gives the same answers after a restart from its persisted store', async () => {
    const vectors = [...crawler(200, 3), vector('client:66.249.66.1', { request_count: 60, not_found_ratio: 0.9, distinct_missing_routes: 54, history_age_s: WARM }, { window: 200 })];
    const { straight, restarted } = await findingsAcrossRestart(scanning, {}, vectors, 100, 10);
    expect(straight).toHaveLength(1);
    expect(restarted).toEqual(straight);
  });
});
