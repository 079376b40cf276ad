import { describe, expect, it } from 'vitest';
import { create, findingsAcrossRestart, run, vector } from '../testing/vectors.ts';
import { isInternalAddress } from '../context.ts';
import { lateralMovement } from './detector.ts';

const edges = ['edge:frontend->cart', 'edge:frontend->catalog', 'edge:cart->redis', 'edge:checkout->payment'];

/** The usual call graph: every edge in the first window it is seen is new, then known; the history warms up. */
function normalGraph(windows: number) {
  return Array.from({ length: windows }, (_, i) => edges.map((e, k) => vector(e, { request_count: 20 + k, new_edge: i === 0 ? 1 : 0, history_age_s: i * 10 }, { window: i }))).flat();
}

describe('lateral_movement', () => {
  it('fires T1021 on an edge never seen, once the history is warm', async () => {
    const { detector } = await create(lateralMovement);
    expect(run(detector, normalGraph(100))).toEqual([]);
    const f = detector.score(vector('edge:cart->payment', { request_count: 3, new_edge: 1, history_age_s: 1000 }, { window: 100 }));
    expect(f).toMatchObject({ detector: 'lateral_movement', kind: 'intrusion', threat: { tactic: { id: 'TA0008' }, technique: { id: 'T1021' } }, entityId: 'edge:cart->payment' });
    expect(f!.message).toContain('cart called payment for the first time');
    expect(f!.explanation).toEqual([{ feature: 'new_edge', actual: 1, typical: 0, share: 1, detector: 'lateral_movement' }]);
  });

  it('names SSH and weighs it more when the new callee listens on port 22', async () => {
    const { detector } = await create(lateralMovement);
    run(detector, normalGraph(40));
    const ssh = detector.score(vector('edge:cart->10.0.3.4:22', { new_edge: 1, history_age_s: 1000 }, { window: 40 }))!;
    const plain = detector.score(vector('edge:cart->10.0.3.4:8080', { new_edge: 1, history_age_s: 1000 }, { window: 40 }))!;
    expect(ssh.threat?.subtechnique?.id).toBe('T1021.004');
    expect(ssh.context?.destination).toEqual({ address: '10.0.3.4', ip: '10.0.3.4', port: 22 });
    expect(ssh.riskScore).toBeGreaterThan(plain.riskScore);
  });

  it('leaves connections to outside addresses to new_destination', async () => {
    const { detector } = await create(lateralMovement);
    run(detector, normalGraph(40));
    expect(detector.score(vector('edge:cart->203.0.113.99:443', { new_edge: 1, history_age_s: 1000 }, { window: 40 }))).toBeUndefined();
    expect(detector.score(vector('edge:cart->192.168.4.2:5432', { new_edge: 1, history_age_s: 1000 }, { window: 40 }))?.threat?.technique.id).toBe('T1021');
    expect(isInternalAddress('172.20.1.1')).toBe(true);
    expect(isInternalAddress('172.32.1.1')).toBe(false);
    expect(isInternalAddress('fd00::1')).toBe(true);
    expect(isInternalAddress('2001:db8::1')).toBe(false);
  });

  it('waits longer before calling an edge seen only as connections new (pools renew), except on a remote-administration port', async () => {
    const { detector } = await create(lateralMovement);
    const sensed = (id: string, port: number, window: number, age: number) => vector(id, { connection_count: 1, new_edge: 1, history_age_s: age }, {
      window, attributes: { 'process.executable': '/usr/local/bin/node', 'destination.address': '10.0.1.11', 'destination.port': String(port) },
    });
    expect(detector.score(sensed('edge:node->10.0.1.11:3550', 3550, 0, 0))).toBeUndefined();
    run(detector, normalGraph(100));
    // A pool connection of the frontend to cart renewed after 20 minutes: the service edge was known all along.
    expect(detector.score(sensed('edge:node->10.0.1.11:7070', 7070, 100, 1200))).toBeUndefined();
    expect(detector.score(sensed('edge:node->10.0.1.11:22', 22, 101, 1210))?.threat?.subtechnique?.id).toBe('T1021.004');
    // Once the history has seen an hour of renewals, a connection to an endpoint never reached is news.
    expect(detector.score(sensed('edge:node->10.0.1.11:9090', 9090, 400, 4000))?.threat?.technique.id).toBe('T1021');
  });

  it('is quiet on the edges of a caller that just appeared (a service starting up)', async () => {
    const { detector } = await create(lateralMovement);
    run(detector, normalGraph(100));
    const firstOrder = ['edge:fulfilment->payment', 'edge:fulfilment->email', 'edge:fulfilment->shipping'].map((e) => vector(e, { request_count: 1, new_edge: 1, history_age_s: 1000 }, { window: 100 }));
    expect(run(detector, [...firstOrder, vector('edge:fulfilment->currency', { new_edge: 1, history_age_s: 1010 }, { window: 101 })])).toEqual([]);
  });

  it('is quiet while the history is young (cold start) and on edges it was shown before', async () => {
    const { detector } = await create(lateralMovement);
    expect(detector.score(vector('edge:a->b', { new_edge: 1, history_age_s: 30 }, { window: 3 }))).toBeUndefined();
    // The features stage forgot the edge and calls it new again: not news.
    expect(detector.score(vector('edge:a->b', { new_edge: 1, history_age_s: 5000 }, { window: 600 }))).toBeUndefined();
  });

  it('gives the same answers after a restart, also when the first window of the edge is read again', async () => {
    const vectors = [...normalGraph(60), vector('edge:cart->payment', { new_edge: 1, history_age_s: 900 }, { window: 60 }), ...normalGraph(5).map((v) => ({ ...v, windowStartMs: v.windowStartMs + 610_000, windowEndMs: v.windowEndMs + 610_000 }))];
    const { straight, restarted } = await findingsAcrossRestart(lateralMovement, {}, vectors, vectors.length - 5, 8);
    expect(straight).toHaveLength(1);
    expect(restarted).toEqual(straight);
  });
});
