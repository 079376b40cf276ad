import { describe, expect, it } from 'vitest';
import { create, daily, findingsAcrossRestart, noisyCount, run, seeded, vector } from '../testing/vectors.ts';
import { bruteForce } from './detector.ts';

/** A login service's normal day: failed logins (typos) in proportion to traffic, a few identities per window. */
function normalService(windows: number, seed: number) {
  const rand = seeded(seed);
  return Array.from({ length: windows }, (_, i) => {
    const requests = noisyCount(rand, daily(200, 0.6, i));
    const failures = noisyCount(rand, requests * 0.02);
    return vector('service:auth', { request_count: requests, failed_login_count: failures, auth_failure_count: failures, distinct_identities: noisyCount(rand, requests * 0.3) }, { window: i, service: 'auth' });
  });
}

/** Ordinary users behind their own addresses: now and then a typo. */
function normalClients(windows: number, seed: number) {
  const rand = seeded(seed);
  return Array.from({ length: windows }, (_, i) => {
    const failures = rand() < 0.05 ? 1 + Math.floor(rand() * 3) : 0;
    return vector(`client:10.1.0.${i % 50}`, { request_count: 5 + Math.floor(rand() * 20), failed_login_count: failures, auth_failure_count: failures, distinct_identities: failures > 0 ? 1 : 0 }, { window: i });
  });
}

describe('brute_force', () => {
  it('fires on credential stuffing from a client never seen before, naming the identities tried', async () => {
    const { detector } = await create(bruteForce);
    const f = detector.score(vector('client:203.0.113.9', { request_count: 60, failed_login_count: 55, auth_failure_count: 55, distinct_identities: 55 }, {
      window: 3, examples: { identities: ['alice', 'bob', 'carol', 'dave', 'erin'] }, attributes: { 'source.ip': '203.0.113.9' },
      exemplars: [{ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), reason: 'error', value: 1 }],
    }));
    expect(f).toMatchObject({
      detector: 'brute_force', entityId: 'client:203.0.113.9', kind: 'intrusion',
      threat: { tactic: { id: 'TA0006' }, technique: { id: 'T1110' } },
      context: { source: { ip: '203.0.113.9' } },
      exemplars: [{ traceId: 'a'.repeat(32), reason: 'error' }],
    });
    expect(f!.threat!.subtechnique).toBeUndefined();
    expect(f!.message).toContain('alice, bob');
    expect(f!.riskScore).toBeGreaterThanOrEqual(70);
    expect(f!.explanation.reduce((s, e) => s + e.share, 0)).toBeCloseTo(1, 9);
  });

  it('names password guessing when one identity takes the burst', async () => {
    const { detector } = await create(bruteForce);
    const f = detector.score(vector('client:198.51.100.4', { request_count: 30, failed_login_count: 30, distinct_identities: 1 }, { window: 0 }));
    expect(f?.threat?.subtechnique?.id).toBe('T1110.001');
  });

  it('stays quiet on a login service through a daily curve and on users mistyping', async () => {
    const { detector } = await create(bruteForce);
    expect(run(detector, normalService(2000, 1))).toEqual([]);
    expect(run(detector, normalClients(2000, 2))).toEqual([]);
  });

  it('fires on a spraying campaign from many addresses only against the service baseline', async () => {
    const { detector } = await create(bruteForce);
    const normal = normalService(300, 3);
    expect(run(detector, normal)).toEqual([]);
    const f = detector.score(vector('service:auth', { request_count: 400, failed_login_count: 180, distinct_identities: 170 }, { window: 300, service: 'auth' }));
    expect(f?.threat?.technique.id).toBe('T1110');
    const failures = f!.explanation.find((e) => e.feature === 'failed_login_count')!;
    expect(failures.typical).toBeGreaterThan(1);
    expect(failures.typical).toBeLessThan(10);
  });

  it('catches a slow spray (one attempt a second from rotating addresses) in its first window at the login operation', async () => {
    const rand = seeded(9);
    const { detector } = await create(bruteForce);
    const op = (i: number, extra = 0) => {
      const failures = noisyCount(rand, 0.3) + extra;
      return vector('operation:frontend:POST /api/login', { request_count: noisyCount(rand, 4) + extra, failed_login_count: failures, auth_failure_count: failures, distinct_identities: noisyCount(rand, 3) + extra }, { window: i, operation: 'POST /api/login' });
    };
    expect(run(detector, Array.from({ length: 2160 }, (_, i) => op(i)))).toEqual([]);
    // It began 5 s before the window's end, one attempt a second.
    expect(detector.score(op(2160, 5))?.threat?.technique.id).toBe('T1110');
  });

  it('is quiet on a service it has no baseline for yet (cold start), even when busy', async () => {
    const { detector } = await create(bruteForce);
    const busy = Array.from({ length: 5 }, (_, i) => vector('service:auth', { request_count: 900, failed_login_count: 40, distinct_identities: 300 }, { window: i }));
    expect(run(detector, busy)).toEqual([]);
  });

  it('does not learn an attack as normal: a long campaign keeps firing', async () => {
    const { detector } = await create(bruteForce);
    const attack = Array.from({ length: 50 }, (_, i) => vector('client:203.0.113.9', { failed_login_count: 20, distinct_identities: 20 }, { window: i }));
    expect(run(detector, attack)).toHaveLength(50);
  });

  it('gives the same answers after a restart from its persisted store', async () => {
    const vectors = [...normalService(400, 4), vector('service:auth', { request_count: 300, failed_login_count: 150, distinct_identities: 140 }, { window: 400 })];
    const { straight, restarted } = await findingsAcrossRestart(bruteForce, {}, vectors, 200, 20);
    expect(straight).toHaveLength(1);
    expect(restarted).toEqual(straight);
  });

  it('refuses unknown config keys', () => {
    expect(() => bruteForce.config.parse({ failures: { minimun: 3 } })).toThrow(/minimun/);
    expect(bruteForce.config.parse({}).enabled).toBe(true);
  });
});
