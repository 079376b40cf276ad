import { errors, type Client } from '@elastic/elasticsearch';
import { UnavailableError } from '../../core/errors.ts';
import { writeResult, type Sink } from '../../core/component.ts';
import { bulkIndex } from '../../core/elasticsearch/client.ts';
import { DecodeError } from '../../core/errors.ts';
import type { IncomingRecord, OutgoingMessage, Producer } from '../../core/kafka/adapter.ts';
import { kafkaTopicSink } from '../../core/kafka/sink.ts';
import { DEAD_LETTER_HEADERS } from '../../core/kafka/dead-letter.ts';

export const FINDING_ID_HEADER = 'peregrine-finding-id';

/** A finding as it travels: its ECS document, the id derived from (entity, detector, window), and its entity (the Kafka key). */
export interface EncodedFinding {
  id: string;
  /** The entity id: each entity's findings stay in order on the feed. */
  key: string;
  doc: Record<string, unknown>;
}

/**
 * Where finding ids already live behind a rollover alias: the search covers every index the alias names (the write
 * index and those rolled over). A document indexed less than a refresh ago is not visible to it; the sink's own
 * cache of what it wrote covers that case.
 */
export async function locateFindings(client: Client, alias: string, ids: readonly string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  if (ids.length === 0) return found;
  let response;
  try {
    response = await client.search({ index: alias, query: { ids: { values: [...ids] } }, _source: false, size: ids.length, ignore_unavailable: true });
  } catch (e) {
    // No index yet: nothing to find.
    if (e instanceof errors.ResponseError && e.statusCode === 404) return found;
    throw new UnavailableError('elasticsearch', `locating findings in ${alias} failed: ${(e as Error).message}`, { cause: e });
  }
  for (const hit of response.hits.hits) if (hit._id) found.set(hit._id, hit._index);
  return found;
}

/**
 * Findings into the write alias, under their ids: re-sending never duplicates. A finding whose id already lives in
 * an index the alias has rolled away from (a grouped finding updated, a replay after a rollover) is written to that
 * index instead, so one id stays one document across rollovers. Where ids live is cached (`cacheSize` most recent).
 */
export function elasticsearchFindingsSink(client: Client, alias: string, options: { cacheSize?: number } = {}): Sink<EncodedFinding> {
  const cacheSize = options.cacheSize ?? 100_000;
  const indexOf = new Map<string, string>();
  const remember = (id: string, index: string): void => {
    indexOf.delete(id);
    indexOf.set(id, index);
    if (indexOf.size > cacheSize) indexOf.delete(indexOf.keys().next().value as string);
  };
  return {
    name: 'elasticsearch',
    write: (items) => writeResult(async () => {
      const unknown = [...new Set(items.filter((f) => !indexOf.has(f.id)).map((f) => f.id))];
      for (const [id, index] of await locateFindings(client, alias, unknown)) remember(id, index);
      const written = await bulkIndex(client, alias, items.map((f) => ({ id: f.id, doc: f.doc, index: indexOf.get(f.id) })));
      items.forEach((f, i) => remember(f.id, written[i]));
    }),
  };
}

/** The SOC alert feed: the ECS document as JSON, keyed by entity, its id in a header. */
export function kafkaFindingsSink(producer: Producer, topic: string): Sink<EncodedFinding> {
  const sink = kafkaTopicSink(producer, topic);
  return {
    name: sink.name,
    write: (items) => sink.write(items.map((f) => ({ key: f.key, value: Buffer.from(JSON.stringify(f.doc)), headers: { [FINDING_ID_HEADER]: f.id } }))),
  };
}

/** A message of the alert feed back into a finding; anything else is a DecodeError (dead-lettered by the reader). */
export function decodeFeedRecord(record: IncomingRecord): EncodedFinding[] {
  let doc: unknown;
  try {
    doc = JSON.parse(record.value.toString('utf8'));
  } catch (e) {
    throw new DecodeError(`not a JSON finding: ${(e as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new DecodeError('a finding must be a JSON object');
  const id = record.headers[FINDING_ID_HEADER]?.toString() ?? ((doc as { event?: { id?: unknown } }).event?.id);
  if (typeof id !== 'string' || id === '') throw new DecodeError(`a finding without an id (header ${FINDING_ID_HEADER} or event.id)`);
  return [{ id, key: record.key?.toString() ?? '', doc: doc as Record<string, unknown> }];
}

/** A finding a sink refused for good, as a dead letter: the document, its id and why. */
export function findingDeadLetter(f: EncodedFinding, reason: string, stage: string): OutgoingMessage {
  return {
    key: f.key,
    value: Buffer.from(JSON.stringify(f.doc)),
    headers: { [FINDING_ID_HEADER]: f.id, [DEAD_LETTER_HEADERS.reason]: reason.slice(0, 1000), [DEAD_LETTER_HEADERS.stage]: stage },
  };
}
