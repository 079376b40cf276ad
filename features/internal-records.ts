/**
 * Records of the features stage's internal topics (core/topics.ts):
 * - partials topic, keyed by entity id, partition chosen by `partitionOfEntity`: a partial aggregate of one
 *   (entity, window, source partition), or a source partition's marker (written to every partition after that
 *   source's partials: "windows ending at or before T are closed here", or "idle: nothing open");
 * - state topic (compacted), same partitioning: an entity's first-seen history, a kind's history start, or a
 *   tombstone (PartitionedState's records, values in `historyCodec`).
 * Every record starts with a kind byte; a record that does not decode is a DecodeError for the dead-letter topic.
 */
import { DecodeError } from '../core/errors.ts';
import type { StateCodec } from '../core/state/changelog.ts';
import { ByteReader, ByteWriter } from './codec.ts';
import { readHistory, writeHistory, type EntityHistory } from './history/first-seen.ts';
import { hash32 } from './sketch/hash.ts';
import { EntityAggregate } from './window/aggregate.ts';
import type { SourceId } from './window/merge.ts';

const PARTIAL = 1;
const MARKER = 2;
const FORMAT = 1;

/** The partials and state partition that owns an entity (the same for both topics). */
export function partitionOfEntity(entityId: string, partitions: number): number {
  return hash32(entityId) % partitions;
}

/** One writer for every partial (encoding is synchronous; `finish` copies): a busy window's partial is kilobytes. */
const partialWriter = new ByteWriter(16_384);

export function encodePartial(source: SourceId, windowStartMs: number, aggregate: EntityAggregate): Buffer {
  const w = partialWriter.reset().uint(PARTIAL).uint(FORMAT).string(source.topic).uint(source.partition).uint(windowStartMs);
  aggregate.write(w);
  return w.finish();
}

export function encodeMarker(source: SourceId, closedThroughMs: number, idle: boolean): Buffer {
  return new ByteWriter(64).uint(MARKER).uint(FORMAT).string(source.topic).uint(source.partition).double(closedThroughMs).uint(idle ? 1 : 0).finish();
}

export type InternalRecord =
  | { kind: 'partial'; source: SourceId; windowStartMs: number; aggregateBytes: Uint8Array }
  | { kind: 'marker'; source: SourceId; closedThroughMs: number; idle: boolean };

/** Reads the header of a partials-topic record; the aggregate bytes are decoded (and checked) when merged. */
export function decodeInternal(bytes: Uint8Array): InternalRecord {
  const r = new ByteReader(bytes);
  const kind = r.uint();
  const format = r.uint();
  if (format !== FORMAT) throw new DecodeError(`features partial: unknown format ${format}`);
  const source = { topic: r.string(), partition: r.uint() };
  if (kind === PARTIAL) {
    const windowStartMs = r.uint();
    return { kind: 'partial', source, windowStartMs, aggregateBytes: bytes.subarray(bytes.length - r.remaining) };
  }
  if (kind === MARKER) {
    const closedThroughMs = r.double();
    const idle = r.uint() === 1;
    return { kind: 'marker', source, closedThroughMs, idle };
  }
  throw new DecodeError(`features partial: unknown record kind ${kind}`);
}

/** The state stores of merge partition `q` (on the state topic, in partition `q`). */
export function historyStores(q: number): { histories: string; historyStart: string } {
  return { histories: `history/${q}`, historyStart: `history-start/${q}` };
}

/** State values as they go to the compacted state topic: an entity's history in the byte format, or a history start time. */
export const historyCodec: StateCodec = {
  encode(value, store) {
    const w = new ByteWriter(64).uint(FORMAT);
    if (store.startsWith('history-start/')) w.double(value as number);
    else writeHistory(w, value as EntityHistory);
    return w.finish();
  },
  decode(bytes, store) {
    const r = new ByteReader(bytes);
    const format = r.uint();
    if (format !== FORMAT) throw new DecodeError(`features state: unknown format ${format}`);
    return store.startsWith('history-start/') ? r.double() : readHistory(r);
  },
};
