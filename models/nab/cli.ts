import { access } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../../core/errors.ts';
import { logger } from '../../core/log.ts';
import { loadProfiles, loadScoredCorpus, loadWindows } from './corpus.ts';
import { splitByCategory } from '../series/split.ts';
import { NAB_PROFILES, scoreCorpus, type Profile, type ProfileResult } from './scorer.ts';

interface EvalNabOptions {
  data: string;
  labels: string;
  results: string;
  profiles?: string;
  files?: string;
  split?: string;
  json?: boolean;
  perFile?: boolean;
}

export interface NabEvaluation {
  results: string;
  filesScored: number;
  missing: string[];
  unmatched: string[];
  skippedRows: number;
  profiles: ProfileResult[];
}

async function resolveProfiles(options: EvalNabOptions): Promise<{ profiles: Profile[]; source: string }> {
  if (options.profiles) return { profiles: await loadProfiles(options.profiles), source: options.profiles };
  const beside = path.join(path.dirname(options.labels), 'profiles.json');
  const found = await access(beside).then(() => true, () => false);
  if (found) return { profiles: await loadProfiles(beside), source: beside };
  return { profiles: [...NAB_PROFILES], source: 'built-in NAB v1.1 profiles' };
}

/** Score one detector's result files against NAB labels (the programmatic form of `eval nab`). */
export async function evaluateNab(options: EvalNabOptions): Promise<NabEvaluation & { profilesSource: string }> {
  const { profiles, source } = await resolveProfiles(options);
  const windows = await loadWindows(options.labels);
  let only = options.files ? options.files.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
  if (options.split) {
    if (options.split !== 'tune' && options.split !== 'held-out') throw new ConfigError(`--split must be tune or held-out, got ${options.split}`);
    if (only) throw new ConfigError('give --files or --split, not both');
    const parts = splitByCategory([...windows.keys()]);
    only = options.split === 'tune' ? parts.tune : parts.heldOut;
  }
  const log = logger().child({ stage: 'eval-nab' });
  const corpus = await loadScoredCorpus({
    dataDir: options.data,
    windows,
    resultsDir: options.results,
    only,
    onFile: (name, done, total) => {
      if (done % 10 === 0) log.debug({ file: name, done, total }, 'loading results');
    },
  });
  if (corpus.files.length === 0) {
    throw new ConfigError(`no result file under ${options.results} matches a labelled data file (want <category>/<file>.csv or <category>/<detector>_<file>.csv)`);
  }
  return {
    results: options.results,
    filesScored: corpus.files.length,
    missing: corpus.missing,
    unmatched: corpus.unmatched,
    skippedRows: corpus.skippedRows,
    profiles: scoreCorpus(corpus.files, profiles),
    profilesSource: source,
  };
}

function formatHuman(e: NabEvaluation, perFile: boolean): string {
  const lines = [`NAB v1.1 score of ${e.results} on ${e.filesScored} file(s)`];
  if (e.missing.length) lines.push(`  not scored (no result file): ${e.missing.length} — ${e.missing.slice(0, 5).join(', ')}${e.missing.length > 5 ? ', ...' : ''}`);
  if (e.unmatched.length) lines.push(`  ignored (no labels): ${e.unmatched.slice(0, 5).join(', ')}${e.unmatched.length > 5 ? ', ...' : ''}`);
  lines.push('');
  lines.push(`${'profile'.padEnd(20)} ${'score'.padStart(7)} ${'threshold'.padStart(10)} ${'raw'.padStart(8)} ${'windows hit'.padStart(12)} ${'FP rows'.padStart(8)}`);
  for (const p of e.profiles) {
    lines.push(
      `${p.profile.padEnd(20)} ${p.normalizedScore.toFixed(2).padStart(7)} ${p.threshold.toPrecision(6).padStart(10)} ` +
        `${p.rawScore.toFixed(2).padStart(8)} ${`${p.windowsDetected}/${p.windows}`.padStart(12)} ${String(p.fp).padStart(8)}`,
    );
  }
  lines.push('', 'score: 0 = null detector, 100 = every window caught at its start with no false positive.');
  if (perFile) {
    const standard = e.profiles[0];
    lines.push('', `per file (${standard.profile} profile, threshold ${standard.threshold.toPrecision(6)}):`);
    for (const f of standard.files) lines.push(`  ${f.score.toFixed(3).padStart(8)}  windows ${f.windowsDetected}/${f.windows}  FP ${String(f.fp).padStart(3)}  ${f.name}`);
  }
  return lines.join('\n') + '\n';
}

export function registerNabCommand(evaluate: Command): void {
  evaluate
    .command('nab')
    .description(
      "score one detector's anomaly scores with the NAB v1.1 rules (standard, reward_low_FP_rate, reward_low_FN_rate; " +
        'one optimised threshold per profile, normalised with the null detector)',
    )
    .requiredOption('--data <dir>', 'NAB data folder: <category>/<file>.csv with timestamp,value')
    .requiredOption('--labels <file>', 'combined_windows.json (labelled anomaly windows)')
    .requiredOption('--results <dir>', "one detector's results: <category>/<detector>_<file>.csv or <category>/<file>.csv with timestamp,value,anomaly_score")
    .option('--profiles <file>', 'cost profiles (default: profiles.json beside the labels file, else the NAB v1.1 ones)')
    .option('--files <list>', 'score only these comma-separated relative paths (e.g. a held-out split)')
    .option('--split <part>', "score only one part of the detector's fixed tune / held-out split of the labelled files: tune | held-out")
    .option('--per-file', 'also list each file’s score at the standard threshold')
    .option('--json', 'print the full result as JSON')
    .action(async (options: EvalNabOptions) => {
      const evaluation = await evaluateNab(options);
      if (evaluation.skippedRows > 0) process.stderr.write(`warning: ${evaluation.skippedRows} malformed result row(s) skipped\n`);
      process.stdout.write(options.json ? `${JSON.stringify(evaluation, null, 2)}\n` : formatHuman(evaluation, Boolean(options.perFile)));
    });
}
