import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../core/errors.ts';
import { parseTimestamp, SeriesLineReader } from './csv.ts';

describe('parseTimestamp', () => {
  it('reads NAB timestamps as UTC, with or without fractional seconds', () => {
    expect(parseTimestamp('2014-04-10 07:15:00')).toBe(Date.UTC(2014, 3, 10, 7, 15));
    expect(parseTimestamp('2014-04-10 07:15:00.000000')).toBe(Date.UTC(2014, 3, 10, 7, 15));
    expect(parseTimestamp('2014-04-10T07:15:00+02:00')).toBe(Date.UTC(2014, 3, 10, 5, 15));
    expect(parseTimestamp('1397114100')).toBe(Date.UTC(2014, 3, 10, 7, 15));
  });

  it('rejects what is not a timestamp', () => {
    expect(parseTimestamp('yesterday')).toBeNaN();
    expect(parseTimestamp('2014-13-10 07:15:00')).toBeNaN();
  });
});

describe('SeriesLineReader', () => {
  it('skips malformed rows, counting them and reporting their line numbers', () => {
    const reader = new SeriesLineReader();
    const lines = [
      'timestamp,value',
      '2014-04-10 07:15:00,1.5',
      '2014-04-10 07:20:00,abc',
      'not a row',
      '',
      'garbage,2',
      '2014-04-10 07:25:00,2.5\r',
    ];
    const rows = lines.map((l) => reader.push(l)).filter((r) => r !== undefined);
    expect(rows.map((r) => r.value)).toEqual([1.5, 2.5]);
    expect(reader.rows).toBe(2);
    expect(reader.skipped).toBe(3);
    expect(reader.errors).toEqual([
      { line: 3, reason: 'bad value "abc"' },
      { line: 4, reason: 'expected timestamp,value, got 1 column(s)' },
      { line: 6, reason: 'bad timestamp "garbage"' },
    ]);
  });

  it('keeps the value as written for output', () => {
    const row = new SeriesLineReader().push('2014-04-10 07:15:00,1.50');
    expect(row?.valueText).toBe('1.50');
  });

  it('requires a score in [0, 1] when reading results', () => {
    const reader = new SeriesLineReader({ wantScore: true });
    reader.push('timestamp,value,anomaly_score');
    expect(reader.push('2014-04-10 07:15:00,1,0.5')?.anomalyScore).toBe(0.5);
    expect(reader.push('2014-04-10 07:20:00,1,1.5')).toBeUndefined();
    expect(reader.errors[0]).toEqual({ line: 3, reason: 'bad anomaly_score "1.5" (want a number in [0, 1])' });
  });

  it('refuses a header with the columns in another order, naming the line', () => {
    const reader = new SeriesLineReader();
    expect(() => reader.push('value,timestamp')).toThrow(DecodeError);
    expect(() => new SeriesLineReader().push('value,timestamp')).toThrow(/line 1: header must start with timestamp,value/);
  });
});
