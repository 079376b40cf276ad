/**
 * The receivers' shared core: admission (in-flight bounds), request bytes → Kafka messages → Kafka, acknowledged
 * only once Kafka acknowledged them (acks=all). Concurrent requests to one topic are coalesced into one produce call
 * while the previous one is in flight, so throughput does not stop at one broker round trip per request.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { DecodeError, errorMessage } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { OutgoingMessage, Producer } from '../../core/kafka/adapter.ts';
import type { StageMetrics } from '../../core/metrics.ts';
import { checkTraceRequest, decodeLogsRequest, decodeMetricsRequest } from '../otlp/index.ts';
import { ReceiverError } from './responses.ts';
import { ITEM_NAMES, parseExportRequest, splitRequest, type Signal, type SplitOptions } from './split.ts';

export const RECEIVER_STAGE = 'receiver' as const;

export interface ExporterSettings {
  topics: Record<Signal, string>;
  maxMessageBytes: number;
  maxInFlightRequests: number;
  maxInFlightBytes: number;
  kafkaTimeoutMs: number;
  validate: 'full' | 'structure';
  partitionTracesById: boolean;
  partitionMetricsByResourceAttributes: boolean;
  partitionLogsByResourceAttributes: boolean;
}

export interface ExportOutcome {
  accepted: number;
  rejected: number;
  errorMessage: string;
}

export type Transport = 'http' | 'grpc';

/**
 * The pipeline's own decoders: what they reject would only be dead-lettered downstream. No event limit here. Spans
 * (the hot path) are only checked, with the decoder's own reading, without building events.
 */
const FULL_DECODE: Record<Signal, (bytes: Uint8Array) => unknown> = {
  traces: (b) => checkTraceRequest(b, { maxEvents: Number.MAX_SAFE_INTEGER }),
  metrics: (b) => decodeMetricsRequest(b, { maxEvents: Number.MAX_SAFE_INTEGER }),
  logs: (b) => decodeLogsRequest(b, { maxEvents: Number.MAX_SAFE_INTEGER }),
};

/** The receiver's own Prometheus series (next to the stage counters every stage keeps). */
export class ReceiverMetrics {
  readonly requests: Counter<'transport' | 'signal' | 'outcome'>;
  readonly items: Counter<'signal' | 'outcome'>;
  readonly bytes: Counter<'transport' | 'signal'>;
  readonly kafkaMessages: Counter<'topic'>;
  readonly kafkaLatency: Histogram<'topic'>;
  readonly inFlightRequests: Gauge;
  readonly inFlightBytes: Gauge;

  constructor(registry: Registry, readonly stage: StageMetrics) {
    const registers = [registry];
    this.requests = new Counter({ name: 'peregrine_receiver_requests_total', help: 'OTLP export requests by outcome (ok, partial, or the failure kind)', labelNames: ['transport', 'signal', 'outcome'], registers });
    this.items = new Counter({ name: 'peregrine_receiver_items_total', help: 'Spans, metric data points and log records accepted (in Kafka) or rejected', labelNames: ['signal', 'outcome'], registers });
    this.bytes = new Counter({ name: 'peregrine_receiver_received_bytes_total', help: 'Request body bytes as received (before decompression)', labelNames: ['transport', 'signal'], registers });
    this.kafkaMessages = new Counter({ name: 'peregrine_receiver_kafka_messages_total', help: 'Kafka messages written and acknowledged', labelNames: ['topic'], registers });
    this.kafkaLatency = new Histogram({
      name: 'peregrine_receiver_kafka_latency_seconds', help: 'Time from produce to Kafka acknowledging (acks=all)', labelNames: ['topic'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers,
    });
    this.inFlightRequests = new Gauge({ name: 'peregrine_receiver_inflight_requests', help: 'Requests held until Kafka acknowledges them', registers });
    this.inFlightBytes = new Gauge({ name: 'peregrine_receiver_inflight_bytes', help: 'Decompressed request bytes held until Kafka acknowledges them', registers });
  }
}

/** Bounds what is held in memory: a request slot from the first byte, its bytes once decompressed. */
export class Admission {
  requests = 0;
  bytes = 0;
  constructor(private readonly maxRequests: number, private readonly maxBytes: number, private readonly metrics?: ReceiverMetrics) {}

  /** A slot for a new request, or undefined when the receiver is full. */
  enter(): AdmissionTicket | undefined {
    if (this.requests >= this.maxRequests) return undefined;
    this.requests++;
    this.metrics?.inFlightRequests.set(this.requests);
    return new AdmissionTicket(this);
  }

  /** @internal */
  take(n: number): boolean {
    if (this.bytes + n > this.maxBytes && this.bytes > 0) return false;
    this.bytes += n;
    this.metrics?.inFlightBytes.set(this.bytes);
    return true;
  }

  /** @internal */
  give(requests: number, bytes: number): void {
    this.requests -= requests;
    this.bytes -= bytes;
    this.metrics?.inFlightRequests.set(this.requests);
    this.metrics?.inFlightBytes.set(this.bytes);
  }
}

export class AdmissionTicket {
  private bytes = 0;
  private released = false;
  constructor(private readonly admission: Admission) {}

  /** Reserves `n` more bytes; throws an `overloaded` ReceiverError when over the in-flight byte bound. */
  reserve(n: number): void {
    if (!this.admission.take(n)) throw new ReceiverError('overloaded', `receiver is holding ${this.admission.bytes} bytes for Kafka, the most it holds; retry later`);
    this.bytes += n;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.admission.give(1, this.bytes);
  }
}

/** Messages of one write, sent in one produce call; a write too big for one batch is several chunks. */
interface Chunk {
  messages: OutgoingMessage[];
  bytes: number;
  write: PendingWrite;
}

interface PendingWrite {
  chunksLeft: number;
  /** Chunks handed to the producer and not settled yet. */
  inFlight: number;
  failed: boolean;
  resolve(): void;
  reject(e: unknown): void;
  /** Called once nothing of the write is queued or in flight any more (its bytes can be freed). */
  onSettled(): void;
  settledCalled: boolean;
}

/** What a write hands back: acknowledgement, cancellation, and when its memory is free. */
export interface WriteHandle {
  /** Resolves once Kafka acknowledged every message (acks=all); rejects with the producer's first error. */
  acked: Promise<void>;
  /** Drops the chunks not yet sent (the client was told to retry) and rejects `acked`. */
  cancel(reason: Error): void;
  /** Resolves when no chunk of the write is queued or in flight. */
  settled: Promise<void>;
}

/** Kafka's record and batch framing per message, beyond value and key (a safe upper bound for small headers). */
const RECORD_OVERHEAD = 32;

const messageCost = (m: OutgoingMessage) => (m.value?.length ?? 0) + (m.key?.length ?? 0) + RECORD_OVERHEAD;

function maybeSettled(w: PendingWrite): void {
  if (!w.settledCalled && w.inFlight === 0 && (w.failed || w.chunksLeft === 0)) {
    w.settledCalled = true;
    w.onSettled();
  }
}

/**
 * One producer, per-topic coalescing of concurrent writes. Kafka checks `message.max.bytes` against a whole record
 * batch (all messages of one produce call for one partition), so no produce call carries more than
 * `maxBatchBytes` — which keeps every partition's batch under the limit whatever partitions the keys hash to.
 */
export class KafkaWriter {
  private readonly queues = new Map<string, { chunks: Chunk[]; busy: boolean }>();

  constructor(private readonly producer: Producer, private readonly maxBatchBytes: number, private readonly metrics?: ReceiverMetrics) {}

  write(topic: string, messages: OutgoingMessage[]): WriteHandle {
    let queue = this.queues.get(topic);
    if (!queue) this.queues.set(topic, (queue = { chunks: [], busy: false }));
    const q = queue;
    let write!: PendingWrite;
    let onSettled!: () => void;
    const settled = new Promise<void>((resolve) => { onSettled = resolve; });
    const acked = new Promise<void>((resolve, reject) => {
      write = { chunksLeft: 0, inFlight: 0, failed: false, resolve, reject, onSettled, settledCalled: false };
    });
    let chunk: Chunk | undefined;
    for (const m of messages) {
      const cost = messageCost(m);
      if (!chunk || chunk.bytes + cost > this.maxBatchBytes) {
        chunk = { messages: [], bytes: 0, write };
        write.chunksLeft++;
        q.chunks.push(chunk);
      }
      chunk.messages.push(m);
      chunk.bytes += cost;
    }
    if (write.chunksLeft === 0) write.resolve();
    maybeSettled(write);
    if (!q.busy && q.chunks.length) void this.drain(topic, q);
    return {
      acked,
      settled,
      cancel: (reason: Error) => {
        if (write.failed || write.chunksLeft === 0) return;
        write.failed = true;
        write.reject(reason);
        this.dropFailed(q);
        maybeSettled(write);
      },
    };
  }

  private dropFailed(queue: { chunks: Chunk[] }): void {
    for (let i = queue.chunks.length - 1; i >= 0; i--) if (queue.chunks[i]!.write.failed) queue.chunks.splice(i, 1);
  }

  private async drain(topic: string, queue: { chunks: Chunk[]; busy: boolean }): Promise<void> {
    queue.busy = true;
    while (queue.chunks.length) {
      const batch: Chunk[] = [];
      let bytes = 0;
      while (queue.chunks.length && (batch.length === 0 || bytes + queue.chunks[0]!.bytes <= this.maxBatchBytes)) {
        const c = queue.chunks.shift()!;
        c.write.inFlight++;
        batch.push(c);
        bytes += c.bytes;
      }
      const started = performance.now();
      try {
        await this.producer.send(topic, batch.flatMap((c) => c.messages));
        this.metrics?.kafkaLatency.observe({ topic }, (performance.now() - started) / 1000);
        this.metrics?.kafkaMessages.inc({ topic }, batch.reduce((n, c) => n + c.messages.length, 0));
        for (const c of batch) {
          c.write.inFlight--;
          if (--c.write.chunksLeft === 0 && !c.write.failed) c.write.resolve();
        }
      } catch (e) {
        for (const c of batch) {
          c.write.inFlight--;
          if (c.write.failed) continue;
          c.write.failed = true;
          c.write.reject(e);
        }
        // Chunks of a failed write still queued are dropped: the client is told to retry the whole request.
        this.dropFailed(queue);
      }
      for (const c of batch) maybeSettled(c.write);
    }
    queue.busy = false;
  }
}

/** Request bytes (protobuf) → split messages → Kafka. */
export class OtlpExporter {
  readonly admission: Admission;
  private readonly writer: KafkaWriter;

  constructor(private readonly settings: ExporterSettings, producer: Producer, readonly metrics: ReceiverMetrics, private readonly log: Logger) {
    this.admission = new Admission(settings.maxInFlightRequests, settings.maxInFlightBytes, metrics);
    this.writer = new KafkaWriter(producer, settings.maxMessageBytes, metrics);
  }

  private partition(signal: Signal): SplitOptions['partition'] {
    const s = this.settings;
    if (signal === 'traces') return s.partitionTracesById ? 'traceId' : 'none';
    if (signal === 'metrics') return s.partitionMetricsByResourceAttributes ? 'resource' : 'none';
    return s.partitionLogsByResourceAttributes ? 'resource' : 'none';
  }

  /**
   * Writes one request; resolves only after Kafka acknowledged it. The ticket's bytes stay reserved until the
   * produce call settles, even when the client was already told to retry (so memory stays bounded).
   */
  async export(signal: Signal, body: Uint8Array, ticket: AdmissionTicket): Promise<ExportOutcome> {
    let handedOff = false;
    try {
      const { outcome, write } = this.send(signal, body);
      if (!write) return outcome;
      handedOff = true;
      void write.settled.then(() => ticket.release());
      await this.acknowledged(signal, write);
      this.metrics.items.inc({ signal, outcome: 'accepted' }, outcome.accepted);
      this.metrics.stage.recordsOut.inc({ stage: RECEIVER_STAGE }, outcome.accepted);
      return outcome;
    } finally {
      if (!handedOff) ticket.release();
    }
  }

  private send(signal: Signal, body: Uint8Array): { outcome: ExportOutcome; write?: WriteHandle } {
    const stage = this.metrics.stage;
    let parsed;
    try {
      const full = this.settings.validate === 'full';
      // The full decode checks every field; the framing scan then only has to find the items and trace ids.
      if (full) {
        try {
          FULL_DECODE[signal](body);
        } catch (e) {
          if (e instanceof DecodeError) throw new ReceiverError('malformed', `${ITEM_NAMES[signal].request}: ${e.message}`);
          throw e;
        }
      }
      parsed = parseExportRequest(signal, body, { traceIds: signal === 'traces' && this.settings.partitionTracesById, checkItems: !full });
    } catch (e) {
      if (e instanceof DecodeError) throw new ReceiverError('malformed', e.message);
      throw e;
    }
    stage.recordsIn.inc({ stage: RECEIVER_STAGE }, parsed.count);
    const split = splitRequest(parsed, { maxMessageBytes: this.settings.maxMessageBytes, partition: this.partition(signal) });
    const outcome: ExportOutcome = { accepted: split.accepted, rejected: split.rejected, errorMessage: split.errors.join('; ') };
    if (split.rejected) {
      this.metrics.items.inc({ signal, outcome: 'rejected' }, split.rejected);
      stage.recordsDropped.inc({ stage: RECEIVER_STAGE, reason: 'rejected' }, split.rejected);
    }
    if (split.messages.length === 0) return { outcome };
    const write = this.writer.write(this.settings.topics[signal], split.messages.map((m) => ({ key: m.key, value: m.value })));
    return { outcome, write };
  }

  /** Waits for Kafka's acknowledgement up to kafkaTimeoutMs; after that the unsent rest is dropped and the client retries. */
  private async acknowledged(signal: Signal, write: WriteHandle): Promise<void> {
    const stage = this.metrics.stage;
    const topic = this.settings.topics[signal];
    const timer = setTimeout(() => {
      write.cancel(new ReceiverError('unavailable', `Kafka did not acknowledge within ${this.settings.kafkaTimeoutMs} ms; retry later`));
    }, this.settings.kafkaTimeoutMs);
    try {
      await write.acked;
    } catch (e) {
      stage.errors.inc({ stage: RECEIVER_STAGE, kind: 'produce' });
      if (e instanceof ReceiverError) throw e;
      this.log.warn({ topic, err: errorMessage(e) }, 'Kafka did not take a request; the client is told to retry');
      throw new ReceiverError('unavailable', `Kafka is unavailable (${errorMessage(e)}); retry later`);
    } finally {
      clearTimeout(timer);
    }
  }
}

export function describeOutcome(signal: Signal, outcome: ExportOutcome): string {
  return `${outcome.accepted} ${ITEM_NAMES[signal].items} accepted, ${outcome.rejected} rejected`;
}
