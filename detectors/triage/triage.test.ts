import { describe, expect, it } from 'vitest';
import { MemoryKeyedStore, type StoreChange } from '../../core/state/keyed-store.ts';
import { findingId } from '../../findings/ecs/encode.ts';
import type { Finding } from '../../findings/finding.ts';
import { TACTICS, TECHNIQUES } from '../../findings/threat.ts';
import { T0, WINDOW_MS } from '../testing/vectors.ts';
import { combine, Triage, TriageConfig, type OpenFinding } from './triage.ts';

function finding(detector: string, window: number, riskScore: number, extra: Partial<Finding> = {}): Finding {
  return {
    detector, ruleName: `${detector} rule`, ruleDescription: 'd', entityId: 'client:203.0.113.9', entityType: 'client', service: 'shop',
    windowStartMs: T0 + window * WINDOW_MS, windowEndMs: T0 + (window + 1) * WINDOW_MS, riskScore, severity: 47, message: `${detector} fired`,
    explanation: [{ feature: `${detector}_a`, actual: 10, typical: 1, share: 0.75, detector }, { feature: `${detector}_b`, actual: 5, typical: 1, share: 0.25, detector }],
    exemplars: [{ traceId: `${detector}-trace`, spanId: 's', reason: 'error' }], ...extra,
  };
}

const bruteForce = (window: number, risk = 70) => finding('brute_force', window, risk, { kind: 'intrusion', threat: { tactic: TACTICS.credentialAccess, technique: TECHNIQUES.bruteForce } });
const flood = (window: number, risk = 60) => finding('flood', window, risk, { kind: 'intrusion', threat: { tactic: TACTICS.impact, technique: TECHNIQUES.endpointDenialOfService } });
const latency = (window: number, risk = 45) => finding('latency', window, risk, { kind: 'fault' });

const triage = (config: Record<string, unknown> = {}, store = new MemoryKeyedStore<OpenFinding[]>({ maxKeys: 1000 })) => ({ t: new Triage(TriageConfig.parse(config), store), store });

describe('combine', () => {
  it('makes one finding of several detectors on one (entity, window): noisy-OR risk, shares summing to 1, all techniques', () => {
    const c = combine([flood(0), latency(0), bruteForce(0)]);
    expect(c.detector).toBe('brute_force');
    expect(c.riskScore).toBeCloseTo(100 * (1 - 0.3 * 0.4 * 0.55), 1);
    expect(c.contributions!.map((x) => x.detector)).toEqual(['brute_force', 'flood', 'latency']);
    expect(c.contributions!.reduce((s, x) => s + x.share, 0)).toBeCloseTo(1, 12);
    expect(c.explanation).toHaveLength(6);
    expect(c.explanation.reduce((s, e) => s + e.share, 0)).toBeCloseTo(1, 12);
    // Within a detector the shares keep their proportions; across detectors they follow the contributions.
    const bf = c.explanation.filter((e) => e.detector === 'brute_force');
    expect(bf[0].share / bf[1].share).toBeCloseTo(3, 9);
    expect(bf[0].share + bf[1].share).toBeCloseTo(c.contributions![0].share, 12);
    expect(c.contributions!.map((x) => x.threat?.technique.id)).toEqual(['T1110', 'T1499', undefined]);
    expect(c.kind).toBe('intrusion');
    expect(c.exemplars.map((e) => e.traceId)).toEqual(['brute_force-trace', 'flood-trace', 'latency-trace']);
    expect(c.severity).toBe(99);
  });

  it('leaves a single finding as it is, and keeps a fault a fault', () => {
    expect(combine([latency(3)])).toEqual({ ...latency(3), kind: 'fault' });
    expect(combine([latency(3), finding('series', 3, 30, { kind: 'anomaly' })]).kind).toBe('fault');
  });

  it('refuses findings of different windows or entities', () => {
    expect(() => combine([bruteForce(0), flood(1)])).toThrow(/same \(entity, window\)/);
  });
});

describe('Triage', () => {
  it('groups repeats of the same (entity, detector) into one open finding: stable id, count, first and last seen', () => {
    const { t } = triage();
    const first = t.window([bruteForce(0)])!;
    expect(first).toMatchObject({ id: findingId(bruteForce(0)), group: { count: 1, firstSeenMs: T0, lastSeenMs: T0 + WINDOW_MS, status: 'new' } });
    const later = [1, 2, 5, 30].map((w) => t.window([bruteForce(w)])!);
    expect(new Set(later.map((f) => f.id))).toEqual(new Set([first.id]));
    expect(later.at(-1)!.group).toEqual({ count: 5, firstSeenMs: T0, lastSeenMs: T0 + 31 * WINDOW_MS, status: 'updated' });
  });

  it('lets the series detector corroborate another detector but raise nothing alone', () => {
    const { t, store } = triage();
    const series = (w: number) => finding('series', w, 30, { kind: 'anomaly' });
    expect(t.window([series(0)])).toBeUndefined();
    expect(store.size).toBe(0);
    const both = t.window([flood(1), series(1)])!;
    expect(both.contributions!.map((c) => c.detector)).toEqual(['flood', 'series']);
    expect(TriageConfig.parse({ corroborateOnly: [] }).corroborateOnly).toEqual([]);
  });

  it('opens a new finding after the suppression period, and after the longest open time', () => {
    const { t } = triage({ suppressionS: 60, maxOpenS: 300 });
    const a = t.window([bruteForce(0)])!;
    const b = t.window([bruteForce(10)])!; // 90 s after the last window ended: beyond 60 s
    expect(b.id).not.toBe(a.id);
    const ids = Array.from({ length: 40 }, (_, k) => t.window([bruteForce(11 + k)])!.id);
    expect(new Set(ids).size).toBe(2); // 40 windows of 10 s: past 300 s open, a second finding starts
    const { t: off } = triage({ suppressionS: 0 });
    expect(new Set([0, 1, 2].map((w) => off.window([bruteForce(w)])!.id)).size).toBe(3);
  });

  it('joins windows whose detectors overlap the open finding, and keeps unrelated detectors apart', () => {
    const { t } = triage();
    const a = t.window([bruteForce(0)])!;
    const both = t.window([bruteForce(1), flood(1)])!;
    expect(both.id).toBe(a.id);
    expect(t.window([flood(2)])!.id).toBe(a.id); // flood is now part of the open finding
    expect(t.window([latency(3)])!.id).not.toBe(a.id);
  });

  it('escalates when a repeat raises the severity band, and keeps the highest risk seen', () => {
    const { t } = triage();
    t.window([bruteForce(0, 45)]);
    const up = t.window([bruteForce(1, 80)])!;
    expect(up.group.status).toBe('escalated');
    const down = t.window([bruteForce(2, 41)])!;
    expect(down).toMatchObject({ group: { status: 'updated' }, riskScore: 80, severity: 73 });
  });

  it('gives the same ids on a replay from scratch, and does not count a re-read window twice after a restart', () => {
    const windows = [0, 1, 2, 70, 71, 200].map((w) => [bruteForce(w)]);
    const { t: a, store } = triage();
    const first = windows.map((w) => a.window(w)!);
    const { t: b } = triage();
    expect(windows.map((w) => b.window(w)!.id)).toEqual(first.map((f) => f.id));
    // Restart: a new instance restored from the persisted open findings re-reads the last two windows.
    const restored = new MemoryKeyedStore<OpenFinding[]>({ maxKeys: 1000 });
    restored.restore(JSON.parse(JSON.stringify(store.takeChanges())) as Array<StoreChange<OpenFinding[]>>);
    const { t: c } = triage({}, restored);
    const again = windows.slice(-2).map((w) => c.window(w)!);
    expect(again.map((f) => [f.id, f.group.count])).toEqual(first.slice(-2).map((f) => [f.id, f.group.count]));
    expect(c.window([bruteForce(201)])!.group.count).toBe(first.at(-1)!.group.count + 1);
  });
});
