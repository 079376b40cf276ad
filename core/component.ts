import { DecodeError, errorMessage, PartlyRejectedError, PeregrineError, UnavailableError } from './errors.ts';
import { retryUntilDone, type RetryOptions } from './retry.ts';
import type { IncomingRecord, OutgoingMessage } from './kafka/adapter.ts';
import { deadLetter } from './kafka/dead-letter.ts';

/**
 * The component contract every stage follows: a source hands out records with an acknowledgement, processors turn
 * each record into zero or more items (throwing DecodeError for what cannot be handled: the record is dead-lettered
 * and the stream goes on), and sinks write the items. The source is acknowledged (Kafka offsets committed) only after
 * every sink acknowledged.
 */
export interface Processor<I, O> {
  readonly name: string;
  /** Pure: an item in, items out. An empty array filters; DecodeError dead-letters the record. */
  process(input: I): O[];
}

/** `failed` with `rejected`: only the items at those indexes were refused for good (the others are stored). */
export type WriteResult = { status: 'ok' } | { status: 'retryable'; error: Error } | { status: 'failed'; error: Error; rejected?: number[] };

export interface Sink<T> {
  readonly name: string;
  write(items: T[]): Promise<WriteResult>;
}

export interface ProcessedBatch<T> {
  items: T[];
  /** Records that could not be processed, ready for the dead-letter topic. */
  deadLetters: OutgoingMessage[];
}

/** Runs the processors over a batch of records; a record a processor rejects goes to the dead letters with the reason. */
export function processRecords<T>(records: IncomingRecord[], first: Processor<IncomingRecord, T>, stage: string): ProcessedBatch<T> {
  const items: T[] = [];
  const deadLetters: OutgoingMessage[] = [];
  for (const record of records) {
    try {
      items.push(...first.process(record));
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      deadLetters.push(deadLetter(record, `${first.name}: ${errorMessage(e)}`, stage));
    }
  }
  return { items, deadLetters };
}

/** Chains processors into one. */
export function chain<A, B, C>(a: Processor<A, B>, b: Processor<B, C>): Processor<A, C> {
  return { name: `${a.name}→${b.name}`, process: (input) => a.process(input).flatMap((x) => b.process(x)) };
}

/** Turns a throwing write into the WriteResult union, keeping the error's retryable flag. */
export async function writeResult(write: () => Promise<void>): Promise<WriteResult> {
  try {
    await write();
    return { status: 'ok' };
  } catch (e) {
    const error = e instanceof Error ? e : new Error(String(e));
    if ((e as { retryable?: boolean }).retryable) return { status: 'retryable', error };
    return e instanceof PartlyRejectedError ? { status: 'failed', error, rejected: e.rejected } : { status: 'failed', error };
  }
}

export interface DeliverOptions<T> extends Omit<RetryOptions, 'sleep'> {
  /** Where items a sink permanently rejects go (a dead-letter topic), only those it refused; without it the rejection is thrown. */
  onRejected?(sink: string, items: T[], error: Error): Promise<void>;
}

/**
 * Writes to each sink in turn until it acknowledges: retryable results wait with backoff (an outage delays data, it
 * never drops it); a permanent rejection goes to `onRejected`, or is thrown.
 */
export async function deliver<T>(sinks: Array<Sink<T>>, items: T[], options: DeliverOptions<T> = {}): Promise<void> {
  if (items.length === 0) return;
  for (const sink of sinks) {
    let rejected: { error: Error; items: T[] } | undefined;
    await retryUntilDone(async () => {
      const result = await sink.write(items);
      if (result.status === 'ok') return;
      if (result.status === 'failed' && options.onRejected) {
        rejected = { error: result.error, items: result.rejected ? result.rejected.map((i) => items[i]) : items };
        return;
      }
      throw result.status === 'retryable'
        ? new UnavailableError(sink.name, result.error.message, { cause: result.error })
        : new PeregrineError(`${sink.name}: ${result.error.message}`, { cause: result.error });
    }, options);
    if (rejected) await options.onRejected!(sink.name, rejected.items, rejected.error);
  }
}
