import { describe, expect, it } from 'vitest';
import { create, daily, findingsAcrossRestart, noisyCount, run, seeded, vector } from '../testing/vectors.ts';
import { series } from './detector.ts';

/** A day of a service's key series in 10 s windows: daily curve, Poisson noise, a few errors, steady latency and bytes. */
function normalDay(seed: number, windows = 8640, shift?: { from: number; factor: number }) {
  const rand = seeded(seed);
  return Array.from({ length: windows }, (_, i) => {
    const n = noisyCount(rand, daily(300, 0.6, i) * (shift && i >= shift.from ? shift.factor : 1));
    return vector('service:frontend', {
      request_count: n, error_ratio: noisyCount(rand, n * 0.01) / Math.max(1, n), latency_p95_ms: 40 + rand() * 15, response_bytes_sum: n * (8000 + rand() * 2000),
    }, { window: i, service: 'frontend' });
  });
}

describe('series', () => {
  it('finds a level shift in the request rate within a few windows, as an anomaly without a technique', async () => {
    const { detector } = await create(series);
    const vectors = normalDay(1, 3000, { from: 2000, factor: 4 });
    const findings = run(detector, vectors);
    const shift = findings.find((f) => f.windowStartMs >= vectors[2000].windowStartMs)!;
    expect(shift.windowStartMs).toBeLessThanOrEqual(vectors[2003].windowStartMs);
    expect(shift).toMatchObject({ detector: 'series', kind: 'anomaly' });
    expect(shift.threat).toBeUndefined();
    const rate = shift.explanation.find((e) => e.feature === 'request_count')!;
    expect(rate.actual).toBeGreaterThan(3 * rate.typical);
    expect(shift.explanation.reduce((s, e) => s + e.share, 0)).toBeCloseTo(1, 9);
  });

  it('stays (nearly) quiet through a day of normal traffic, and silent during its warm-up (cold start)', async () => {
    for (const seed of [2, 3, 4]) {
      const { detector } = await create(series);
      const findings = run(detector, normalDay(seed));
      expect(findings.length).toBeLessThanOrEqual(2);
      expect(findings.every((f) => f.windowStartMs >= normalDay(seed, 151)[150].windowStartMs)).toBe(true);
    }
  });

  it('gives the same answers after a restart from its persisted store, replayed windows learnt once', async () => {
    const vectors = normalDay(5, 2600, { from: 2400, factor: 5 });
    const { straight, restarted } = await findingsAcrossRestart(series, {}, vectors, 1000, 30);
    expect(straight.length).toBeGreaterThan(0);
    expect(restarted).toEqual(straight);
  });
});
