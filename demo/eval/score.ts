/**
 * Scoring a scenario run (issue #14), pure: which events a finding detected, how fast, and which findings were false.
 * An event is detected by a finding carrying its technique (or detector, for faults) — and its entity, if the
 * scenario names one — whose window overlaps the event or the 30 s after it. A false finding overlaps no event.
 */
import type { Scenario, ScenarioEvent } from '../scenario/parse.ts';

/** After an event ends, findings still count for it for this long (windows close after the data). */
export const DETECTION_GRACE_MS = 30_000;

export type EvalMode = 'fast' | 'live';

/** A finding as read back from Elasticsearch. */
export interface ObservedFinding {
  id: string;
  /** `threat.technique.id` (may be empty). */
  techniques: string[];
  /** `peregrine.detector`. */
  detector: string;
  /** `peregrine.entity.id`. */
  entity: string;
  /** The finding's window (`event.start`, `event.end`), ms since the epoch: a grouped finding's first to last window. */
  startMs: number;
  endMs: number;
  /** A grouped finding: the end of its first window, when it was raised (its later windows only updated it). */
  firstWindowEndMs?: number;
  /** Live mode: wall-clock ms when the finding was first found searchable in Elasticsearch. */
  searchableAtMs?: number;
}

/** What happened to one event in the run. */
export interface EventRun {
  event: ScenarioEvent;
  /** The event's interval in event time (ms since the epoch). */
  startMs: number;
  endMs: number;
  /** Event time of the first attack request (or first request the fault touched); undefined if none was sent. */
  firstAttackMs?: number;
  /** Live mode: wall clock when the first attack request was sent. */
  firstAttackWallMs?: number;
}

export interface EventResult {
  kind: string;
  technique?: string;
  detector?: string;
  detected: boolean;
  time_to_detect_s: number | null;
  finding_ids: string[];
}

/** The eval JSON of one scenario, exactly as the issue specifies it. */
export interface EvalResult {
  scenario: string;
  mode: EvalMode;
  normal_hours: number;
  events: EventResult[];
  false_findings: number;
  false_per_hour: number | null;
}

const overlaps = (aStart: number, aEnd: number, bStart: number, bEnd: number) => aStart < bEnd && bStart < aEnd;
const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

export function matches(f: ObservedFinding, run: EventRun): boolean {
  const x = run.event.expect;
  if (x.technique !== undefined && !f.techniques.includes(x.technique)) return false;
  if (x.detector !== undefined && f.detector !== x.detector) return false;
  if (x.entity !== undefined && f.entity !== x.entity) return false;
  return overlaps(f.startMs, f.endMs, run.startMs, run.endMs + DETECTION_GRACE_MS);
}

/** Seconds from the first attack request to the finding: event time (fast) or wall clock until searchable (live). */
export function timeToDetect(f: ObservedFinding, run: EventRun, mode: EvalMode): number | undefined {
  if (mode === 'live') {
    if (f.searchableAtMs === undefined || run.firstAttackWallMs === undefined) return undefined;
    return Math.max(0, f.searchableAtMs - run.firstAttackWallMs) / 1000;
  }
  if (run.firstAttackMs === undefined) return undefined;
  // A group raised at or after the first attack request was detected then; one that was already open before it (raised
  // by something else) tells only that the event was seen by its last window.
  const raised = f.firstWindowEndMs !== undefined && f.firstWindowEndMs > run.firstAttackMs ? f.firstWindowEndMs : f.endMs;
  return Math.max(0, raised - run.firstAttackMs) / 1000;
}

/** Hours of the scenario that no event covers. */
export function normalHours(durationMs: number, runs: readonly EventRun[], scenarioStartMs: number): number {
  const spans = runs.map((r) => [Math.max(r.startMs, scenarioStartMs), Math.min(r.endMs, scenarioStartMs + durationMs)] as const)
    .filter(([a, b]) => b > a).sort((a, b) => a[0] - b[0]);
  let covered = 0;
  let until = -Infinity;
  for (const [a, b] of spans) {
    if (b <= until) continue;
    covered += b - Math.max(a, until);
    until = b;
  }
  return (durationMs - covered) / 3_600_000;
}

export function scoreRun(input: {
  scenario: Pick<Scenario, 'name' | 'durationMs'>;
  mode: EvalMode;
  scenarioStartMs: number;
  runs: readonly EventRun[];
  findings: readonly ObservedFinding[];
}): EvalResult {
  const { scenario, mode, runs, scenarioStartMs } = input;
  const scenarioEndMs = scenarioStartMs + scenario.durationMs;
  const byEnd = [...input.findings].sort((a, b) => a.endMs - b.endMs || a.id.localeCompare(b.id));
  const events = runs.map((run): EventResult => {
    const hits = byEnd.filter((f) => matches(f, run));
    let best: number | undefined;
    for (const f of hits) {
      const t = timeToDetect(f, run, mode);
      if (t !== undefined && (best === undefined || t < best)) best = t;
    }
    const x = run.event.expect;
    return {
      kind: run.event.kind,
      ...(x.technique !== undefined ? { technique: x.technique } : { detector: x.detector }),
      detected: hits.length > 0,
      time_to_detect_s: best === undefined ? null : round(best, 1),
      finding_ids: hits.map((f) => f.id),
    };
  });
  const falses = falseFindings({ runs, findings: byEnd, scenarioEndMs });
  const hours = normalHours(scenario.durationMs, runs, scenarioStartMs);
  return {
    scenario: scenario.name,
    mode,
    normal_hours: round(hours, 2),
    events,
    false_findings: falses.length,
    false_per_hour: hours > 0 ? round(falses.length / hours, 2) : null,
  };
}

/** Findings that overlap no event (nor its grace period); windows starting after the scenario (its closing traffic) are not its own. */
export function falseFindings(result: { runs: readonly EventRun[]; findings: readonly ObservedFinding[]; scenarioEndMs: number }): ObservedFinding[] {
  return result.findings.filter((f) => f.startMs < result.scenarioEndMs
    && !result.runs.some((r) => overlaps(f.startMs, f.endMs, r.startMs, r.endMs + DETECTION_GRACE_MS)));
}

function expectText(e: EventResult): string {
  return e.technique ?? `detector ${e.detector}`;
}

/** The Markdown summary of several scenario results: one row per event, one row for a scenario without events. */
export function summaryTable(results: readonly EvalResult[]): string {
  const rows = ['| scenario | mode | event | expected | detected | time to detect (s) | false findings | false / hour | normal hours |', '|---|---|---|---|---|---|---|---|---|'];
  for (const r of results) {
    const tail = `${r.false_findings} | ${r.false_per_hour ?? '—'} | ${r.normal_hours}`;
    if (r.events.length === 0) rows.push(`| ${r.scenario} | ${r.mode} | (normal traffic only) | — | — | — | ${tail} |`);
    for (const e of r.events) {
      rows.push(`| ${r.scenario} | ${r.mode} | ${e.kind} | ${expectText(e)} | ${e.detected ? 'yes' : 'no'} | ${e.time_to_detect_s ?? '—'} | ${tail} |`);
    }
  }
  const events = results.flatMap((r) => r.events);
  const detected = events.filter((e) => e.detected).length;
  const hours = results.reduce((n, r) => n + r.normal_hours, 0);
  const falses = results.reduce((n, r) => n + r.false_findings, 0);
  rows.push('');
  rows.push(`${detected} of ${events.length} events detected; ${falses} false finding(s) over ${round(hours, 2)} normal hours`
    + (hours > 0 ? ` (${round(falses / hours, 2)} per hour)` : '') + '.');
  return `${rows.join('\n')}\n`;
}
