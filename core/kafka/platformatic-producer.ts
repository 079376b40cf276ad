/**
 * Producers on @platformatic/kafka. Chosen by measurement (bench/kafka-clients.ts): writing the receiver's shape
 * (one ~2.5 KB message per trace id, ~100 messages per produce call, acks=all, idempotent) it spends about a third of
 * the CPU kafkajs 2.2.4 does per message — kafkajs computes record-batch CRC32C in JS byte by byte and copies each
 * batch several times. Keys hash to partitions with Kafka's Java-compatible murmur2, as kafkajs and the Java client
 * do, so a trace id lands on the same partition whichever of them wrote it.
 */
import { compatibilityPartitioner, ProduceAcks, Producer as KafkaProducer, type MessageToProduce, type Partitioner } from '@platformatic/kafka';
import type { KafkaConfig } from '../config.ts';
import { UnavailableError } from '../errors.ts';
import type { OutgoingMessage, Producer } from './adapter.ts';
import { chunksBySize, REQUEST_BYTES } from './chunks.ts';
import { kafkaClientTls } from './tls.ts';

const SASL_MECHANISMS = { plain: 'PLAIN', 'scram-sha-256': 'SCRAM-SHA-256', 'scram-sha-512': 'SCRAM-SHA-512' } as const;

const asBuffer = (b: Buffer | Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

function headersOf(m: OutgoingMessage): Map<Buffer, Buffer> | undefined {
  if (!m.headers) return undefined;
  const out = new Map<Buffer, Buffer>();
  for (const [name, value] of Object.entries(m.headers)) {
    if (value !== undefined) out.set(Buffer.from(name), typeof value === 'string' ? Buffer.from(value) : value);
  }
  return out;
}

/** Keyed messages: Java-compatible murmur2 of the key; keyless ones round-robin (as kafkajs does). */
function partitionerFor(): Partitioner<Buffer, Buffer, Buffer, Buffer> {
  let next = 0;
  return (message, key) => {
    if (key) return compatibilityPartitioner(message, key);
    next = (next + 1) & 0x7fffffff;
    return next;
  };
}

/** A connected producer (acks=all, idempotent); throws UnavailableError naming the brokers if they do not answer. */
export async function createPlatformaticProducer(config: KafkaConfig): Promise<Producer> {
  const brokers = config.brokers.join(',');
  const producer = new KafkaProducer({
    clientId: config.clientId,
    bootstrapBrokers: config.brokers,
    connectTimeout: Math.min(config.connectTimeoutMs, 10_000),
    tls: kafkaClientTls(config.tls),
    sasl: config.sasl ? { mechanism: SASL_MECHANISMS[config.sasl.mechanism], username: config.sasl.username, password: config.sasl.password } : undefined,
    idempotent: true,
    acks: ProduceAcks.ALL,
    partitioner: partitionerFor(),
    autocreateTopics: true,
    // Bounded so an outage surfaces as an error the callers retry (the receiver answers 503, stages back off).
    retries: 3,
    retryDelay: 250,
  });
  try {
    await producer.metadata({ topics: [] });
  } catch (e) {
    await producer.close().catch(() => {});
    throw new UnavailableError('kafka', `brokers ${brokers} unreachable: ${(e as Error).message}`, { cause: e });
  }
  let closed = false;
  return {
    async send(topic: string, messages: OutgoingMessage[]) {
      if (messages.length === 0) return;
      if (closed) throw new UnavailableError('kafka', `produce to ${topic} failed: the producer is closed`);
      const out: MessageToProduce[] = new Array(messages.length);
      for (let i = 0; i < messages.length; i++) {
        const m = messages[i]!;
        out[i] = {
          topic,
          key: m.key === undefined ? undefined : typeof m.key === 'string' ? Buffer.from(m.key) : m.key,
          // A null value is a tombstone (undefined is written as a null record value).
          value: m.value === null ? undefined : asBuffer(m.value),
          headers: headersOf(m),
          partition: m.partition,
          timestamp: m.timestampMs === undefined ? undefined : BigInt(Math.floor(m.timestampMs)),
        };
      }
      try {
        // In order, each request under the broker's message limit (a large batch of state would be refused whole).
        const chunks = chunksBySize(messages, REQUEST_BYTES);
        if (chunks.length === 1) await producer.send({ messages: out });
        else {
          let at = 0;
          for (const chunk of chunks) {
            await producer.send({ messages: out.slice(at, at + chunk.length) });
            at += chunk.length;
          }
        }
      } catch (e) {
        throw new UnavailableError('kafka', `produce to ${topic} failed: ${(e as Error).message}`, { cause: e });
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await producer.close();
    },
  };
}
