import { describe, expect, it } from 'vitest';
import { create, daily, findingsAcrossRestart, run, seeded, vector } from '../testing/vectors.ts';
import { latency } from './detector.ts';

const OP = 'operation:catalog:GetProduct';

/** p95 around 40 ms, a little higher at the daily peak, with the occasional slow window (GC, a cold cache). */
function normalOperation(windows: number, seed: number, from = 0) {
  const rand = seeded(seed);
  return Array.from({ length: windows }, (_, k) => {
    const i = from + k;
    const slow = rand() < 0.01 ? 2 : 1;
    return vector(OP, { request_count: 30 + Math.floor(rand() * 20), latency_p95_ms: daily(40, 0.3, i) * slow * (0.85 + rand() * 0.3) }, { window: i, service: 'catalog', operation: 'GetProduct' });
  });
}

describe('latency', () => {
  it('raises a fault (no ATT&CK technique) when p95 goes far above the baseline, slowest exemplar first', async () => {
    const { detector } = await create(latency);
    expect(run(detector, normalOperation(300, 1))).toEqual([]);
    const f = detector.score(vector(OP, { request_count: 40, latency_p95_ms: 2500 }, {
      window: 300, service: 'catalog', operation: 'GetProduct',
      exemplars: [{ traceId: '1'.repeat(32), spanId: '1'.repeat(16), reason: 'error', value: 1 }, { traceId: '2'.repeat(32), spanId: '2'.repeat(16), reason: 'slowest', value: 3000 }],
    }));
    expect(f).toMatchObject({ detector: 'latency', kind: 'fault', exemplars: [{ reason: 'slowest' }, { reason: 'error' }] });
    expect(f!.threat).toBeUndefined();
    expect(f!.message).toMatch(/p95 2500 ms over 40 requests \(typically \d\d(\.\d)? ms\)/);
  });

  it('stays quiet through the daily curve and occasional slow windows, and on windows with too few requests', async () => {
    const { detector } = await create(latency);
    expect(run(detector, normalOperation(5000, 2))).toEqual([]);
    expect(detector.score(vector(OP, { request_count: 2, latency_p95_ms: 9000 }, { window: 5000 }))).toBeUndefined();
  });

  it('is quiet on an operation without a baseline (cold start)', async () => {
    const { detector } = await create(latency);
    expect(run(detector, Array.from({ length: 9 }, (_, i) => vector(OP, { request_count: 50, latency_p95_ms: 100 * (i + 1) ** 2 }, { window: i })))).toEqual([]);
  });

  it('gives the same answers after a restart from its persisted store', async () => {
    const vectors = [...normalOperation(200, 3), vector(OP, { request_count: 50, latency_p95_ms: 900 }, { window: 200 }), ...normalOperation(30, 4, 201)];
    const { straight, restarted } = await findingsAcrossRestart(latency, {}, vectors, 150, 10);
    expect(straight).toHaveLength(1);
    expect(restarted).toEqual(straight);
  });
});
