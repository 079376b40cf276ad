import type { IncomingRecord, OutgoingMessage } from './adapter.ts';

export const DEAD_LETTER_HEADERS = {
  topic: 'peregrine-dlq-source-topic',
  partition: 'peregrine-dlq-source-partition',
  offset: 'peregrine-dlq-source-offset',
  reason: 'peregrine-dlq-reason',
  stage: 'peregrine-dlq-stage',
} as const;

/** The record as it came, with where it came from and why it could not be handled in its headers. */
export function deadLetter(record: IncomingRecord, reason: string, stage: string): OutgoingMessage {
  return {
    key: record.key,
    value: record.value,
    headers: {
      ...record.headers,
      [DEAD_LETTER_HEADERS.topic]: record.topic,
      [DEAD_LETTER_HEADERS.partition]: String(record.partition),
      [DEAD_LETTER_HEADERS.offset]: record.offset,
      [DEAD_LETTER_HEADERS.reason]: reason.slice(0, 1000),
      [DEAD_LETTER_HEADERS.stage]: stage,
    },
  };
}
