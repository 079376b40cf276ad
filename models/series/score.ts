/**
 * Streaming a series CSV through the detector: read line by line, score each row as it arrives (no look-ahead),
 * write `timestamp,value,anomaly_score`. The I/O shell around detector.ts.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import { once } from 'node:events';
import { ConfigError, DecodeError, errorMessage } from '../../core/errors.ts';
import { SeriesLineReader, type RowError } from './csv.ts';
import { SeriesDetector, type SeriesDetectorOptions } from './detector.ts';

export interface ScoreStreamResult {
  rows: number;
  skipped: number;
  /** The first skipped rows, with 1-based line numbers. */
  errors: RowError[];
  maxScore: number;
}

/** Score lines (an async or sync iterable) into `out`; handles back-pressure, leaves `out` open. */
export async function scoreLines(
  lines: AsyncIterable<string> | Iterable<string>,
  out: Writable,
  options: { detector?: Partial<SeriesDetectorOptions>; source?: string } = {},
): Promise<ScoreStreamResult> {
  const detector = new SeriesDetector(options.detector);
  const reader = new SeriesLineReader();
  let maxScore = 0;
  let chunk = 'timestamp,value,anomaly_score\n';
  const flush = async (): Promise<void> => {
    if (chunk && !out.write(chunk)) await once(out, 'drain');
    chunk = '';
  };
  try {
    for await (const line of lines) {
      const row = reader.push(line);
      if (!row) continue;
      const score = detector.update(row.timestampMs, row.value);
      if (score > maxScore) maxScore = score;
      chunk += `${row.timestampText},${row.valueText},${score}\n`;
      if (chunk.length >= 65_536) await flush();
    }
  } catch (error) {
    if (error instanceof DecodeError && options.source) throw new DecodeError(`${options.source}: ${error.message}`);
    throw error;
  }
  await flush();
  return { rows: reader.rows, skipped: reader.skipped, errors: reader.errors, maxScore };
}

function openLines(file: string): AsyncIterable<string> {
  const input = createReadStream(file, { encoding: 'utf8' });
  return createInterface({ input, crlfDelay: Infinity });
}

async function assertReadable(file: string): Promise<void> {
  const info = await stat(file).catch((error: unknown) => {
    throw new ConfigError(`cannot read ${file}: ${errorMessage(error)}`);
  });
  if (!info.isFile()) throw new ConfigError(`${file} is not a file`);
}

/** Score one file to a stream (stdout for `--input`). */
export async function scoreFileTo(file: string, out: Writable, detector?: Partial<SeriesDetectorOptions>): Promise<ScoreStreamResult> {
  await assertReadable(file);
  return scoreLines(openLines(file), out, { detector, source: file });
}

/** Score one file into another; the output's folder is created. */
export async function scoreFileToFile(input: string, output: string, detector?: Partial<SeriesDetectorOptions>): Promise<ScoreStreamResult> {
  await assertReadable(input);
  await mkdir(path.dirname(output), { recursive: true });
  const out = createWriteStream(output, { encoding: 'utf8' });
  try {
    const result = await scoreLines(openLines(input), out, { detector, source: input });
    out.end();
    await once(out, 'finish');
    return result;
  } catch (error) {
    out.destroy();
    throw error;
  }
}

/** Every `.csv` under `dir`, as sorted relative paths with `/` separators. */
export async function listCsvTree(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(path.join(dir, prefix), { withFileTypes: true }).catch((error: unknown) => {
    throw new ConfigError(`cannot list ${path.join(dir, prefix)}: ${errorMessage(error)}`);
  });
  for (const entry of entries) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listCsvTree(dir, rel)));
    else if (entry.isFile() && entry.name.toLowerCase().endsWith('.csv')) out.push(rel);
  }
  return out.sort();
}
