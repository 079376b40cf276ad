import { DecodeError } from '../../core/errors.ts';

/**
 * Pure parsing of NAB-style series CSV rows: `timestamp,value[,anomaly_score,...]`.
 * No I/O here: the caller feeds lines one at a time (streaming) and decides what to do with bad rows.
 */

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * Milliseconds since the epoch for `YYYY-MM-DD[ HH:MM[:SS[.ffffff]]]` (read as UTC, as NAB's files carry no zone),
 * ISO 8601 with a zone, or a plain number of epoch seconds / milliseconds. NaN when it is none of these.
 */
export function parseTimestamp(text: string): number {
  const m = TIMESTAMP.exec(text);
  if (m) {
    const fraction = m[7] ? Number(`0.${m[7]}`) * 1000 : 0;
    let ms = Date.UTC(+m[1], +m[2] - 1, +m[3], m[4] ? +m[4] : 0, m[5] ? +m[5] : 0, m[6] ? +m[6] : 0) + fraction;
    if (+m[2] < 1 || +m[2] > 12 || +m[3] < 1 || +m[3] > 31 || (m[4] && +m[4] > 23) || (m[5] && +m[5] > 59)) return NaN;
    const zone = m[8];
    if (zone && zone !== 'Z') {
      const sign = zone[0] === '-' ? -1 : 1;
      const digits = zone.slice(1).replace(':', '');
      ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
    }
    return ms;
  }
  if (/^\d+(\.\d+)?$/.test(text)) {
    const n = Number(text);
    // Ten-digit numbers are seconds (until 2286); longer ones milliseconds.
    return n < 1e11 ? n * 1000 : n;
  }
  return NaN;
}

export interface SeriesRow {
  /** The timestamp as written, so output can repeat it unchanged. */
  timestampText: string;
  timestampMs: number;
  value: number;
  /** The value as written. */
  valueText: string;
  /** Present when the row has a third column (a results file). */
  anomalyScore?: number;
}

export type RowParse = { ok: true; row: SeriesRow } | { ok: false; reason: string };

function stripQuotes(cell: string): string {
  const t = cell.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
}

/** Parse one data line (not the header). `wantScore` requires a numeric third column in [0, 1]. */
export function parseSeriesLine(line: string, wantScore = false): RowParse {
  const cells = line.split(',');
  if (cells.length < (wantScore ? 3 : 2)) {
    return { ok: false, reason: `expected ${wantScore ? 'timestamp,value,anomaly_score' : 'timestamp,value'}, got ${cells.length} column(s)` };
  }
  const timestampText = stripQuotes(cells[0]);
  const timestampMs = parseTimestamp(timestampText);
  if (Number.isNaN(timestampMs)) return { ok: false, reason: `bad timestamp ${JSON.stringify(timestampText.slice(0, 40))}` };
  const valueText = stripQuotes(cells[1]);
  const value = valueText === '' ? NaN : Number(valueText);
  if (!Number.isFinite(value)) return { ok: false, reason: `bad value ${JSON.stringify(valueText.slice(0, 40))}` };
  if (!wantScore) return { ok: true, row: { timestampText, timestampMs, value, valueText } };
  const scoreText = stripQuotes(cells[2]);
  const anomalyScore = scoreText === '' ? NaN : Number(scoreText);
  if (!Number.isFinite(anomalyScore) || anomalyScore < 0 || anomalyScore > 1) {
    return { ok: false, reason: `bad anomaly_score ${JSON.stringify(scoreText.slice(0, 40))} (want a number in [0, 1])` };
  }
  return { ok: true, row: { timestampText, timestampMs, value, valueText, anomalyScore } };
}

/** Index of the named columns in a header line, or undefined when the line is not a header. */
export function parseHeader(line: string): { timestamp: number; value: number; anomalyScore: number } | undefined {
  const names = line.split(',').map((c) => stripQuotes(c).toLowerCase());
  const timestamp = names.indexOf('timestamp');
  if (timestamp < 0) return undefined;
  return { timestamp, value: names.indexOf('value'), anomalyScore: names.indexOf('anomaly_score') };
}

/** A bad row: its 1-based line number in the file and why it was skipped. */
export interface RowError {
  line: number;
  reason: string;
}

/**
 * Line-by-line reader state: checks the header, parses rows, collects skipped rows (the first few in detail,
 * all of them counted). Feed every physical line, in order, to `push`.
 */
export class SeriesLineReader {
  private lineNumber = 0;
  private headerSeen = false;
  readonly errors: RowError[] = [];
  skipped = 0;
  rows = 0;

  constructor(private readonly options: { wantScore?: boolean; maxErrorsKept?: number } = {}) {}

  /** Returns the parsed row, or undefined for the header, blank lines and skipped rows. */
  push(rawLine: string): SeriesRow | undefined {
    this.lineNumber += 1;
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line.trim() === '') return undefined;
    if (!this.headerSeen) {
      this.headerSeen = true;
      const header = parseHeader(line);
      if (header) {
        if (header.timestamp !== 0 || header.value !== 1 || (this.options.wantScore && header.anomalyScore !== 2)) {
          // Columns in another order cannot be read row by row: the whole file is refused.
          const want = this.options.wantScore ? 'timestamp,value,anomaly_score' : 'timestamp,value';
          throw new DecodeError(`line ${this.lineNumber}: header must start with ${want}, got ${JSON.stringify(line.slice(0, 80))}`);
        }
        return undefined;
      }
      // No header: treat the first line as data.
    }
    const parsed = parseSeriesLine(line, this.options.wantScore);
    if (!parsed.ok) {
      this.skip(parsed.reason);
      return undefined;
    }
    this.rows += 1;
    return parsed.row;
  }

  private skip(reason: string): void {
    this.skipped += 1;
    if (this.errors.length < (this.options.maxErrorsKept ?? 20)) this.errors.push({ line: this.lineNumber, reason });
  }
}
