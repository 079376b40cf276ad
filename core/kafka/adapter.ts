/**
 * Our Kafka contract. Stages talk to this interface only, so the client libraries (today kafkajs for consumers and
 * admin, @platformatic/kafka for producers, chosen by bench/kafka-clients.ts) can be swapped without touching them.
 */
export interface KafkaHeaders {
  [name: string]: string | Buffer | undefined;
}

export interface OutgoingMessage {
  key?: string | Buffer;
  /** `null`: a tombstone (deletes the key of a compacted topic). */
  value: Buffer | Uint8Array | null;
  headers?: KafkaHeaders;
  partition?: number;
  timestampMs?: number;
}

export interface IncomingRecord {
  topic: string;
  partition: number;
  /** Kafka offsets are int64: kept as decimal strings. */
  offset: string;
  key?: Buffer;
  value: Buffer;
  headers: KafkaHeaders;
  timestampMs: number;
}

/** Records of one partition handed to a stage; offsets are committed only when the stage says so. */
export interface RecordBatch {
  topic: string;
  partition: number;
  records: IncomingRecord[];
  /** Offset of the next record the broker has for this partition (for lag). */
  highWatermark: string;
  /** Commits `nextOffset` (the first offset NOT yet safely handled) with optional metadata. */
  commit(nextOffset: string, metadata?: string): Promise<void>;
  /** Keeps the group membership alive during long work. */
  heartbeat(): Promise<void>;
}

export interface CommittedOffset {
  partition: number;
  offset: string;
  metadata?: string;
}

export interface ConsumeOptions {
  groupId: string;
  topics: string[];
  /** Where a group without committed offsets starts. */
  fromBeginning: boolean;
  onBatch(batch: RecordBatch): Promise<void>;
  /** Called when partitions are assigned, before their first batch, with the group's committed offsets for them. */
  onAssign?(topic: string, committed: CommittedOffset[], partitions: number[]): Promise<void> | void;
}

export interface Consumer {
  stop(): Promise<void>;
}

export interface Producer {
  /** Resolves when every message is acknowledged by all in-sync replicas (acks=all). */
  send(topic: string, messages: OutgoingMessage[]): Promise<void>;
  close(): Promise<void>;
}

export interface TopicSpec {
  topic: string;
  partitions: number;
  /** Topic-level configs, e.g. `cleanup.policy: compact`. */
  config?: Record<string, string>;
}

export interface KafkaAdapter {
  producer(): Promise<Producer>;
  consume(options: ConsumeOptions): Promise<Consumer>;
  ensureTopics(topics: TopicSpec[]): Promise<void>;
  committedOffsets(groupId: string, topic: string): Promise<CommittedOffset[]>;
  /**
   * Every record of the given partitions from the beginning to their end as of the call, outside any consumer group
   * (restoring a changelog). A tombstone comes back with an empty value.
   */
  readToEnd(topic: string, partitions: readonly number[]): Promise<IncomingRecord[]>;
  /** Throws UnavailableError naming the brokers if they do not answer. */
  checkReachable(): Promise<void>;
  close(): Promise<void>;
}
