import { describe, expect, it } from 'vitest';
import { builtinScenarioFiles, loadScenarios } from '../eval/cli.ts';
import { EVENT_KINDS } from '../scenario/parse.ts';

describe('the built-in scenarios', () => {
  const scenarios = loadScenarios(builtinScenarioFiles());

  it('parse, and cover every kind at least once', () => {
    const kinds = new Set(scenarios.flatMap((s) => s.events.map((e) => e.kind)));
    expect([...EVENT_KINDS].filter((k) => !kinds.has(k))).toEqual([]);
  });

  it('include at least 6 hours of normal traffic with the daily curve and bots', () => {
    const normal = scenarios.filter((s) => s.events.length === 0 && s.traffic.bots);
    expect(normal.reduce((h, s) => h + s.durationMs / 3_600_000, 0)).toBeGreaterThanOrEqual(6);
  });

  it('give events warm baselines first (at least 8 minutes of normal traffic before each)', () => {
    for (const s of scenarios) for (const e of s.events) expect(e.atMs, `${s.name} line ${e.line}`).toBeGreaterThanOrEqual(8 * 60_000);
  });
});
