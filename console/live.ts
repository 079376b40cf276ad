/**
 * Live findings: the console tails the SOC alert feed (`peregrine.findings.v1`). The detectors stage sends a finding
 * there only after Elasticsearch acknowledged it, so a finding on the feed is indexed; tailing pushes it to open pages
 * at once without polling Elasticsearch, and a finding about an old window (a replay, a late window) shows up too,
 * which a cursor on @timestamp would miss. Each console reads the feed in a consumer group of its own, from the
 * end, and never commits (an empty group without offsets leaves nothing behind in Kafka).
 *
 * The recent findings are also kept for a minute: a page that connects replays them, which covers a finding indexed
 * just before the page's first list query could see it (Elasticsearch search sees a document after its refresh).
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { KafkaAdapter, RecordBatch } from '../core/kafka/adapter.ts';
import type { Logger } from '../core/log.ts';
import { summarize, type FindingDocument, type FindingSummary } from './findings.ts';

export interface LiveFinding {
  summary: FindingSummary;
  document: FindingDocument;
  receivedMs: number;
}

const MAX_MESSAGE_BYTES = 1_048_576;
const JOIN_WAIT_MS = 30_000;

/** Fans findings out to subscribers and keeps the recent ones (bounded by count and age). */
export class LiveFindings {
  private readonly recent: LiveFinding[] = [];
  private readonly subscribers = new Set<(f: LiveFinding) => void>();

  constructor(private readonly options: { keepMs: number; keepMax: number; now?: () => number } = { keepMs: 60_000, keepMax: 500 }) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  publish(summary: FindingSummary, document: FindingDocument): void {
    const finding = { summary, document, receivedMs: this.now() };
    this.recent.push(finding);
    this.prune();
    for (const subscriber of this.subscribers) subscriber(finding);
  }

  private prune(): void {
    const oldest = this.now() - this.options.keepMs;
    while (this.recent.length > 0 && (this.recent.length > this.options.keepMax || this.recent[0]!.receivedMs < oldest)) this.recent.shift();
  }

  /** The findings received in the last `keepMs`, oldest first. */
  recentFindings(): LiveFinding[] {
    this.prune();
    return [...this.recent];
  }

  /** The recent document of a finding (Elasticsearch may not show it to searches for a second after indexing). */
  recentDocument(id: string): FindingDocument | undefined {
    return this.recent.findLast((f) => f.summary.id === id)?.document;
  }

  subscribe(listener: (f: LiveFinding) => void): () => void {
    this.subscribers.add(listener);
    return () => this.subscribers.delete(listener);
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }
}

/** A record of the alert feed as a finding, or why it is not one. */
export function findingOfRecord(value: Buffer, headerId: string | Buffer | undefined): { id: string; document: FindingDocument } | string {
  if (value.length > MAX_MESSAGE_BYTES) return `message of ${value.length} bytes is larger than ${MAX_MESSAGE_BYTES}`;
  let document: unknown;
  try {
    document = JSON.parse(value.toString('utf8'));
  } catch {
    return 'not JSON';
  }
  if (document === null || typeof document !== 'object' || Array.isArray(document)) return 'not a JSON object';
  const id = headerId !== undefined ? headerId.toString() : (document as FindingDocument).event?.id;
  if (typeof id !== 'string' || id === '') return 'no finding id (header peregrine-finding-id or event.id)';
  return { id, document: document as FindingDocument };
}

/** Tails the alert feed into `live`; resolves once the consumer runs. */
export async function tailFindings(kafka: KafkaAdapter, options: {
  topic: string; partitions: number; live: LiveFindings; log: Logger; onRecord(): void; onBad(reason: string): void;
}): Promise<{ stop(): Promise<void> }> {
  // The detectors stage creates it the same way; creating it first here keeps its partition count.
  await kafka.ensureTopics([{ topic: options.topic, partitions: options.partitions }]);
  let joined: () => void = () => undefined;
  const assigned = new Promise<void>((resolve) => { joined = resolve; });
  const consumer = await kafka.consume({
    groupId: `peregrine-console-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
    topics: [options.topic],
    fromBeginning: false,
    onAssign: () => joined(),
    onBatch: async (batch: RecordBatch) => {
      for (const record of batch.records) {
        options.onRecord();
        const found = findingOfRecord(record.value, record.headers['peregrine-finding-id']);
        if (typeof found === 'string') {
          options.log.warn({ topic: record.topic, partition: record.partition, offset: record.offset, reason: found }, 'skipped a record of the alert feed');
          options.onBad(found);
          continue;
        }
        options.live.publish(summarize(found.id, found.document), found.document);
      }
    },
  });
  // Reading from the end starts where the end is once the group is joined: wait for that, so a finding written after
  // start-up is not skipped. A slow join only delays live updates (the list still reads Elasticsearch).
  const timer = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), JOIN_WAIT_MS).unref());
  if ((await Promise.race([assigned, timer])) === 'late') options.log.warn({ topic: options.topic, waitedMs: JOIN_WAIT_MS }, 'the alert feed consumer has not joined its group yet; live updates start when it does');
  return consumer;
}
