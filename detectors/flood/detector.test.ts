import { describe, expect, it } from 'vitest';
import { create, daily, findingsAcrossRestart, noisyCount, run, seeded, vector } from '../testing/vectors.ts';
import { flood } from './detector.ts';

/** A shop's frontend: 40 requests/s on average over a strong daily curve, with short marketing bursts of 2.5×. */
function normalService(windows: number, seed: number, from = 0) {
  const rand = seeded(seed);
  let burst = 0;
  return Array.from({ length: windows }, (_, k) => {
    const i = from + k;
    if (burst === 0 && rand() < 0.003) burst = 12;
    const factor = burst > 0 ? 2.5 : 1;
    if (burst > 0) burst--;
    return vector('service:frontend', { request_count: noisyCount(rand, daily(400, 0.7, i) * factor), error_ratio: 0.01 }, { window: i, service: 'frontend' });
  });
}

/** Clients: people browsing, and a monitoring probe once a second. */
function normalClients(windows: number, seed: number) {
  const rand = seeded(seed);
  return Array.from({ length: windows }, (_, i) => [
    vector(`client:10.3.0.${i % 40}`, { request_count: noisyCount(rand, 15) }, { window: i }),
    vector('client:10.0.0.2', { request_count: 10 }, { window: i }),
  ]).flat();
}

describe('flood', () => {
  it('fires T1499.002 on a service flood far above its daily baseline', async () => {
    const { detector } = await create(flood);
    expect(run(detector, normalService(2000, 1))).toEqual([]);
    const f = detector.score(vector('service:frontend', { request_count: 12_000, error_ratio: 0.4 }, {
      window: 2000, service: 'frontend', exemplars: [{ traceId: 'e'.repeat(32), spanId: 'f'.repeat(16), reason: 'error', value: 1 }],
    }));
    expect(f).toMatchObject({ detector: 'flood', kind: 'intrusion', threat: { tactic: { id: 'TA0040' }, technique: { id: 'T1499' }, subtechnique: { id: 'T1499.002' } }, exemplars: [{ reason: 'error' }] });
    expect(f!.message).toMatch(/1200 requests\/s \(typically 6\d(\.\d)?\), 40% failing/);
  });

  it('fires on a client never seen before that sends more than 100 requests/s', async () => {
    const { detector } = await create(flood);
    expect(detector.score(vector('client:203.0.113.77', { request_count: 4000 }, { window: 0 }))?.entityId).toBe('client:203.0.113.77');
    expect(detector.score(vector('client:203.0.113.78', { request_count: 400 }, { window: 0 }))).toBeUndefined();
  });

  it('stays quiet through daily curves, marketing bursts, browsing and monitoring probes', async () => {
    const { detector } = await create(flood);
    expect(run(detector, normalService(8640, 2))).toEqual([]);
    expect(run(detector, normalClients(3000, 3))).toEqual([]);
  });

  it('is quiet on a service without a baseline, however busy (cold start)', async () => {
    const { detector } = await create(flood);
    expect(run(detector, Array.from({ length: 9 }, (_, i) => vector('service:frontend', { request_count: 20_000 }, { window: i })))).toEqual([]);
  });

  it('keeps firing through a long flood (the flood is not learnt as normal)', async () => {
    const { detector } = await create(flood);
    run(detector, normalService(300, 4));
    expect(run(detector, Array.from({ length: 60 }, (_, k) => vector('service:frontend', { request_count: 8000 }, { window: 300 + k })))).toHaveLength(60);
  });

  it('gives the same answers after a restart from its persisted store', async () => {
    const vectors = [...normalService(400, 5), vector('service:frontend', { request_count: 9000 }, { window: 400 }), ...normalService(50, 6, 401)];
    const { straight, restarted } = await findingsAcrossRestart(flood, {}, vectors, 300, 20);
    expect(straight).toHaveLength(1);
    expect(restarted).toEqual(straight);
  });
});
