/** `peregrine eval nab-loco`: the I/O shell around loco.ts (reads the corpus and a published detector's results). */
import path from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../../core/errors.ts';
import { loadScoredCorpus, loadWindows, readSeriesFile } from '../nab/corpus.ts';
import { DEFAULT_SERIES_DETECTOR } from './detector.ts';
import { baselineByCategory, DEFAULT_TUNE, leaveOneCategoryOut, normaliseRaw, tuneSeries, type SeriesFileData } from './loco.ts';

interface LocoOptions {
  data: string;
  labels: string;
  baseline?: string;
  trials: string;
  refine: string;
  seed: string;
  selection: string;
  final?: boolean;
  json?: boolean;
}

/** Every labelled file of the corpus, in memory. */
export async function loadSeriesCorpus(dataDir: string, labels: string): Promise<SeriesFileData[]> {
  const windows = await loadWindows(labels);
  const out: SeriesFileData[] = [];
  for (const name of [...windows.keys()].sort()) {
    const file = await readSeriesFile(path.join(dataDir, name), false);
    if (file.skipped > 0) throw new ConfigError(`${name}: ${file.skipped} malformed row(s), first at line ${file.errors[0].line}`);
    out.push({ name, timestampsMs: Float64Array.from(file.timestampsMs), values: Float64Array.from(file.values), windows: windows.get(name)! });
  }
  return out;
}

const positiveInt = (name: string, text: string): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(`--${name} must be a whole number, got ${text}`);
  return n;
};

export function registerLocoCommand(evaluate: Command): void {
  evaluate
    .command('nab-loco')
    .description(
      'leave-one-category-out evaluation of the streaming series detector on NAB: for each category, tune the ' +
        "detector's parameters on the other categories, score the held-out one; report the standard score per category " +
        'and overall beside a published detector scored the same way',
    )
    .requiredOption('--data <dir>', 'NAB data folder: <category>/<file>.csv')
    .requiredOption('--labels <file>', 'combined_windows.json')
    .option('--baseline <dir>', "a published detector's results to report beside ours (e.g. ../shared/data/nab/results/numenta)")
    .option('--trials <n>', 'random configurations per fold', String(DEFAULT_TUNE.trials))
    .option('--refine <n>', 'local refinement steps per fold', String(DEFAULT_TUNE.refineSteps))
    .option('--seed <n>', 'search seed', String(DEFAULT_TUNE.seed))
    .option('--selection <how>', 'best (highest on the tuning categories) | consensus (median of the best tenth)', DEFAULT_TUNE.selection)
    .option('--final', 'also tune on every category (the parameters to ship) and print them')
    .option('--json', 'print the full result as JSON')
    .action(async (options: LocoOptions) => {
      if (options.selection !== 'best' && options.selection !== 'consensus') throw new ConfigError(`--selection must be best or consensus, got ${options.selection}`);
      const tune = {
        trials: positiveInt('trials', options.trials), refineSteps: positiveInt('refine', options.refine), seed: positiveInt('seed', options.seed), selection: options.selection,
      } as const;
      const files = await loadSeriesCorpus(options.data, options.labels);
      const started = Date.now();
      const progress = (what: string) => process.stderr.write(`${((Date.now() - started) / 1000).toFixed(0).padStart(5)} s  ${what}\n`);
      const loco = leaveOneCategoryOut(files, tune, (category) => progress(`tuning without ${category}`));
      let baseline: ReturnType<typeof baselineByCategory> | undefined;
      if (options.baseline) {
        const corpus = await loadScoredCorpus({ dataDir: options.data, windows: await loadWindows(options.labels), resultsDir: options.baseline });
        if (corpus.missing.length) throw new ConfigError(`--baseline ${options.baseline}: no results for ${corpus.missing.slice(0, 3).join(', ')}`);
        baseline = baselineByCategory(corpus.files);
      }
      let final: ReturnType<typeof tuneSeries> | undefined;
      if (options.final) {
        progress('tuning on every category');
        final = tuneSeries(files, tune);
      }
      if (options.json) {
        process.stdout.write(JSON.stringify({
          tune,
          folds: loco.folds.map(({ scored, ...f }) => ({ ...f, heldOutAtTunedThreshold: normaliseRaw(scored, f.heldOutRawAtTunedThreshold) })),
          overallScore: loco.overallScore, overallScoreAtTunedThresholds: loco.overallScoreAtTunedThresholds,
          baseline, final, defaults: DEFAULT_SERIES_DETECTOR,
        }, null, 2) + '\n');
        return;
      }
      const name = options.baseline ? path.basename(path.resolve(options.baseline)) : undefined;
      const lines = [`NAB standard score, leave one category out (${tune.trials} random + ${tune.refineSteps} refinement trials per fold, seed ${tune.seed}, ${tune.selection} selection)`, ''];
      lines.push(`${'held-out category'.padEnd(24)} ${'files'.padStart(5)} ${'windows'.padStart(7)}  ${'tuned-on score'.padStart(14)}  ${'held-out (NAB)'.padStart(14)}  ${'at tuned thr.'.padStart(13)}` + (name ? `  ${`${name} (NAB)`.padStart(16)}  ${`${name} at others' thr.`.padStart(24)}` : ''));
      for (const f of loco.folds) {
        const b = baseline?.categories.find((c) => c.category === f.category);
        const atTuned = normaliseRaw(f.scored, f.heldOutRawAtTunedThreshold);
        const fmt = (x: number | undefined, raw?: number) => (f.windows === 0 && raw !== undefined ? `raw ${raw.toFixed(2)}` : x === undefined ? '' : x.toFixed(2));
        lines.push(
          `${f.category.padEnd(24)} ${String(f.files).padStart(5)} ${String(f.windows).padStart(7)}  ${f.tuned.score.toFixed(2).padStart(14)}  ` +
            `${fmt(f.heldOutScore, 0).padStart(14)}  ${fmt(atTuned, f.heldOutRawAtTunedThreshold).padStart(13)}` +
            (b ? `  ${fmt(b.score, 0).padStart(16)}  ${fmt(normaliseRaw(f.scored, b.rawAtOthersThreshold), b.rawAtOthersThreshold).padStart(24)}` : ''),
        );
      }
      lines.push(
        `${'all, LOCO'.padEnd(24)} ${String(files.length).padStart(5)} ${String(files.reduce((s, f) => s + f.windows.length, 0)).padStart(7)}  ${''.padStart(14)}  ` +
          `${loco.overallScore.toFixed(2).padStart(14)}  ${loco.overallScoreAtTunedThresholds.toFixed(2).padStart(13)}` +
          (baseline ? `  ${baseline.overallScore.toFixed(2).padStart(16)}  ${baseline.overallScoreAtOthersThresholds.toFixed(2).padStart(24)}` : ''),
      );
      lines.push('', 'A category without labelled windows has no normalised score: its raw score is the cost of its false positives (0 is best).');
      if (final) lines.push('', `tuned on every category: standard ${final.score.toFixed(2)} (threshold ${final.threshold}); parameters:`, JSON.stringify(final.options));
      for (const f of loco.folds) lines.push(`fold without ${f.category}: ${JSON.stringify(f.tuned.options)} threshold ${f.tuned.threshold}`);
      process.stdout.write(lines.join('\n') + '\n');
    });
}
