import { DDSketch } from '@datadog/sketches-js';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../core/errors.ts';
import { mulberry32 } from '../../core/random.ts';
import { ByteReader, ByteWriter } from '../codec.ts';
import { DistinctCounter, EXACT_LIMIT } from './distinct.ts';
import { charEntropy, entropyOfCounts, entropyWithRest } from './entropy.ts';
import { hash32 } from './hash.ts';
import { QuantileSketch } from './quantile.ts';
import { ItemSample } from './sample.ts';

function roundTrip<T>(write: (w: ByteWriter) => void, read: (r: ByteReader) => T): T {
  const w = new ByteWriter(8);
  write(w);
  return read(new ByteReader(w.finish()));
}

describe('QuantileSketch', () => {
  const random = mulberry32(7);
  const values = Array.from({ length: 5000 }, () => (random() < 0.02 ? 0 : Math.exp(random() * 9)));

  it('gives the quantiles @datadog/sketches-js gives for the same values', () => {
    const ours = new QuantileSketch();
    const theirs = new DDSketch({ relativeAccuracy: 0.01 });
    for (const v of values) {
      ours.add(v);
      theirs.accept(v);
    }
    for (const q of [0, 0.01, 0.5, 0.9, 0.95, 0.99, 1]) expect(ours.quantile(q)).toBeCloseTo(theirs.getValueAtQuantile(q), 9);
    expect(ours.count).toBe(values.length);
  });

  it('stays within 1% of the exact quantile', () => {
    const s = new QuantileSketch();
    for (const v of values) s.add(v);
    const sorted = [...values].sort((a, b) => a - b);
    for (const q of [0.5, 0.95, 0.99]) {
      const exact = sorted[Math.floor(q * (sorted.length - 1))];
      expect(Math.abs(s.quantile(q) - exact)).toBeLessThanOrEqual(exact * 0.01 + 1e-9);
    }
  });

  it('merges to exactly the sketch of all values, whatever the grouping, and survives serialisation', () => {
    const whole = new QuantileSketch();
    for (const v of values) whole.add(v);
    const parts = [new QuantileSketch(), new QuantileSketch(), new QuantileSketch()];
    values.forEach((v, i) => parts[(i * 7) % 3].add(v));
    const merged = new QuantileSketch();
    for (const p of [parts[2], parts[0], parts[1]]) merged.merge(roundTrip((w) => p.write(w), QuantileSketch.read));
    const bytes = (s: QuantileSketch) => { const w = new ByteWriter(); s.write(w); return w.finish(); };
    expect(bytes(merged)).toEqual(bytes(whole));
    expect(merged.quantile(0.95)).toBe(whole.quantile(0.95));
  });

  it('writes the same bytes whether its buckets are sparse or dense, however small sketches merge into it', () => {
    const bytes = (s: QuantileSketch) => { const w = new ByteWriter(); s.write(w); return w.finish(); };
    // Values far apart (a wide range: the dense form widens on both sides) in twos and threes: sparse merges first,
    // then sparse into dense, then dense into dense.
    const few = Array.from({ length: 40 }, (_, i) => (i % 5 === 0 ? 0 : 10 ** ((i * 7) % 13) * (1 + i / 100)));
    const whole = new QuantileSketch();
    for (const v of few) whole.add(v);
    const merged = new QuantileSketch();
    const dense = new QuantileSketch();
    for (let i = 0; i < few.length; i += 3) {
      const part = new QuantileSketch();
      for (const v of few.slice(i, i + 3)) part.add(v);
      merged.merge(roundTrip((w) => part.write(w), QuantileSketch.read));
      if (i >= 20) dense.merge(part);
    }
    const firstHalf = new QuantileSketch();
    for (const v of few.slice(0, 21)) firstHalf.add(v);
    firstHalf.merge(dense);
    expect(bytes(merged)).toEqual(bytes(whole));
    expect(bytes(firstHalf)).toEqual(bytes(whole));
    for (const q of [0, 0.5, 0.9, 1]) expect(merged.quantile(q)).toBe(whole.quantile(q));
  });

  it('is 0 when empty and counts zeros and tiny values in the zero bucket', () => {
    const s = new QuantileSketch();
    expect(s.quantile(0.5)).toBe(0);
    s.add(0);
    s.add(Number.MIN_VALUE);
    s.add(10);
    expect(s.zeroCount).toBe(2);
    expect(s.quantile(0.5)).toBe(0);
    expect(s.quantile(1)).toBeCloseTo(10, 0);
  });

  it('rejects corrupt bytes with a DecodeError', () => {
    expect(() => QuantileSketch.read(new ByteReader(Buffer.from([0, 5, 2])))).toThrow(DecodeError);
    expect(() => QuantileSketch.read(new ByteReader(Buffer.from([0, 0xff, 0xff, 0x7f])))).toThrow(DecodeError);
  });
});

describe('DistinctCounter', () => {
  it('counts a repeated item once, also after a merge or a round trip', () => {
    const items = [hash32('/a'), hash32('/b'), 0, 0xffffffff, hash32('/a')];
    const c = new DistinctCounter();
    for (const h of items) c.addHash(h);
    expect(c.estimate()).toBe(4);
    const merged = new DistinctCounter();
    merged.merge(c);
    merged.addHash(0xffffffff);
    merged.addHash(1);
    expect(merged.estimate()).toBe(5);
    const read = roundTrip((w) => c.write(w), DistinctCounter.read);
    read.addHash(0);
    read.addHash(hash32('/c'));
    expect(read.estimate()).toBe(5);
  });

  it('counts exactly while small', () => {
    const c = new DistinctCounter();
    for (let i = 0; i < EXACT_LIMIT; i++) {
      c.addHash(hash32(`/p/${i}`));
      c.addHash(hash32(`/p/${i}`));
    }
    expect(c.exact).toBe(true);
    expect(c.estimate()).toBe(EXACT_LIMIT);
  });

  it.each([600, 5_000, 50_000, 1_000_000])('estimates %i distinct items within 2%', (n) => {
    const c = new DistinctCounter();
    for (let i = 0; i < n; i++) c.addHash(hash32(`/scan/${i.toString(36)}/x`));
    expect(c.exact).toBe(false);
    expect(Math.abs(c.estimate() - n) / n).toBeLessThanOrEqual(0.02);
  });

  it('merges to the counter of the union, whatever the grouping and form', () => {
    const items = Array.from({ length: 3000 }, (_, i) => hash32(`peer-${i % 2500}`));
    const whole = new DistinctCounter();
    items.forEach((h) => whole.addHash(h));
    const small = new DistinctCounter();
    const big = new DistinctCounter();
    items.forEach((h, i) => (i < 100 ? small : big).addHash(h));
    const a = new DistinctCounter();
    a.merge(roundTrip((w) => small.write(w), DistinctCounter.read));
    a.merge(roundTrip((w) => big.write(w), DistinctCounter.read));
    const b = new DistinctCounter();
    b.merge(big);
    b.merge(small);
    expect(a.estimate()).toBe(whole.estimate());
    expect(b.estimate()).toBe(whole.estimate());
    const exactParts = [new DistinctCounter(), new DistinctCounter()];
    for (let i = 0; i < 300; i++) exactParts[i % 2].addHash(hash32(`r${i % 200}`));
    exactParts[0].merge(exactParts[1]);
    expect(exactParts[0].estimate()).toBe(200);
  });

  it('rejects corrupt bytes with a DecodeError', () => {
    expect(() => DistinctCounter.read(new ByteReader(Buffer.from([1, 3, 1, 2, 3])))).toThrow(DecodeError);
    expect(() => DistinctCounter.read(new ByteReader(Buffer.from([7])))).toThrow(DecodeError);
    expect(() => DistinctCounter.read(new ByteReader(Buffer.from([0, 0xff, 0x7f])))).toThrow(DecodeError);
  });
});

describe('ItemSample', () => {
  const stream = Array.from({ length: 400 }, (_, i) => `/route/${(i * 37) % 90}`);

  it('keeps the same items with exact counts whatever the arrival order', () => {
    const a = new ItemSample(16);
    const b = new ItemSample(16);
    stream.forEach((s) => a.add(s));
    [...stream].reverse().forEach((s) => b.add(s));
    const dump = (s: ItemSample) => Array.from({ length: s.size }, (_, i) => [s.itemAt(i), s.countAt(i)]);
    expect(dump(a)).toEqual(dump(b));
    for (const [item, count] of dump(a)) expect(count).toBe(stream.filter((s) => s === item).length);
  });

  it('merges partial samples into the sample of the whole window', () => {
    const whole = new ItemSample(16);
    stream.forEach((s) => whole.add(s));
    const parts = [new ItemSample(16), new ItemSample(16), new ItemSample(16)];
    stream.forEach((s, i) => parts[i % 3].add(s));
    const merged = new ItemSample(16);
    for (const p of parts) merged.merge(roundTrip((w) => p.write(w), (r) => ItemSample.read(r, 16)));
    const dump = (s: ItemSample) => Array.from({ length: s.size }, (_, i) => [s.itemAt(i), s.countAt(i)]);
    expect(dump(merged)).toEqual(dump(whole));
  });

  it('cuts long items and lists examples sorted', () => {
    const s = new ItemSample(3);
    s.add('x'.repeat(10_000));
    s.add('x'.repeat(10_000));
    expect(s.size).toBe(1);
    expect(s.countAt(0)).toBe(2);
    expect(s.itemAt(0).length).toBe(256);
    const t = new ItemSample(5);
    ['c', 'a', 'b'].forEach((x) => t.add(x));
    expect(t.examples(5)).toEqual(['a', 'b', 'c']);
  });
});

describe('entropy', () => {
  it('is log2 of the number of equally likely items', () => {
    expect(entropyOfCounts([5, 5, 5, 5], 20)).toBeCloseTo(2);
    expect(entropyOfCounts([7], 7)).toBe(0);
    expect(entropyWithRest([2, 2], 4, 2, 8)).toBeCloseTo(2);
  });
  it('measures characters per payload', () => {
    expect(charEntropy('aaaa', 100)).toBe(0);
    expect(charEntropy('abcd', 100)).toBeCloseTo(2);
    expect(charEntropy('abcdabcd', 4)).toBeCloseTo(2);
    expect(charEntropy('', 10)).toBe(0);
  });
});
