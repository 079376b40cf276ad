/**
 * Reading a NAB corpus from disk: data files, labelled windows, cost profiles and one detector's result files.
 * I/O lives here; the scoring rules are in scorer.ts.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError, DecodeError, errorMessage } from '../../core/errors.ts';
import { parseTimestamp, SeriesLineReader, type RowError } from '../series/csv.ts';
import type { Profile, ScoredFile, Window } from './scorer.ts';

const WindowsFile = z.record(z.string(), z.array(z.tuple([z.string(), z.string()])));
const ProfilesFile = z.record(
  z.string(),
  z.object({
    CostMatrix: z.object({ tpWeight: z.number(), fpWeight: z.number(), fnWeight: z.number(), tnWeight: z.number().optional() }),
  }),
);

async function readJson(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read ${what} ${file}: ${errorMessage(error)}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${what} ${file} is not JSON: ${errorMessage(error)}`);
  }
}

/** `combined_windows.json`: relative data path -> windows as epoch ms. */
export async function loadWindows(file: string): Promise<Map<string, Window[]>> {
  const parsed = WindowsFile.safeParse(await readJson(file, 'labels file'));
  if (!parsed.success) throw new ConfigError(`labels file ${file}: want {"category/file.csv": [[start, end], ...]}: ${parsed.error.message}`);
  const out = new Map<string, Window[]>();
  for (const [name, windows] of Object.entries(parsed.data)) {
    out.set(
      name,
      windows.map(([start, end]) => {
        const startMs = parseTimestamp(start);
        const endMs = parseTimestamp(end);
        if (Number.isNaN(startMs) || Number.isNaN(endMs)) throw new ConfigError(`labels file ${file}: bad window [${start}, ${end}] for ${name}`);
        return { startMs, endMs };
      }),
    );
  }
  return out;
}

export async function loadProfiles(file: string): Promise<Profile[]> {
  const parsed = ProfilesFile.safeParse(await readJson(file, 'profiles file'));
  if (!parsed.success) throw new ConfigError(`profiles file ${file}: want {"name": {"CostMatrix": {...}}}: ${parsed.error.message}`);
  return Object.entries(parsed.data).map(([name, p]) => ({ name, costMatrix: p.CostMatrix }));
}

export interface SeriesFile {
  timestampsMs: number[];
  values: number[];
  anomalyScores: number[];
  skipped: number;
  errors: RowError[];
}

/** Read a whole `timestamp,value[,anomaly_score]` file; malformed rows are skipped and reported with line numbers. */
export async function readSeriesFile(file: string, wantScore: boolean): Promise<SeriesFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read ${file}: ${errorMessage(error)}`);
  }
  const reader = new SeriesLineReader({ wantScore });
  const out: SeriesFile = { timestampsMs: [], values: [], anomalyScores: [], skipped: 0, errors: reader.errors };
  try {
    for (const line of text.split('\n')) {
      const row = reader.push(line);
      if (!row) continue;
      out.timestampsMs.push(row.timestampMs);
      out.values.push(row.value);
      if (wantScore) out.anomalyScores.push(row.anomalyScore!);
    }
  } catch (error) {
    if (error instanceof DecodeError) throw new DecodeError(`${file}: ${error.message}`);
    throw error;
  }
  out.skipped = reader.skipped;
  return out;
}

async function listCsv(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listCsv(dir, rel)));
    else if (entry.name.endsWith('.csv')) out.push(rel);
  }
  return out.sort();
}

/**
 * Map result files to the labelled data files they score. Accepts NAB's `<category>/<detector>_<file>.csv` and plain
 * `<category>/<file>.csv`; skips NAB's `*_scores.csv` summaries.
 */
export function matchResultFiles(resultFiles: readonly string[], labelled: ReadonlySet<string>): { matched: Map<string, string>; unmatched: string[] } {
  const matched = new Map<string, string>();
  const unmatched: string[] = [];
  for (const rel of resultFiles) {
    if (rel.endsWith('_scores.csv')) continue;
    let key: string | undefined = labelled.has(rel) ? rel : undefined;
    if (!key) {
      const dir = path.posix.dirname(rel);
      const base = path.posix.basename(rel);
      for (let at = base.indexOf('_'); at >= 0 && !key; at = base.indexOf('_', at + 1)) {
        const candidate = dir === '.' ? base.slice(at + 1) : `${dir}/${base.slice(at + 1)}`;
        if (labelled.has(candidate)) key = candidate;
      }
    }
    if (!key) unmatched.push(rel);
    else if (matched.has(key)) throw new ConfigError(`results: both ${matched.get(key)} and ${rel} score ${key}`);
    else matched.set(key, rel);
  }
  return { matched, unmatched };
}

export interface LoadedCorpus {
  files: ScoredFile[];
  /** Labelled files with no result file (not scored). */
  missing: string[];
  /** Result files that match no labelled file (ignored). */
  unmatched: string[];
  skippedRows: number;
}

/**
 * Load the labelled files that have results in `resultsDir`, optionally only `only` (relative data paths).
 * Scores are taken by row position against the data file's timestamps, as NAB does; a results file must have
 * exactly the data file's rows.
 */
export async function loadScoredCorpus(options: {
  dataDir: string;
  windows: Map<string, Window[]>;
  resultsDir: string;
  only?: readonly string[];
  onFile?: (name: string, done: number, total: number) => void;
}): Promise<LoadedCorpus> {
  const info = await stat(options.resultsDir).catch(() => undefined);
  if (!info?.isDirectory()) throw new ConfigError(`--results ${options.resultsDir} is not a directory`);
  const allLabelled = new Set(options.windows.keys());
  let labelled = allLabelled;
  if (options.only) {
    for (const name of options.only) if (!allLabelled.has(name)) throw new ConfigError(`--files: ${name} is not in the labels file`);
    labelled = new Set(options.only);
  }
  const { matched, unmatched } = matchResultFiles(await listCsv(options.resultsDir), allLabelled);
  for (const name of [...matched.keys()]) if (!labelled.has(name)) matched.delete(name);
  const names = [...matched.keys()].sort();
  const files: ScoredFile[] = [];
  let skippedRows = 0;
  for (const [i, name] of names.entries()) {
    options.onFile?.(name, i, names.length);
    const data = await readSeriesFile(path.join(options.dataDir, name), false);
    const results = await readSeriesFile(path.join(options.resultsDir, matched.get(name)!), true);
    skippedRows += results.skipped;
    if (data.skipped > 0) {
      throw new DecodeError(`data file ${name}: ${data.skipped} malformed row(s), first at line ${data.errors[0].line}: ${data.errors[0].reason}`);
    }
    if (results.timestampsMs.length !== data.timestampsMs.length) {
      const first = results.errors[0];
      throw new DecodeError(
        `results ${matched.get(name)}: ${results.timestampsMs.length} scored rows for ${data.timestampsMs.length} data rows` +
          (first ? ` (${results.skipped} malformed, first at line ${first.line}: ${first.reason})` : ''),
      );
    }
    files.push({ name, timestampsMs: data.timestampsMs, anomalyScores: results.anomalyScores, windows: options.windows.get(name)! });
  }
  const missing = [...labelled].filter((n) => !matched.has(n)).sort();
  return { files, missing, unmatched, skippedRows };
}
