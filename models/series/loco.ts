/**
 * Leave-one-category-out (LOCO) tuning of the streaming series detector on NAB: for each category, the detector's
 * hyper-parameters are searched on all the other categories only, then the held-out category is scored with them.
 * The LOCO figures therefore measure how the tuning *procedure* generalises to a kind of series it never saw, which is
 * what a live deployment faces. Pure apart from the clock-free PRNG: the corpus is passed in, nothing is read here.
 */
import { NAB_PROFILES, scoreAtThreshold, scoreCorpus, sweepFile, type Profile, type ScoredFile, type Window } from '../nab/scorer.ts';
import { SeriesDetector, type SeriesDetectorOptions } from './detector.ts';
import { mulberry32 } from '../../core/random.ts';

/** One labelled NAB data file in memory. */
export interface SeriesFileData {
  /** `<category>/<file>.csv` */
  name: string;
  timestampsMs: Float64Array;
  values: Float64Array;
  windows: readonly Window[];
}

export function categoryOf(name: string): string {
  return name.includes('/') ? name.slice(0, name.indexOf('/')) : '';
}

/** The hyper-parameters the search moves; the others keep their defaults (bounded memory, etc.). */
export type TunedOptions = Pick<SeriesDetectorOptions,
  'warmupRows' | 'buckets' | 'neighbourWeight' | 'transitionWeight' | 'timeOfDayWeight' | 'slotsPerDay'
  | 'shortAlpha' | 'longAlpha' | 'minStd' | 'settleRows' | 'restLevel' | 'rest'>;

interface Dimension {
  key: keyof TunedOptions;
  integer?: boolean;
  choices?: readonly number[];
  sample(rand: () => number): number;
  /** A neighbour of a value for local refinement. */
  step(value: number, rand: () => number): number;
}

const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));
const linear = (key: keyof TunedOptions, lo: number, hi: number, integer = false): Dimension => {
  const round = (x: number) => (integer ? Math.round(x) : Number(x.toPrecision(3)));
  return {
    key,
    integer,
    sample: (r) => round(lo + r() * (hi - lo)),
    step: (v, r) => round(clamp(v + (r() - 0.5) * 0.3 * (hi - lo), lo, hi)),
  };
};
const logScale = (key: keyof TunedOptions, lo: number, hi: number): Dimension => ({
  key,
  sample: (r) => Number(Math.exp(Math.log(lo) + r() * (Math.log(hi) - Math.log(lo))).toPrecision(3)),
  step: (v, r) => Number(clamp(v * Math.exp((r() - 0.5) * 0.3 * Math.log(hi / lo)), lo, hi).toPrecision(3)),
});
const choice = (key: keyof TunedOptions, values: readonly number[]): Dimension => ({
  key,
  choices: values,
  sample: (r) => values[Math.floor(r() * values.length)],
  step: (v, r) => {
    const i = values.indexOf(v);
    return values[clamp(i + (r() < 0.5 ? -1 : 1), 0, values.length - 1)];
  },
});

/**
 * The search space: ranges wide enough to hold every sensible setting, nothing fitted to a file. The value weight
 * stays 1: novelty is a weighted mean, so only the other weights relative to it matter.
 */
export const SEARCH_SPACE: readonly Dimension[] = [
  linear('warmupRows', 50, 400, true),
  linear('buckets', 3, 20, true),
  linear('neighbourWeight', 0, 1),
  linear('transitionWeight', 0, 2),
  linear('timeOfDayWeight', 0, 2),
  choice('slotsPerDay', [12, 24, 48]),
  logScale('shortAlpha', 0.03, 0.8),
  logScale('longAlpha', 0.0001, 0.01),
  logScale('minStd', 0.003, 0.2),
  linear('settleRows', 0, 200, true),
  choice('restLevel', [0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 0.9999]),
  linear('rest', 0, 300, true),
];

/** Every file scored by a fresh detector with these options. */
export function scoreFiles(files: readonly SeriesFileData[], options: Partial<SeriesDetectorOptions>): ScoredFile[] {
  return files.map((f) => {
    const detector = new SeriesDetector(options);
    const scores = new Float64Array(f.values.length);
    for (let i = 0; i < scores.length; i++) scores[i] = detector.update(f.timestampsMs[i], f.values[i]);
    return { name: f.name, timestampsMs: f.timestampsMs, anomalyScores: scores, windows: f.windows };
  });
}

const STANDARD: Profile = NAB_PROFILES[0];

/** NAB standard-profile score of a set of files under NAB's protocol (threshold optimised on that set). */
export function standardScore(scored: readonly ScoredFile[]): { score: number; threshold: number } {
  const [result] = scoreCorpus(scored, [STANDARD]);
  return { score: result.normalizedScore, threshold: result.threshold };
}

export interface TuneOptions {
  /** Random configurations tried before local refinement. */
  trials: number;
  /**
   * `best`: the configuration that scored highest on the tuning files. `consensus`: each parameter's median (the most
   * frequent choice) over the best tenth of every configuration tried, a flatter region of the score surface than
   * its highest point, which a handful of tuning files overfit.
   */
  selection: 'best' | 'consensus';
  /** Local refinement steps around the best configuration. */
  refineSteps: number;
  seed: number;
  onTrial?(trial: number, score: number, best: number): void;
}

export const DEFAULT_TUNE: TuneOptions = { trials: 160, refineSteps: 80, seed: 1, selection: 'consensus' };

export interface TuneResult {
  options: TunedOptions;
  /** NAB standard score on the files tuned on. */
  score: number;
  /** The NAB-optimised threshold on the files tuned on. */
  threshold: number;
  trials: number;
}

/** The middle of every range: where a search starts that has seen no data (the shipped defaults have). */
export function neutralStart(): TunedOptions {
  const rand = () => 0.5;
  return Object.fromEntries(SEARCH_SPACE.map((d) => [d.key, d.sample(rand)])) as unknown as TunedOptions;
}

/**
 * Random search from the neutral start, then a local refinement that moves one or two parameters at a time and keeps
 * improvements. The objective is the NAB standard score over the given files together.
 */
export function tuneSeries(files: readonly SeriesFileData[], options: TuneOptions = DEFAULT_TUNE): TuneResult {
  const rand = mulberry32(options.seed); // the same seed gives the same search
  const evaluate = (o: TunedOptions) => standardScore(scoreFiles(files, o));
  const tried: Array<{ options: TunedOptions; score: number }> = [];
  const evaluateAndKeep = (o: TunedOptions) => {
    const result = evaluate(o);
    tried.push({ options: o, score: result.score });
    return result;
  };
  let best = neutralStart();
  let bestResult = evaluateAndKeep(best);
  let trial = 0;
  for (; trial < options.trials; trial++) {
    const candidate = Object.fromEntries(SEARCH_SPACE.map((d) => [d.key, d.sample(rand)])) as unknown as TunedOptions;
    const result = evaluateAndKeep(candidate);
    if (result.score > bestResult.score) {
      best = candidate;
      bestResult = result;
    }
    options.onTrial?.(trial, result.score, bestResult.score);
  }
  for (let step = 0; step < options.refineSteps; step++, trial++) {
    const candidate = { ...best };
    const moves = rand() < 0.5 ? 1 : 2;
    for (let m = 0; m < moves; m++) {
      const d = SEARCH_SPACE[Math.floor(rand() * SEARCH_SPACE.length)];
      (candidate as Record<string, number>)[d.key] = d.step(candidate[d.key], rand);
    }
    const result = evaluateAndKeep(candidate);
    if (result.score > bestResult.score) {
      best = candidate;
      bestResult = result;
    }
    options.onTrial?.(trial, result.score, bestResult.score);
  }
  if (options.selection === 'consensus') {
    const chosen = consensusOf(tried);
    const result = evaluate(chosen);
    return { options: chosen, score: result.score, threshold: result.threshold, trials: trial };
  }
  return { options: best, score: bestResult.score, threshold: bestResult.threshold, trials: trial };
}

/** Each parameter's median (most frequent value for choices) over the best tenth (at least 5) of the configurations. */
export function consensusOf(tried: ReadonlyArray<{ options: TunedOptions; score: number }>): TunedOptions {
  const top = [...tried].sort((a, b) => b.score - a.score).slice(0, Math.max(5, Math.ceil(tried.length / 10)));
  const out: Record<string, number> = {};
  for (const d of SEARCH_SPACE) {
    const values = top.map((t) => t.options[d.key]).sort((a, b) => a - b);
    if (d.choices) {
      const counts = new Map<number, number>();
      for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
      out[d.key] = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0][0];
    } else {
      const median = values.length % 2 ? values[(values.length - 1) / 2] : (values[values.length / 2 - 1] + values[values.length / 2]) / 2;
      out[d.key] = d.integer ? Math.round(median) : Number(median.toPrecision(3));
    }
  }
  return out as unknown as TunedOptions;
}

export interface FoldResult {
  /** The held-out category. */
  category: string;
  files: number;
  windows: number;
  tuned: TuneResult;
  /** Standard score of the held-out files under NAB's protocol (threshold optimised on them, as for every detector). */
  heldOutScore: number;
  /** Raw standard score (before normalisation) at the threshold chosen on the tuning categories: no peeking at all. */
  heldOutRawAtTunedThreshold: number;
  /** Held-out scores per row, for the overall LOCO figure. */
  scored: ScoredFile[];
}

export interface LocoResult {
  folds: FoldResult[];
  /**
   * Every category scored by the parameters of its own fold, all files scored together under NAB's protocol. Folds'
   * scores are first mapped so that each fold's tuned threshold lands on 0.5 (monotone, piecewise linear): a
   * detector ships with its threshold, and one threshold over scores of differently tuned detectors means nothing.
   */
  overallScore: number;
  /** The same, each fold at the threshold chosen on its tuning categories (raw scores summed, normalised once). */
  overallScoreAtTunedThresholds: number;
}

/** Normalised standard score of raw totals against the null detector and a perfect one on the same files. */
export function normaliseRaw(files: readonly ScoredFile[], raw: number): number {
  const [reference] = scoreCorpus(files, [STANDARD]);
  return reference.perfectScore === reference.nullScore ? 0 : (100 * (raw - reference.nullScore)) / (reference.perfectScore - reference.nullScore);
}

/** Maps [0, threshold] onto [0, 0.5] and [threshold, 1] onto [0.5, 1]. */
export function centreOnThreshold(score: number, threshold: number): number {
  if (threshold <= 0) return 0.5 + 0.5 * score;
  if (threshold >= 1) return 0.5 * score;
  return score < threshold ? (0.5 * score) / threshold : 0.5 + (0.5 * (score - threshold)) / (1 - threshold);
}

/** Raw standard score of files at a fixed threshold. */
export function rawAtThreshold(files: readonly ScoredFile[], threshold: number): number {
  let total = 0;
  let firstId = 0;
  for (const f of files) {
    const rows = sweepFile(f, STANDARD.costMatrix, firstId);
    total += scoreAtThreshold(rows, STANDARD.costMatrix, threshold, firstId).score;
    firstId += rows.windowCount;
  }
  return total;
}

export function leaveOneCategoryOut(files: readonly SeriesFileData[], options: TuneOptions = DEFAULT_TUNE, onFold?: (category: string) => void): LocoResult {
  const categories = [...new Set(files.map((f) => categoryOf(f.name)))].sort();
  if (categories.length < 2) throw new RangeError('leave-one-category-out needs at least two categories');
  const folds: FoldResult[] = categories.map((category) => {
    onFold?.(category);
    const tuneOn = files.filter((f) => categoryOf(f.name) !== category);
    const heldOut = files.filter((f) => categoryOf(f.name) === category);
    const tuned = tuneSeries(tuneOn, options);
    const scored = scoreFiles(heldOut, tuned.options);
    return {
      category,
      files: heldOut.length,
      windows: heldOut.reduce((s, f) => s + f.windows.length, 0),
      tuned,
      heldOutScore: standardScore(scored).score,
      heldOutRawAtTunedThreshold: rawAtThreshold(scored, tuned.threshold),
      scored,
    };
  });
  const all = folds.flatMap((f) => f.scored);
  const calibrated = folds.flatMap((f) => f.scored.map((s) => ({ ...s, anomalyScores: Float64Array.from(s.anomalyScores, (x) => centreOnThreshold(x, f.tuned.threshold)) })));
  return {
    folds,
    overallScore: standardScore(calibrated).score,
    overallScoreAtTunedThresholds: normaliseRaw(all, folds.reduce((s, f) => s + f.heldOutRawAtTunedThreshold, 0)),
  };
}

export interface BaselineCategory {
  category: string;
  /** NAB protocol on the category alone. */
  score: number;
  /** Raw score at the threshold optimised on the other categories. */
  rawAtOthersThreshold: number;
}

/**
 * The same figures for a published detector's fixed scores (no parameters to tune, but NAB's threshold): per
 * category under NAB's protocol, and at the threshold that would have been chosen on the other categories.
 */
export function baselineByCategory(scored: readonly ScoredFile[]): { categories: BaselineCategory[]; overallScore: number; overallScoreAtOthersThresholds: number } {
  const categories = [...new Set(scored.map((f) => categoryOf(f.name)))].sort();
  const rows = categories.map((category) => {
    const mine = scored.filter((f) => categoryOf(f.name) === category);
    const others = scored.filter((f) => categoryOf(f.name) !== category);
    return { category, score: standardScore(mine).score, rawAtOthersThreshold: rawAtThreshold(mine, standardScore(others).threshold) };
  });
  return {
    categories: rows,
    overallScore: standardScore(scored).score,
    overallScoreAtOthersThresholds: normaliseRaw(scored, rows.reduce((s, r) => s + r.rawAtOthersThreshold, 0)),
  };
}
