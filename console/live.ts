/**
 * Live findings: the console tails the SOC alert feed (`peregrine.findings.v1`) and pushes each finding to open pages
 * once Elasticsearch shows it (the findings stage indexes the feed; `IndexGate` checks the alias for the ids it waits
 * for, every second). Tailing pushes a finding without polling Elasticsearch for new documents, and a finding about
 * an old window (a replay, a late window) shows up too, which a cursor on @timestamp would miss. Each console reads
 * the feed in a consumer group of its own, from the end, and never commits (an empty group without offsets leaves
 * nothing behind in Kafka).
 *
 * The recent findings are also kept for a minute: a page that connects replays them, which covers a finding indexed
 * just before the page's first list query could see it.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { KafkaAdapter, RecordBatch } from '../core/kafka/adapter.ts';
import type { Logger } from '../core/log.ts';
import { ensureTopics, type TopicNames } from '../core/topics.ts';
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

/**
 * Holds findings read from the feed until the findings alias shows them, then publishes them. One that is still not
 * there after `waitMs` (the indexer is down or behind) is published anyway: the page then serves the feed's copy. At
 * most `maxPending` wait; past that the oldest goes out at once.
 */
export class IndexGate {
  private readonly pending = new Map<string, { document: FindingDocument; sinceMs: number }>();
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(private readonly options: {
    /** The ids among these that searches of the findings alias return. */
    indexed(ids: string[]): Promise<Set<string>>;
    publish(id: string, document: FindingDocument): void;
    log: Logger;
    waitMs?: number;
    maxPending?: number;
    now?: () => number;
  }) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  add(id: string, document: FindingDocument): void {
    this.pending.delete(id);
    this.pending.set(id, { document, sinceMs: this.now() });
    while (this.pending.size > (this.options.maxPending ?? 10_000)) this.release(this.pending.keys().next().value as string);
  }

  get waiting(): number {
    return this.pending.size;
  }

  private release(id: string): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.pending.delete(id);
    this.options.publish(id, entry.document);
  }

  /** One round: publishes what is indexed now, and what waited too long. */
  async check(): Promise<void> {
    if (this.checking || this.pending.size === 0) return;
    this.checking = true;
    try {
      const ids = [...this.pending.keys()].slice(0, 1000);
      const found = await this.options.indexed(ids).catch((e: unknown) => {
        this.options.log.warn({ err: (e as Error).message }, 'cannot check the findings alias; findings wait');
        return new Set<string>();
      });
      for (const id of ids) if (found.has(id)) this.release(id);
      const tooOld = this.now() - (this.options.waitMs ?? 30_000);
      const late = [...this.pending].filter(([, e]) => e.sinceMs <= tooOld).map(([id]) => id);
      if (late.length > 0) this.options.log.warn({ findings: late.length }, 'findings on the feed are not in Elasticsearch yet; shown anyway');
      for (const id of late) this.release(id);
    } finally {
      this.checking = false;
    }
  }

  start(intervalMs = 1000): void {
    this.timer = setInterval(() => void this.check(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** Tails the alert feed into `gate`; resolves once the consumer runs. */
export async function tailFindings(kafka: KafkaAdapter, options: {
  topics: TopicNames; gate: IndexGate; log: Logger; onRecord(): void; onBad(reason: string): void;
}): Promise<{ stop(): Promise<void> }> {
  // From the topic table, as the detectors stage creates it: reading it first must not create it otherwise.
  await ensureTopics(kafka, options.topics, ['findings']);
  const topic = options.topics.findings;
  let joined: () => void = () => undefined;
  const assigned = new Promise<void>((resolve) => { joined = resolve; });
  const consumer = await kafka.consume({
    groupId: `peregrine-console-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
    topics: [topic],
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
        options.gate.add(found.id, found.document);
      }
    },
  });
  // Reading from the end starts where the end is once the group is joined: wait for that, so a finding written after
  // start-up is not skipped. A slow join only delays live updates (the list still reads Elasticsearch).
  const timer = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), JOIN_WAIT_MS).unref());
  if ((await Promise.race([assigned, timer])) === 'late') options.log.warn({ topic, waitedMs: JOIN_WAIT_MS }, 'the alert feed consumer has not joined its group yet; live updates start when it does');
  return consumer;
}
