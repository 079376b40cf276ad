import { describe, expect, it } from 'vitest';
import { create, daily, findingsAcrossRestart, run, seeded, vector } from '../testing/vectors.ts';
import { resourceHijacking } from './detector.ts';

const POD = 'pod:shop/catalog-5c7b';

/** A pod serving traffic: CPU follows a daily curve with noise and short load peaks. */
function normalPod(windows: number, seed: number, from = 0) {
  const rand = seeded(seed);
  return Array.from({ length: windows }, (_, k) => {
    const i = from + k;
    const peak = rand() < 0.02 ? 2.5 : 1;
    return vector(POD, { cpu_seconds: daily(2, 0.5, i) * peak * (0.8 + rand() * 0.4), exec_count: 0, new_binary_count: 0, history_age_s: 3600 + i * 10 }, { window: i });
  });
}

const miner = (from: number, windows: number, newBinaryAt = from) => Array.from({ length: windows }, (_, k) => vector(POD, {
  cpu_seconds: 19, exec_count: from + k === newBinaryAt ? 1 : 0, new_binary_count: from + k === newBinaryAt ? 1 : 0, history_age_s: 9000,
}, { window: from + k, examples: from + k === newBinaryAt ? { new_binaries: ['/tmp/.x/kworker'] } : undefined }));

describe('resource_hijacking', () => {
  it('fires T1496 in the first window with a new binary and a CPU jump, naming the binary', async () => {
    const { detector } = await create(resourceHijacking);
    expect(run(detector, normalPod(300, 1))).toEqual([]);
    const findings = run(detector, miner(300, 5));
    expect(findings.map((f) => f.windowStartMs)).toEqual(miner(300, 5).map((v) => v.windowStartMs));
    expect(findings[0]).toMatchObject({ detector: 'resource_hijacking', kind: 'intrusion', threat: { tactic: { id: 'TA0040' }, technique: { id: 'T1496' } } });
    expect(findings[0].message).toContain('/tmp/.x/kworker');
    expect(findings[0].explanation[0].typical).toBeLessThan(4);
  });

  it('fires on a new process entity from its first window, on the floor of half a core (no baseline of its own)', async () => {
    const { detector } = await create(resourceHijacking);
    // The miner started 7 s into its first window: 3 s at 1.85 cores.
    const proc = [5.5, 18.5, 18.5].map((cpu, i) => vector('process:node-1:/tmp/xmrig', { cpu_seconds: cpu, exec_count: i === 0 ? 1 : 0, new_binary_count: i === 0 ? 1 : 0, history_age_s: 7200 }, { window: i }));
    expect(run(detector, proc).map((f) => f.windowStartMs)).toEqual(proc.map((v) => v.windowStartMs));
    const { detector: longer } = await create(resourceHijacking, { sustainWindows: 3 });
    expect(run(longer, proc)).toHaveLength(1);
  });

  it('stays quiet on load peaks, on high CPU without a new binary, and on a new binary with ordinary CPU', async () => {
    const { detector } = await create(resourceHijacking);
    expect(run(detector, normalPod(5000, 2))).toEqual([]);
    const busy = Array.from({ length: 30 }, (_, k) => vector(POD, { cpu_seconds: 19, new_binary_count: 0, history_age_s: 60_000 }, { window: 5000 + k }));
    expect(run(detector, busy)).toEqual([]);
    const { detector: other } = await create(resourceHijacking);
    run(other, normalPod(300, 3));
    const tool = Array.from({ length: 10 }, (_, k) => vector(POD, { cpu_seconds: 2.2, new_binary_count: k === 0 ? 1 : 0, history_age_s: 9000 }, { window: 300 + k }));
    expect(run(other, tool)).toEqual([]);
  });

  it('is quiet on a pod it has no baseline for, even busy, without a new binary (cold start)', async () => {
    const { detector } = await create(resourceHijacking);
    const busy = Array.from({ length: 10 }, (_, i) => vector(POD, { cpu_seconds: 18, history_age_s: 100 }, { window: i }));
    expect(run(detector, busy)).toEqual([]);
  });

  it('gives the same answers after a restart from its persisted store', async () => {
    const vectors = [...normalPod(200, 4), ...miner(200, 6)];
    const { straight, restarted } = await findingsAcrossRestart(resourceHijacking, {}, vectors, 203, 10);
    expect(straight).toHaveLength(6);
    expect(restarted).toEqual(straight);
  });
});
