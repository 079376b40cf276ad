/**
 * `npm run bench:kafka-clients`: the candidate Kafka clients in the receiver's real shape, side by side in one run —
 * CPU seconds per million spans to produce (one ~2.5 KB message per trace id, one produce call per 512-span
 * request, acks=all, idempotent, at the receiver benchmark's 7,500 spans/s) and to consume the same messages back
 * from a consumer group. Rounds alternate between the clients so that all see the same machine load.
 *
 *   npm run bench:kafka-clients -- [--seconds 8] [--rounds 2] [--rate 7500]
 *
 * Candidates: kafkajs 2.2.4 (configured as Peregrine's adapter had it) and @platformatic/kafka (Peregrine's
 * producer). @confluentinc/kafka-javascript is not among them: its install downloads a prebuilt librdkafka binding
 * from GitHub, which this project's machines cannot reach. The last line of stdout is one JSON object.
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { Consumer as PlatformaticConsumer, MessagesStreamModes } from '@platformatic/kafka';
import { KafkaConfig } from '../core/config.ts';
import type { Producer } from '../core/kafka/adapter.ts';
import { createKafkaAdapter } from '../core/kafka/kafkajs.ts';
import { createPlatformaticProducer } from '../core/kafka/platformatic-producer.ts';
import { createLogger } from '../core/log.ts';
import { prefillTopic, receiverProduceCalls, traceRequests, type ProduceCall } from './kafka-shape.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '2' },
    rate: { type: 'string', default: '7500' },
  },
});

const config = KafkaConfig.parse({});
const log = createLogger({ level: 'error', pretty: false });
const cpuSeconds = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1e6; };

/** kafkajs as Peregrine's adapter configured it before the switch (idempotent, one request in flight, acks=all). */
async function kafkajsProducer(): Promise<Producer> {
  const kafka = new Kafka({ clientId: 'peregrine-bench', brokers: config.brokers, logLevel: logLevel.ERROR });
  const p = kafka.producer({ allowAutoTopicCreation: true, idempotent: true, maxInFlightRequests: 1 });
  await p.connect();
  return {
    send: async (topic, messages) => {
      await p.send({ topic, acks: -1, compression: CompressionTypes.None, messages: messages.map((m) => ({ key: m.key ?? null, value: m.value as Buffer })) });
    },
    close: () => p.disconnect(),
  };
}

/** Produces at `rate` spans/s for `seconds`; CPU seconds per million spans acknowledged. */
async function produceCost(producer: Producer, topic: string, calls: ProduceCall[], seconds: number, rate: number): Promise<number> {
  for (let i = 0; i < 5; i++) await producer.send(topic, calls[i % calls.length]!.messages); // warm-up
  const interval = (calls[0]!.spans / rate) * 1000;
  const cpu0 = cpuSeconds();
  const t0 = performance.now();
  let due = t0;
  let spans = 0;
  for (let i = 0; performance.now() - t0 < seconds * 1000; i++) {
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    due += interval;
    const call = calls[i % calls.length]!;
    await producer.send(topic, call.messages);
    spans += call.spans;
  }
  return ((cpuSeconds() - cpu0) / spans) * 1e6;
}

/** Reads `messages` records of `topic` from the beginning with the adapter's kafkajs consumer group. */
async function kafkajsConsume(topic: string, messages: number): Promise<void> {
  const adapter = createKafkaAdapter(config, log);
  let seen = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => { done = r; });
  const consumer = await adapter.consume({
    groupId: `bench-kafkajs-${randomUUID().slice(0, 8)}`, topics: [topic], fromBeginning: true,
    onBatch: async (batch) => {
      seen += batch.records.length;
      if (seen >= messages) done();
    },
  });
  await finished;
  await consumer.stop();
  await adapter.close();
}

async function platformaticConsume(topic: string, messages: number): Promise<void> {
  const consumer = new PlatformaticConsumer({ clientId: 'peregrine-bench', bootstrapBrokers: config.brokers, groupId: `bench-platformatic-${randomUUID().slice(0, 8)}` });
  const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false, maxBytesPerPartition: 4 * 1024 * 1024 });
  let seen = 0;
  for await (const _ of stream) if (++seen >= messages) break;
  await stream.close();
  await consumer.close(true);
}

async function consumeCost(consume: (topic: string, messages: number) => Promise<void>, topic: string, filled: { spans: number; messages: number }): Promise<number> {
  const cpu0 = cpuSeconds();
  await consume(topic, filled.messages);
  return ((cpuSeconds() - cpu0) / filled.spans) * 1e6;
}

const CLIENTS = {
  kafkajs: { producer: kafkajsProducer, consume: kafkajsConsume },
  '@platformatic/kafka': { producer: () => createPlatformaticProducer(config), consume: platformaticConsume },
} as const;
type ClientName = keyof typeof CLIENTS;

async function main(): Promise<void> {
  const seconds = Number(values.seconds);
  const rate = Number(values.rate);
  const calls = receiverProduceCalls(traceRequests(16, 512, 5));
  const admin = createKafkaAdapter(config, log);
  const run = randomUUID().slice(0, 8);
  const produced: Record<string, number[]> = {};
  const consumed: Record<string, number[]> = {};
  // One prefilled topic that every consumer reads whole (each with its own group).
  const readTopic = `bench-clients-read-${run}`;
  await admin.ensureTopics([{ topic: readTopic, partitions: 6 }]);
  const filler = await createPlatformaticProducer(config);
  const filled = await prefillTopic(filler, readTopic, 150_000, calls);
  await filler.close();
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const name of Object.keys(CLIENTS) as ClientName[]) {
      const topic = `bench-clients-${name.replace(/\W/g, '')}-${run}-${round}`;
      await admin.ensureTopics([{ topic, partitions: 6 }]);
      const producer = await CLIENTS[name].producer();
      (produced[name] ??= []).push(await produceCost(producer, topic, calls, seconds, rate));
      await producer.close();
      (consumed[name] ??= []).push(await consumeCost(CLIENTS[name].consume, readTopic, filled));
    }
  }
  await admin.close();
  const mean = (xs: number[]) => Number((xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(2));
  const result = {
    produce_cpu_s_per_million_spans: Object.fromEntries(Object.entries(produced).map(([k, v]) => [k, mean(v)])),
    consume_cpu_s_per_million_spans: Object.fromEntries(Object.entries(consumed).map(([k, v]) => [k, mean(v)])),
    spans_per_message: 5,
    bytes_per_message: Math.round(calls.reduce((n, c) => n + c.messages.reduce((m, x) => m + (x.value?.length ?? 0), 0), 0) / calls.reduce((n, c) => n + c.messages.length, 0)),
    messages_per_produce_call: Math.round(calls.reduce((n, c) => n + c.messages.length, 0) / calls.length),
    produce_rate_spans_per_sec: rate,
    consumed_messages: filled.messages,
    rounds: Number(values.rounds),
    load_average_1m: Number(loadavg()[0]!.toFixed(2)),
    node: process.version,
  };
  console.log(JSON.stringify(result));
}

await main();
process.exit(0);
