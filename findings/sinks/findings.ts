import type { Client } from '@elastic/elasticsearch';
import { writeResult, type Sink } from '../../core/component.ts';
import { bulkIndex } from '../../core/elasticsearch/client.ts';
import type { Producer } from '../../core/kafka/adapter.ts';
import { kafkaTopicSink } from '../../core/kafka/sink.ts';
import { DEAD_LETTER_HEADERS } from '../../core/kafka/dead-letter.ts';
import type { OutgoingMessage } from '../../core/kafka/adapter.ts';
import type { Finding } from '../finding.ts';

/** A finding with its ECS document and the id derived from (entity, detector, window). */
export interface EncodedFinding {
  finding: Finding;
  id: string;
  doc: Record<string, unknown>;
}

/** Findings into the write alias, under their ids: re-sending never duplicates. */
export function elasticsearchFindingsSink(client: Client, alias: string): Sink<EncodedFinding> {
  return { name: 'elasticsearch', write: (items) => writeResult(() => bulkIndex(client, alias, items.map((f) => ({ id: f.id, doc: f.doc })))) };
}

/** The SOC alert feed: the ECS document as JSON, keyed by entity so each entity's findings stay in order. */
export function kafkaFindingsSink(producer: Producer, topic: string): Sink<EncodedFinding> {
  const sink = kafkaTopicSink(producer, topic);
  return {
    name: sink.name,
    write: (items) => sink.write(items.map((f) => ({
      key: f.finding.entityId, value: Buffer.from(JSON.stringify(f.doc)), headers: { 'peregrine-finding-id': f.id },
    }))),
  };
}

/** A finding a sink refused for good, as a dead letter: the document, its id and why. */
export function findingDeadLetter(f: EncodedFinding, reason: string, stage: string): OutgoingMessage {
  return {
    key: f.finding.entityId,
    value: Buffer.from(JSON.stringify(f.doc)),
    headers: { 'peregrine-finding-id': f.id, [DEAD_LETTER_HEADERS.reason]: reason.slice(0, 1000), [DEAD_LETTER_HEADERS.stage]: stage },
  };
}
