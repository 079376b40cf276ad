import { describe, expect, it } from 'vitest';
import { create, findingsAcrossRestart, noisyCount, run, seeded, vector } from '../testing/vectors.ts';
import { newDestination } from './detector.ts';

const KB = 1024;
const MB = 1024 * KB;

/** A pod talking to its usual database and cache; now and then a new peer with little data (a new replica). */
function normalPod(windows: number, seed: number, historyAge = (i: number) => 3600 + i * 10) {
  const rand = seeded(seed);
  return Array.from({ length: windows }, (_, i) => vector('pod:shop/cart-7d9f', {
    connection_count: noisyCount(rand, 20), bytes_out: (100 + rand() * 200) * KB, bytes_in: 2 * MB,
    distinct_destinations: 3, new_destination_count: rand() < 0.02 ? 1 : 0, history_age_s: historyAge(i),
  }, { window: i, attributes: { 'k8s.pod.name': 'cart-7d9f', 'k8s.namespace.name': 'shop' } }));
}

describe('new_destination', () => {
  it('fires T1048 on a burst of outbound data with a new destination, naming it and the pod', async () => {
    const { detector } = await create(newDestination);
    expect(run(detector, normalPod(200, 1))).toEqual([]);
    const f = detector.score(vector('pod:shop/cart-7d9f', { bytes_out: 60 * MB, new_destination_count: 1, distinct_destinations: 4, history_age_s: 6000 }, {
      window: 200, examples: { new_destinations: ['198.51.100.23:443'] }, attributes: { 'k8s.pod.name': 'cart-7d9f', 'k8s.namespace.name': 'shop' },
    }));
    expect(f).toMatchObject({
      detector: 'new_destination', kind: 'intrusion', threat: { technique: { id: 'T1048' }, tactic: { id: 'TA0010' } },
      context: { orchestrator: { type: 'kubernetes', namespace: 'shop', resource: { type: 'pod', name: 'cart-7d9f' } } },
    });
    expect(f!.message).toContain('198.51.100.23:443');
    expect(f!.explanation.reduce((s, e) => s + e.share, 0)).toBeCloseTo(1, 9);
  });

  it('stays quiet on new destinations with ordinary traffic, and on big transfers to known destinations', async () => {
    const { detector } = await create(newDestination);
    expect(run(detector, normalPod(3000, 2))).toEqual([]);
    expect(detector.score(vector('pod:shop/cart-7d9f', { bytes_out: 80 * MB, new_destination_count: 0, history_age_s: 40_000 }, { window: 3000 }))).toBeUndefined();
  });

  it('leaves a burst to new internal destinations alone (a pool reaching another replica), not one with an outside address among them', async () => {
    const { detector } = await create(newDestination);
    run(detector, normalPod(200, 5));
    const burst = (window: number, destinations: string[]) => vector('pod:shop/cart-7d9f', { bytes_out: 60 * MB, new_destination_count: destinations.length, history_age_s: 6000 }, {
      window, examples: { new_destinations: destinations },
    });
    expect(detector.score(burst(200, ['10.0.1.11:3550', '[fd00::7]:5432']))).toBeUndefined();
    expect(detector.score(burst(201, ['10.0.1.11:3550', '203.0.113.99:443']))?.threat?.technique.id).toBe('T1048');
  });

  it('waits for the first-seen history to be warm (cold start)', async () => {
    const { detector } = await create(newDestination);
    // Everything is new while the history is young.
    const young = normalPod(20, 3, (i) => i * 10).map((v, i) => (i === 10 ? { ...v, values: v.values.map((x, j) => (v.featureNames[j] === 'bytes_out' ? 50 * MB : v.featureNames[j] === 'new_destination_count' ? 3 : x)) } : v));
    expect(run(detector, young)).toEqual([]);
  });

  it('gives the same answers after a restart from its persisted store', async () => {
    const vectors = [...normalPod(100, 4), vector('pod:shop/cart-7d9f', { bytes_out: 30 * MB, new_destination_count: 2, history_age_s: 9000 }, { window: 100 })];
    const { straight, restarted } = await findingsAcrossRestart(newDestination, {}, vectors, 50, 5);
    expect(straight).toHaveLength(1);
    expect(restarted).toEqual(straight);
  });
});
