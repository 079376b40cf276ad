import { describe, expect, it } from 'vitest';
import type { ScenarioEvent } from '../scenario/parse.ts';
import { observedFinding } from './findings.ts';
import { normalHours, scoreRun, summaryTable, type EventRun, type ObservedFinding } from './score.ts';

const T0 = Date.UTC(2026, 10, 24, 6, 0, 0);
const s = (seconds: number) => T0 + seconds * 1000;

function run(kind: ScenarioEvent['kind'], atS: number, durS: number, expectation: ScenarioEvent['expect'], firstAttackS?: number): EventRun {
  const event = { kind, line: 1, atMs: atS * 1000, durationMs: durS * 1000, target: { kind: 'service', service: 'cart' }, expect: expectation } as ScenarioEvent;
  return { event, startMs: s(atS), endMs: s(atS + durS), firstAttackMs: firstAttackS === undefined ? undefined : s(firstAttackS) };
}

function finding(id: string, startS: number, endS: number, extra: Partial<ObservedFinding> = {}): ObservedFinding {
  return { id, techniques: [], detector: 'x', entity: 'client:203.0.113.7', startMs: s(startS), endMs: s(endS), ...extra };
}

const scenario = { name: 'stuffing-and-scan', durationMs: 1_800_000 };

describe('eval scoring', () => {
  it('detects an event with a finding of its technique whose window overlaps it, timing from the first attack request', () => {
    const stuffing = run('credential_stuffing', 600, 120, { technique: 'T1110' }, 600.4);
    const result = scoreRun({
      scenario, mode: 'fast', scenarioStartMs: T0, runs: [stuffing],
      findings: [
        finding('late', 620, 630, { techniques: ['T1110'] }),
        finding('first', 600, 610, { techniques: ['T1110', 'T1078'] }),
      ],
    });
    expect(result).toEqual({
      scenario: 'stuffing-and-scan', mode: 'fast', normal_hours: 0.47,
      events: [{ kind: 'credential_stuffing', technique: 'T1110', detected: true, time_to_detect_s: 9.6, finding_ids: ['first', 'late'] }],
      false_findings: 0, false_per_hour: 0,
    });
  });

  it('counts a finding in the 30 s after the event, but not one after that or one just before the event', () => {
    const e = run('scanning', 600, 60, { technique: 'T1595' }, 600);
    const inGrace = scoreRun({ scenario, mode: 'fast', scenarioStartMs: T0, runs: [e], findings: [finding('a', 680, 690, { techniques: ['T1595'] })] });
    expect(inGrace.events[0]).toMatchObject({ detected: true, finding_ids: ['a'], time_to_detect_s: 90 });
    expect(inGrace.false_findings).toBe(0);
    const afterGrace = scoreRun({ scenario, mode: 'fast', scenarioStartMs: T0, runs: [e], findings: [finding('b', 690, 700, { techniques: ['T1595'] })] });
    expect(afterGrace.events[0]).toMatchObject({ detected: false, finding_ids: [], time_to_detect_s: null });
    expect(afterGrace.false_findings).toBe(1);
    // Windows are half-open: one that ends where the event starts does not overlap it.
    const before = scoreRun({ scenario, mode: 'fast', scenarioStartMs: T0, runs: [e], findings: [finding('c', 590, 600, { techniques: ['T1595'] })] });
    expect(before.events[0]!.detected).toBe(false);
    expect(before.false_findings).toBe(1);
  });

  it('times a grouped finding (repeats of one incident update one document) from the end of its first window', () => {
    const e = run('credential_stuffing', 600, 180, { technique: 'T1110' }, 600);
    const iso = (seconds: number) => new Date(s(seconds)).toISOString();
    // The document as its last update left it: event.start..end span the group, peregrine.window is the last window.
    const grouped = observedFinding('g', {
      event: { start: iso(600), end: iso(780) }, threat: { technique: { id: ['T1110'] } },
      peregrine: { detector: 'brute_force', entity: { id: 'client:203.0.113.7' }, window: { start: iso(770), end: iso(780) }, group: { first_seen: iso(600) } },
    })!;
    expect(grouped).toMatchObject({ startMs: s(600), endMs: s(780), firstWindowEndMs: s(610) });
    expect(scoreRun({ scenario, mode: 'fast', scenarioStartMs: T0, runs: [e], findings: [grouped] }).events[0]).toMatchObject({ detected: true, time_to_detect_s: 10 });
    // A group opened before the attack (by something else) says only that its last window saw the event.
    const earlier = { ...grouped, startMs: s(590), firstWindowEndMs: s(600) };
    expect(scoreRun({ scenario, mode: 'fast', scenarioStartMs: T0, runs: [e], findings: [earlier] }).events[0]).toMatchObject({ detected: true, time_to_detect_s: 180 });
    // A single-window finding has no separate first window.
    const single = observedFinding('w', { event: { start: iso(600), end: iso(610) }, peregrine: { window: { start: iso(600), end: iso(610) } } })!;
    expect(single.firstWindowEndMs).toBeUndefined();
  });

  it('matches technique ids exactly, and the entity when the scenario names one', () => {
    const e = run('credential_stuffing', 600, 60, { technique: 'T1110', entity: 'client:203.0.113.7' }, 600);
    const result = scoreRun({
      scenario, mode: 'fast', scenarioStartMs: T0, runs: [e],
      findings: [
        finding('sub', 600, 610, { techniques: ['T1110.004'] }),
        finding('other-client', 600, 610, { techniques: ['T1110'], entity: 'client:198.51.100.1' }),
        finding('service', 610, 620, { techniques: ['T1110'], entity: 'service:frontend' }),
      ],
    });
    expect(result.events[0]).toMatchObject({ detected: false, finding_ids: [] });
    // They overlap the event, so they are not false findings either.
    expect(result.false_findings).toBe(0);
  });

  it('matches faults by detector', () => {
    const e = run('product_catalog_failure', 300, 60, { detector: 'error_ratio' }, 300.2);
    const result = scoreRun({
      scenario, mode: 'fast', scenarioStartMs: T0, runs: [e],
      findings: [finding('lat', 300, 310, { detector: 'latency' }), finding('err', 310, 320, { detector: 'error_ratio', entity: 'operation:product-catalog:GetProduct' })],
    });
    expect(result.events[0]).toEqual({ kind: 'product_catalog_failure', detector: 'error_ratio', detected: true, time_to_detect_s: 19.8, finding_ids: ['err'] });
  });

  it('counts every finding that overlaps no event as false, faults too, and ignores windows after the end', () => {
    const e = run('sql_injection', 600, 60, { technique: 'T1190' }, 600);
    const result = scoreRun({
      scenario, mode: 'fast', scenarioStartMs: T0, runs: [e],
      findings: [
        finding('f1', 100, 110, { techniques: ['T1190'] }),
        finding('f2', 1000, 1010, { detector: 'error_ratio' }),
        finding('f3', 1795, 1805, { detector: 'latency' }),
        finding('after', 1800, 1810, { detector: 'latency' }),
      ],
    });
    expect(result.false_findings).toBe(3);
    expect(result.normal_hours).toBe(0.48);
    expect(result.false_per_hour).toBe(6.21);
  });

  it('counts normal hours outside the union of events (overlapping events once) and scores events: [] runs', () => {
    const a = run('scanning', 600, 120, { technique: 'T1595' });
    const b = run('sql_injection', 660, 120, { technique: 'T1190' });
    expect(normalHours(1_800_000, [a, b], T0)).toBeCloseTo((1800 - 180) / 3600, 10);
    const quiet = scoreRun({ scenario: { name: 'quiet', durationMs: 6 * 3_600_000 }, mode: 'fast', scenarioStartMs: T0, runs: [], findings: [finding('x', 50, 60)] });
    expect(quiet).toEqual({ scenario: 'quiet', mode: 'fast', normal_hours: 6, events: [], false_findings: 1, false_per_hour: 0.17 });
  });

  it('times live detection on the wall clock, from the first attack request sent to the finding searchable', () => {
    const e = { ...run('scanning', 600, 60, { technique: 'T1595' }), firstAttackWallMs: 1_000_000 };
    const result = scoreRun({
      scenario, mode: 'live', scenarioStartMs: T0, runs: [e],
      findings: [finding('a', 600, 610, { techniques: ['T1595'], searchableAtMs: 1_012_345 }), finding('b', 610, 620, { techniques: ['T1595'], searchableAtMs: 1_020_000 })],
    });
    expect(result.events[0]).toMatchObject({ detected: true, time_to_detect_s: 12.3 });
  });

  it('leaves the time to detect empty when no attack request was sent', () => {
    const e = run('scanning', 600, 60, { technique: 'T1595' });
    const result = scoreRun({ scenario, mode: 'fast', scenarioStartMs: T0, runs: [e], findings: [finding('a', 600, 610, { techniques: ['T1595'] })] });
    expect(result.events[0]).toMatchObject({ detected: true, time_to_detect_s: null });
  });

  it('writes one table row per event and a total line', () => {
    const e = run('scanning', 600, 60, { technique: 'T1595' }, 600);
    const r1 = scoreRun({ scenario, mode: 'fast', scenarioStartMs: T0, runs: [e], findings: [finding('a', 600, 610, { techniques: ['T1595'] })] });
    const r2 = scoreRun({ scenario: { name: 'quiet', durationMs: 3_600_000 }, mode: 'fast', scenarioStartMs: T0, runs: [], findings: [] });
    const table = summaryTable([r1, r2]);
    expect(table).toContain('| stuffing-and-scan | fast | scanning | T1595 | yes | 10 | 0 | 0 | 0.48 |');
    expect(table).toContain('| quiet | fast | (normal traffic only) | — | — | — | 0 | 0 | 1 |');
    expect(table).toContain('1 of 1 events detected; 0 false finding(s) over 1.48 normal hours (0 per hour).');
  });
});
