import { describe, expect, it } from 'vitest';
import { SeriesDetector } from './detector.ts';

/** Seeded series: a noisy daily cycle (5-minute rows) with a level shift at `shiftAt`. */
function series(points: number, seed: number, shiftAt = Infinity): { t: number[]; v: number[] } {
  let s = seed >>> 0;
  const rand = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const t: number[] = [];
  const v: number[] = [];
  for (let i = 0; i < points; i++) {
    t.push(Date.UTC(2024, 0, 1) + i * 300_000);
    v.push(50 + 10 * Math.sin((2 * Math.PI * (i % 288)) / 288) + (rand() - 0.5) * 3 + (i >= shiftAt ? 40 : 0));
  }
  return { t, v };
}

function scoreAll(t: number[], v: number[]): number[] {
  const d = new SeriesDetector();
  return t.map((ts, i) => d.update(ts, v[i]));
}

describe('SeriesDetector', () => {
  it('is streaming: the scores of a prefix do not change when more rows follow', () => {
    const { t, v } = series(3000, 7, 2000);
    const full = scoreAll(t, v);
    for (const cut of [151, 1000, 2001, 2500]) {
      expect(scoreAll(t.slice(0, cut), v.slice(0, cut))).toEqual(full.slice(0, cut));
    }
  });

  it('keeps every score in [0, 1] and scores the warm-up 0', () => {
    const { t, v } = series(3000, 11, 2000);
    const scores = scoreAll(t, v);
    expect(scores.every((s) => s >= 0 && s <= 1)).toBe(true);
    expect(scores.slice(0, 150).every((s) => s === 0)).toBe(true);
  });

  it('scores a level shift far above anything in the steady part, then rests', () => {
    const { t, v } = series(3000, 3, 2000);
    const scores = scoreAll(t, v);
    const before = Math.max(...scores.slice(1000, 2000));
    const atShift = Math.max(...scores.slice(2000, 2010));
    expect(atShift).toBeGreaterThan(0.99);
    expect(atShift).toBeGreaterThan(before);
    // After the alert the detector rests, so the shifted level does not keep alerting.
    const firstAlert = 2000 + scores.slice(2000).findIndex((s) => s >= 0.99);
    expect(scores.slice(firstAlert + 1, firstAlert + 101).every((s) => s === 0)).toBe(true);
  });

  it('takes the scale of a series that starts flat from its first move, and alerts on that move', () => {
    const d = new SeriesDetector();
    const scores: number[] = [];
    for (let i = 0; i < 1000; i++) scores.push(d.update(i * 300_000, i < 600 ? 0 : 5 + (i % 3)));
    expect(scores.slice(0, 600).every((s) => s === 0)).toBe(true);
    expect(scores[600]).toBeGreaterThan(0.99);
    // The new level is learnt: after the rest it alerts at most now and then (new times of day), not row after row.
    expect(scores.slice(701).filter((s) => s >= 0.99).length).toBeLessThanOrEqual(3);
  });

  it('ignores non-finite values without learning them', () => {
    const { t, v } = series(1000, 5);
    const a = new SeriesDetector();
    const b = new SeriesDetector();
    for (let i = 0; i < 1000; i++) {
      if (i === 500) expect(b.update(t[i], Number.NaN)).toBe(0);
      expect(a.update(t[i], v[i])).toBe(b.update(t[i], v[i]));
    }
  });
});

describe('SeriesDetector state', () => {
  it('continues exactly where it was after a JSON round trip of its state, at any point (warm-up, settle, scoring)', () => {
    const { t, v } = series(2500, 21, 1800);
    const straight = new SeriesDetector({ maxContexts: 500 });
    const expected = t.map((ts, i) => straight.update(ts, v[i]));
    for (const cut of [10, 160, 190, 1000, 1900]) {
      const first = new SeriesDetector({ maxContexts: 500 });
      const head = t.slice(0, cut).map((ts, i) => first.update(ts, v[i]));
      const second = SeriesDetector.fromState(JSON.parse(JSON.stringify(first.toState())), { maxContexts: 500 });
      const tail = t.slice(cut).map((ts, i) => second.update(ts, v[cut + i]));
      expect([...head, ...tail]).toEqual(expected);
    }
  });

  it('restores a series that started flat', () => {
    const first = new SeriesDetector();
    for (let i = 0; i < 300; i++) first.update(Date.UTC(2024, 0, 1) + i * 300_000, 5);
    const second = SeriesDetector.fromState(JSON.parse(JSON.stringify(first.toState())));
    const a = first.update(Date.UTC(2024, 0, 2), 9);
    expect(second.update(Date.UTC(2024, 0, 2), 9)).toBe(a);
    expect(a).toBeGreaterThan(0);
  });
});
