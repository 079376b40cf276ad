/**
 * Streaming a series CSV through the detector: read line by line, score each row as it arrives (no look-ahead),
 * write `timestamp,value,anomaly_score`. The I/O shell around detector.ts.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
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

/**
 * Score lines into `out`; handles back-pressure and leaves `out` open. Items may be single lines or batches of lines
 * (a file read chunk by chunk); batches are scored synchronously, so the per-line cost stays that of the detector.
 */
export async function scoreLines(
  lines: AsyncIterable<string | string[]> | Iterable<string | string[]>,
  out: Writable,
  options: { detector?: Partial<SeriesDetectorOptions>; source?: string } = {},
): Promise<ScoreStreamResult> {
  const detector = new SeriesDetector(options.detector);
  const reader = new SeriesLineReader();
  let maxScore = 0;
  let chunk = 'timestamp,value,anomaly_score\n';
  // A closed output (a reader that went away: `| head`) must end the run, not crash the process.
  let outputError: Error | undefined;
  const onError = (error: Error): void => {
    outputError = error;
  };
  out.on('error', onError);
  const flush = async (): Promise<void> => {
    if (outputError) throw outputError;
    if (chunk && !out.write(chunk)) await once(out, 'drain');
    chunk = '';
  };
  const handle = (line: string): void => {
    const row = reader.push(line);
    if (!row) return;
    const score = detector.update(row.timestampMs, row.value);
    if (score > maxScore) maxScore = score;
    chunk += `${row.timestampText},${row.valueText},${score}\n`;
  };
  const handleItem = async (item: string | string[]): Promise<void> => {
    if (typeof item === 'string') handle(item);
    else for (const line of item) handle(line);
    if (chunk.length >= 65_536) await flush();
  };
  try {
    if (Symbol.asyncIterator in lines) for await (const item of lines) await handleItem(item);
    else for (const item of lines) await handleItem(item);
    await flush();
  } catch (error) {
    if (error instanceof DecodeError && options.source) throw new DecodeError(`${options.source}: ${error.message}`);
    throw error;
  } finally {
    out.off('error', onError);
  }
  return { rows: reader.rows, skipped: reader.skipped, errors: reader.errors, maxScore };
}

/** A file's lines in batches, one batch per read chunk (the last partial line is carried to the next chunk). */
export async function* readLineBatches(file: string): AsyncGenerator<string[]> {
  let carry = '';
  for await (const text of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 16 })) {
    const lines = (carry + (text as string)).split('\n');
    carry = lines.pop()!;
    yield lines;
  }
  if (carry) yield [carry];
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
  return scoreLines(readLineBatches(file), out, { detector, source: file });
}

/** Score one file into another; the output's folder is created. */
export async function scoreFileToFile(input: string, output: string, detector?: Partial<SeriesDetectorOptions>): Promise<ScoreStreamResult> {
  await assertReadable(input);
  await mkdir(path.dirname(output), { recursive: true });
  const out = createWriteStream(output, { encoding: 'utf8' });
  try {
    const result = await scoreLines(readLineBatches(input), out, { detector, source: input });
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
