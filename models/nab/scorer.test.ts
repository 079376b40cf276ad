import { describe, expect, it } from 'vitest';
import {
  NAB_PROFILES,
  optimizeThreshold,
  probationaryLength,
  scaledSigmoid,
  scoreAtThreshold,
  scoreCorpus,
  sweepFile,
  type ScoredFile,
} from './scorer.ts';

const standard = NAB_PROFILES[0].costMatrix;
const MINUTE = 60_000;

/** 100 rows one minute apart; one window over rows 40..59 (probation: the first 15 rows). */
function file(detections: number[], options: { rows?: number; windows?: [number, number][] } = {}): ScoredFile {
  const rows = options.rows ?? 100;
  const timestampsMs = Array.from({ length: rows }, (_, i) => i * MINUTE);
  const anomalyScores = timestampsMs.map((_, i) => (detections.includes(i) ? 1 : 0));
  const windows = (options.windows ?? [[40, 59]]).map(([a, b]) => ({ startMs: a * MINUTE, endMs: b * MINUTE }));
  return { name: 'cat/f.csv', timestampsMs, anomalyScores, windows };
}

function rawScore(f: ScoredFile): number {
  return scoreAtThreshold(sweepFile(f, standard), standard, 0.5).score;
}

describe('NAB scaled sigmoid', () => {
  it('is ~0.987 at the window start, 0 at its end, and -1 far past it', () => {
    expect(scaledSigmoid(-1)).toBeCloseTo(0.98661, 5);
    expect(scaledSigmoid(0)).toBe(0);
    expect(scaledSigmoid(3.5)).toBe(-1);
  });

  it('uses min(15% of rows, 750) as the probationary period', () => {
    expect(probationaryLength(100)).toBe(15);
    expect(probationaryLength(100_000)).toBe(750);
  });
});

describe('NAB sweep scoring of one file', () => {
  it('rewards a detection at the start of a window with the full true-positive weight', () => {
    expect(rawScore(file([40]))).toBeCloseTo(1, 10);
  });

  it('scores an early detection in a window above a late one', () => {
    const early = rawScore(file([42]));
    const late = rawScore(file([57]));
    expect(early).toBeGreaterThan(late);
    expect(late).toBeGreaterThan(0);
  });

  it('counts only the best detection of a window', () => {
    expect(rawScore(file([42, 50, 57]))).toBeCloseTo(rawScore(file([42])), 12);
  });

  it('charges a missed window the false-negative weight', () => {
    expect(rawScore(file([]))).toBe(-1);
  });

  it('charges a false positive before any window the full false-positive weight', () => {
    expect(rawScore(file([20, 40]))).toBeCloseTo(1 - 0.11, 10);
  });

  it('charges a false positive just after a window less than one far after it', () => {
    const justAfter = rawScore(file([40, 61])) - 1;
    const farAfter = rawScore(file([40, 99])) - 1;
    expect(justAfter).toBeLessThan(0);
    expect(farAfter).toBeLessThan(justAfter);
    expect(farAfter).toBeGreaterThanOrEqual(-0.11);
  });

  it('ignores detections in the probationary period', () => {
    expect(rawScore(file([5, 40]))).toBeCloseTo(1, 10);
  });

  it('refuses a window edge that is not a timestamp of the file', () => {
    const f = file([40]);
    expect(() => sweepFile({ ...f, windows: [{ startMs: 40.5 * MINUTE, endMs: 59 * MINUTE }] }, standard)).toThrow(/window edge/);
  });
});

describe('NAB threshold optimisation and normalisation', () => {
  const files = (scores: (rows: number) => number[]): ScoredFile[] =>
    [file([]), file([], { windows: [[30, 39], [70, 79]] }), file([], { windows: [] })].map((f, i) => ({
      ...f,
      name: `cat/f${i}.csv`,
      anomalyScores: scores(f.timestampsMs.length),
    }));

  it('scores the null detector (constant 0.5) 0 on every profile', () => {
    for (const result of scoreCorpus(files((n) => Array(n).fill(0.5)))) expect(result.normalizedScore).toBeCloseTo(0, 10);
  });

  it('scores a perfect detector (1 at each window start, 0 elsewhere) 100 on every profile', () => {
    const corpus = files((n) => Array(n).fill(0));
    const starts = [[40], [30, 70], []];
    corpus.forEach((f, i) => {
      f.anomalyScores = Array.from(f.timestampsMs, (_, r) => (starts[i].includes(r) ? 1 : 0));
    });
    for (const result of scoreCorpus(corpus)) {
      expect(result.normalizedScore).toBeCloseTo(100, 10);
      expect(result.windowsDetected).toBe(3);
      expect(result.fp).toBe(0);
    }
  });

  it('picks the threshold that maximises the corpus score', () => {
    // A high score early in the window, a middling false positive, lower noise elsewhere.
    const f = file([]);
    f.anomalyScores = Array.from(f.timestampsMs, (_, i) => (i === 41 ? 0.9 : i === 80 ? 0.7 : 0.1));
    const rows = sweepFile(f, standard);
    const best = optimizeThreshold(rows, standard);
    expect(best.threshold).toBe(0.9);
    expect(best.score).toBeCloseTo(scoreAtThreshold(rows, standard, 0.9).score, 12);
    expect(best.score).toBeGreaterThan(scoreAtThreshold(rows, standard, 0.7).score);
  });
});
