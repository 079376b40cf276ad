/**
 * The consumer path's cost beside the collector's: Peregrine's Kafka consumer (the adapter's consumer group) plus the
 * OTLP decoder over a pre-filled spans topic (the receiver's shape: one message per trace id, 5 spans each; no
 * windows, no features), and the stock collector's kafka receiver into a nop exporter (the stack's Jaeger binary)
 * over the same topic, in one run. Both are timed in steady state, from the first 10% of the topic read to the end,
 * so neither's start-up (group join, process start) counts.
 *
 * `measureConsumerPath()` is for bench:features; run alone: `node --import tsx bench/consumer-path.ts [--spans 300000]`.
 */
import { randomUUID } from 'node:crypto';
import { KafkaConfig } from '../core/config.ts';
import { createKafkaAdapter } from '../core/kafka/kafkajs.ts';
import { createLogger } from '../core/log.ts';
import { decodeTraces } from '../ingest/otlp/index.ts';
import { prefillTopic, receiverProduceCalls, traceRequests } from './kafka-shape.ts';
import { startStockCollector } from './stock-collector.ts';

export interface ConsumerPathResult {
  /** Spans consumed and decoded per CPU-second of Peregrine's consuming process. */
  spans_per_cpu_sec: number;
  cpu_s_per_million_spans: number;
  /** The same for the collector's kafka receiver → nop exporter. */
  collector_spans_per_cpu_sec: number;
  collector_cpu_s_per_million_spans: number;
  /** Ours / the collector's, in spans per CPU-second (above 1: ours is cheaper). */
  ratio_vs_collector: number;
  spans: number;
  messages: number;
}

const STEADY_FROM = 0.1;
const cpuSeconds = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1e6; };

/** Fills a fresh topic with `spans` spans, then times both consumers over it. */
export async function measureConsumerPath(options: { spans?: number; timeoutMs?: number } = {}): Promise<ConsumerPathResult> {
  const config = KafkaConfig.parse({});
  const log = createLogger({ level: 'error', pretty: false });
  const kafka = createKafkaAdapter(config, log);
  const run = randomUUID().slice(0, 8);
  const topic = `bench-consumer-path-${run}`;
  const timeoutMs = options.timeoutMs ?? 300_000;
  try {
    await kafka.ensureTopics([{ topic, partitions: 6 }]);
    const producer = await kafka.producer();
    const filled = await prefillTopic(producer, topic, options.spans ?? 300_000, receiverProduceCalls(traceRequests(16, 512, 5)));
    await producer.close();

    // Ours: consume + decode every record, as the features stage's input side does.
    let spans = 0;
    let steady: { cpu: number; spans: number } | undefined;
    let done!: () => void;
    const finished = new Promise<void>((r) => { done = r; });
    const consumer = await kafka.consume({
      groupId: `bench-consumer-path-${run}`, topics: [topic], fromBeginning: true,
      onBatch: async (batch) => {
        for (const record of batch.records) spans += decodeTraces(record.value, 'otlp_proto').length;
        if (!steady && spans >= filled.spans * STEADY_FROM) steady = { cpu: cpuSeconds(), spans };
        if (spans >= filled.spans) done();
      },
    });
    await withTimeout(finished, timeoutMs, 'Peregrine consumer');
    const oursCpu = cpuSeconds() - steady!.cpu;
    const oursSpans = spans - steady!.spans;
    await consumer.stop();

    // The collector's kafka receiver over the same topic, its own group.
    const collector = await startStockCollector({ mode: 'kafka-receiver', topics: { traces: topic, metrics: `${topic}-m`, logs: `${topic}-l` }, groupId: `bench-collector-${run}` });
    let theirs: { cpu: number; spans: number };
    try {
      const accepted = () => collector.counter('otelcol_receiver_accepted_spans_total');
      const deadline = Date.now() + timeoutMs;
      let start: { cpu: number; spans: number } | undefined;
      for (;;) {
        const n = await accepted();
        if (!start && n >= filled.spans * STEADY_FROM) start = { cpu: collector.cpuSeconds(), spans: n };
        if (n >= filled.spans) {
          theirs = { cpu: collector.cpuSeconds() - start!.cpu, spans: n - start!.spans };
          break;
        }
        if (Date.now() > deadline) throw new Error(`the collector's kafka receiver read ${n} of ${filled.spans} spans in ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await collector.stop();
    }
    const ours = oursSpans / oursCpu;
    const collectorRate = theirs.spans / theirs.cpu;
    return {
      spans_per_cpu_sec: Math.round(ours),
      cpu_s_per_million_spans: Number((1e6 / ours).toFixed(2)),
      collector_spans_per_cpu_sec: Math.round(collectorRate),
      collector_cpu_s_per_million_spans: Number((1e6 / collectorRate).toFixed(2)),
      ratio_vs_collector: Number((ours / collectorRate).toFixed(2)),
      spans: filled.spans,
      messages: filled.messages,
    };
  } finally {
    await kafka.close();
  }
}

async function withTimeout(promise: Promise<void>, ms: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms); })]);
  clearTimeout(timer);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf('--spans');
  console.log(JSON.stringify(await measureConsumerPath({ spans: i > 0 ? Number(process.argv[i + 1]) : undefined })));
  process.exit(0);
}
