import { describe, expect, it } from 'vitest';
import { deliver, processRecords, writeResult, type Processor, type Sink } from './component.ts';
import { DecodeError, PartlyRejectedError, PeregrineError, UnavailableError } from './errors.ts';
import type { IncomingRecord } from './kafka/adapter.ts';
import { DEAD_LETTER_HEADERS } from './kafka/dead-letter.ts';

const record = (offset: number, value: string): IncomingRecord => ({ topic: 't', partition: 2, offset: String(offset), value: Buffer.from(value), headers: {}, timestampMs: 0 });

const parseNumber: Processor<IncomingRecord, number> = {
  name: 'parse',
  process: (r) => {
    const n = Number(r.value.toString());
    if (Number.isNaN(n)) throw new DecodeError(`not a number: ${r.value}`);
    return n === 0 ? [] : [n];
  },
};

describe('processRecords', () => {
  it('dead-letters what a processor rejects, with origin and reason, and goes on', () => {
    const { items, deadLetters } = processRecords([record(1, '5'), record(2, 'x'), record(3, '0'), record(4, '7')], parseNumber, 'test');
    expect(items).toEqual([5, 7]);
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0]!.headers).toMatchObject({
      [DEAD_LETTER_HEADERS.topic]: 't', [DEAD_LETTER_HEADERS.partition]: '2', [DEAD_LETTER_HEADERS.offset]: '2',
      [DEAD_LETTER_HEADERS.reason]: 'parse: not a number: x', [DEAD_LETTER_HEADERS.stage]: 'test',
    });
    expect(String(deadLetters[0]!.value)).toBe('x');
  });

  it('lets a programming error through instead of hiding it in the dead letters', () => {
    const broken: Processor<IncomingRecord, number> = { name: 'broken', process: () => { throw new TypeError('bug'); } };
    expect(() => processRecords([record(1, '1')], broken, 'test')).toThrow(TypeError);
  });
});

describe('deliver', () => {
  it('retries a retryable sink until it acknowledges, writing each item once it does', async () => {
    let attempts = 0;
    const written: number[][] = [];
    const flaky: Sink<number> = { name: 'flaky', write: (items) => writeResult(async () => {
      if (++attempts < 3) throw new UnavailableError('es', 'down');
      written.push(items);
    }) };
    await deliver([flaky], [1, 2], { initialDelayMs: 1 });
    expect(attempts).toBe(3);
    expect(written).toEqual([[1, 2]]);
  });

  it('throws on a permanent failure', async () => {
    const rejecting: Sink<number> = { name: 'rejecting', write: (_items) => writeResult(async () => { throw new PeregrineError('mapping conflict'); }) };
    await expect(deliver([rejecting], [1], { initialDelayMs: 1 })).rejects.toThrow('rejecting: mapping conflict');
  });

  it('hands a permanent rejection to onRejected and goes on to the next sink', async () => {
    const rejected: Array<[string, number[], string]> = [];
    const written: number[][] = [];
    const rejecting: Sink<number> = { name: 'es', write: () => writeResult(async () => { throw new PeregrineError('mapping conflict'); }) };
    const accepting: Sink<number> = { name: 'kafka', write: (items) => writeResult(async () => { written.push(items); }) };
    await deliver([rejecting, accepting], [1, 2], { initialDelayMs: 1, onRejected: async (sink, items, error) => { rejected.push([sink, items, error.message]); } });
    expect(rejected).toEqual([['es', [1, 2], 'mapping conflict']]);
    expect(written).toEqual([[1, 2]]);
  });

  it('hands onRejected only the items a partly successful write refused', async () => {
    const rejected: Array<[string, number[]]> = [];
    const bulk: Sink<number> = { name: 'es', write: () => writeResult(async () => { throw new PartlyRejectedError('2 of 4 rejected', [1, 3]); }) };
    await deliver([bulk], [10, 11, 12, 13], { initialDelayMs: 1, onRejected: async (sink, items) => { rejected.push([sink, items]); } });
    expect(rejected).toEqual([['es', [11, 13]]]);
  });
});

