import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { scoreLines } from './score.ts';

function collector(): { out: Writable; text: () => string } {
  const chunks: string[] = [];
  return {
    out: new Writable({
      write(chunk, _encoding, done) {
        chunks.push(String(chunk));
        done();
      },
    }),
    text: () => chunks.join(''),
  };
}

function csv(rows: number): string[] {
  const lines = ['timestamp,value'];
  for (let i = 0; i < rows; i++) {
    const ts = new Date(Date.UTC(2024, 0, 1) + i * 300_000).toISOString().slice(0, 19).replace('T', ' ');
    lines.push(`${ts},${(50 + 10 * Math.sin(i / 40) + (i > 700 ? 30 : 0)).toFixed(2)}`);
  }
  return lines;
}

describe('scoreLines', () => {
  it('writes timestamp,value,anomaly_score, one row per valid input row, repeating timestamp and value', async () => {
    const c = collector();
    const lines = [...csv(300), '2024-01-02 01:00:00,oops'];
    const result = await scoreLines(lines, c.out);
    const out = c.text().trimEnd().split('\n');
    expect(out[0]).toBe('timestamp,value,anomaly_score');
    expect(out).toHaveLength(301);
    expect(out[1].startsWith(`${lines[1]},`)).toBe(true);
    expect(result).toMatchObject({ rows: 300, skipped: 1, errors: [{ line: 302, reason: 'bad value "oops"' }] });
    for (const row of out.slice(1)) {
      const score = Number(row.split(',')[2]);
      expect(score).toBeGreaterThanOrEqual(0);
      expect(score).toBeLessThanOrEqual(1);
    }
  });

  it('gives a prefix of the input the same output rows as the prefix of the full output', async () => {
    const lines = csv(1000);
    const full = collector();
    await scoreLines(lines, full.out);
    const part = collector();
    await scoreLines(lines.slice(0, 751), part.out);
    const fullRows = full.text().split('\n');
    expect(part.text().split('\n').slice(0, 751)).toEqual(fullRows.slice(0, 751));
  });
});
