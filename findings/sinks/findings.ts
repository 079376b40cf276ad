import type { Client } from '@elastic/elasticsearch';
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

/** Findings into the write alias, under their ids: re-sending never duplicates. */
export function elasticsearchFindingsSink(client: Client, alias: string): Sink<EncodedFinding> {
  return { name: 'elasticsearch', write: (items) => writeResult(() => bulkIndex(client, alias, items.map((f) => ({ id: f.id, doc: f.doc })))) };
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
