import { afterAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { SpanKind } from '@opentelemetry/api';
import { loadAppConfig } from './config.ts';
import { createElasticsearchClient } from '../core/elasticsearch/client.ts';
import { createKafkaAdapter } from '../core/kafka/kafkajs.ts';
import { createLogger } from '../core/log.ts';
import { startPipeline } from './runtime.ts';
import { encodeTraceRequest, sdkSpans, type TestSpan } from '../core/testing/otlp-spans.ts';
import { DEAD_LETTER_HEADERS } from '../core/kafka/dead-letter.ts';
import { committedTotal, deleteFindingsIndex, isolatedConfig, waitFor } from './testing/pipeline.ts';

const log = createLogger({ level: 'warn', pretty: false });
const run = randomUUID().slice(0, 8);
const es = createElasticsearchClient(loadAppConfig({ env: {} }).elasticsearch);
const config = (groups: string) => isolatedConfig(`pipeline-${run}`, { groups });
afterAll(async () => {
  await deleteFindingsIndex(es, config('a').elasticsearch.findingsAlias);
  await es.close();
});

/**
 * Event times an hour before the run, on a minute boundary: recent, as the features stage expects of live data (it
 * drops events older than `features.maxPastMs` before the record that carries them).
 */
const T0 = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000;

/** Ten 10 s windows of GetProduct: normal, then windows 6–7 with 50% errors. */
function scenario(): TestSpan[] {
  const t0 = T0;
  const spans: TestSpan[] = [];
  for (let w = 0; w < 10; w++) {
    for (let i = 0; i < 20; i++) {
      const failing = (w === 6 || w === 7) && i % 2 === 0;
      spans.push({
        service: 'productcatalogservice', name: 'GetProduct', kind: SpanKind.SERVER, startMs: t0 + w * 10_000 + i * 450, durationMs: 3 + (i % 5),
        error: failing ? 'Product Catalog Fail Feature Flag Enabled' : undefined, attributes: { 'app.product.id': failing ? 'OLJCESPC7Z' : `P${i}`, 'rpc.system': 'grpc' },
      });
    }
  }
  return spans;
}

async function countFindings(alias: string): Promise<{ total: number; ids: string[] }> {
  await es.indices.refresh({ index: alias });
  const r = await es.search({ index: alias, size: 100, query: { term: { 'service.name': 'productcatalogservice' } } });
  return { total: (r.hits.total as { value: number }).value, ids: r.hits.hits.map((h) => h._id!).sort() };
}

describe('pipeline on the real stack: otlp_spans → features → detectors → Elasticsearch', () => {
  it('indexes one finding for the failing windows (grouped by triage), dead-letters garbage, and a replay from the start adds no duplicate', async () => {
    const cfg = config('a');
    const kafka = createKafkaAdapter(cfg.kafka, log);
    await kafka.ensureTopics([{ topic: cfg.topics.spans, partitions: 3 }]);
    const producer = await kafka.producer();
    const spans = await sdkSpans(scenario());
    // One request per window's worth of spans, several messages like a collector's batches; plus one garbage message.
    for (let i = 0; i < spans.length; i += 50) await producer.send(cfg.topics.spans, [{ key: `b${i}`, value: encodeTraceRequest(spans.slice(i, i + 50)) }]);
    await producer.send(cfg.topics.spans, [{ value: Buffer.from([0x0a, 0xff, 0xff, 0x01]) }]);

    const emitted: string[] = [];
    const first = await startPipeline(cfg, log, { hooks: { onEmit: (vs) => emitted.push(...vs.map((v) => `${v.entityId}@${v.windowStartMs}`)) } });
    const alias = cfg.elasticsearch.findingsAlias;
    // Windows 6 and 7 fail: one finding, updated by the second window (count 2).
    const found = await waitFor('the finding of both failing windows', async () => {
      const c = await countFindings(alias).catch(() => undefined);
      if (!c || c.total < 1) return undefined;
      const d = (await es.search({ index: alias, size: 1 })).hits.hits[0]!._source as { peregrine: { group: { count: number } } };
      return d.peregrine.group.count >= 2 ? c : undefined;
    });
    // all ten windows emitted, once each
    await waitFor('ten windows', async () => (emitted.length >= 10 ? true : undefined));
    const metrics = await (await fetch(`http://127.0.0.1:${first.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/peregrine_records_in_total\{stage="features"\} [1-9]/);
    expect(metrics).toMatch(/peregrine_records_out_total\{stage="detectors"\} 2/);
    expect(metrics).toMatch(/peregrine_records_dropped_total\{stage="features",reason="undecodable"\} 1/);
    expect(metrics).toContain(`peregrine_consumer_lag_records{stage="features",topic="${cfg.topics.spans}"`);
    expect(metrics).toMatch(/peregrine_processing_latency_seconds_count\{stage="detectors"\} [1-9]/);
    expect((await fetch(`http://127.0.0.1:${first.metricsPort}/healthz`)).status).toBe(200);
    await first.stop();
    expect(new Set(emitted).size).toBe(emitted.length);
    expect(found.total).toBe(1);

    const doc = (await es.search({ index: alias, size: 1, sort: [{ 'event.start': 'asc' }] })).hits.hits[0]!._source as Record<string, any>;
    expect(doc.event.kind).toBe('alert');
    expect(doc.event.start).toBe(new Date(T0 + 60_000).toISOString());
    expect(doc.event.end).toBe(new Date(T0 + 80_000).toISOString());
    expect(doc.event.category).toEqual(['web']);
    expect(doc.peregrine.kind).toBe('fault');
    expect(doc.trace.id).toMatch(/^[0-9a-f]{32}$/);
    expect(doc.event.url).toBe(`http://127.0.0.1:16686/trace/${doc.trace.id}`);

    // The garbage message went to the dead-letter topic with its origin and reason.
    const dlq: Array<Record<string, string | undefined>> = [];
    const dlqConsumer = await kafka.consume({
      groupId: `dlq-${run}`, topics: [cfg.topics.deadLetter], fromBeginning: true,
      onBatch: async (b) => { dlq.push(...b.records.map((r) => Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, v?.toString()])))); },
    });
    await waitFor('dead letter', async () => (dlq.length > 0 ? true : undefined), 30_000);
    await dlqConsumer.stop();
    expect(dlq[0]![DEAD_LETTER_HEADERS.topic]).toBe(cfg.topics.spans);
    expect(dlq[0]![DEAD_LETTER_HEADERS.reason]).toBeTruthy();

    // Replay everything with fresh consumer groups (fresh detector state too): same id, still one finding.
    const replay = await startPipeline(config('b'), log);
    await waitFor('replay to catch up', async () => ((await committedTotal(kafka, config('b').detectors.groupId, cfg.topics.features)) >= 10 ? true : undefined));
    await replay.stop();
    const after = await countFindings(alias);
    expect(after.total).toBe(1);
    expect(after.ids).toEqual(found.ids);
    await producer.close();
    await kafka.close();
  });

  it('a stop in the middle of the stream and a restart emit every window exactly once', async () => {
    const c = isolatedConfig(`restart-${run}`);
    const spansTopic = c.topics.spans;
    const kafka = createKafkaAdapter(c.kafka, log);
    await kafka.ensureTopics([{ topic: spansTopic, partitions: 3 }]);
    const producer = await kafka.producer();
    const spans = await sdkSpans(scenario());
    const send = async (from: number, to: number) => {
      for (let i = from; i < to; i += 20) await producer.send(spansTopic, [{ key: `b${i}`, value: encodeTraceRequest(spans.slice(i, Math.min(i + 20, to))) }]);
    };
    const emitted: string[] = [];
    // The operation's windows (the stage also emits the service's, one per window as well).
    const onEmit = (vs: Array<{ entityId: string; windowStartMs: number }>) => emitted.push(...vs.filter((v) => v.entityId.startsWith('operation:')).map((v) => `${v.entityId}@${v.windowStartMs}`));
    await send(0, 110); // windows 0–4 and half of window 5
    const first = await startPipeline(c, log, { stages: ['features'], hooks: { onEmit } });
    await waitFor('first windows', async () => (emitted.length >= 4 ? true : undefined));
    await first.stop();
    const beforeRestart = emitted.length;
    await send(110, spans.length);
    const second = await startPipeline(c, log, { stages: ['features'], hooks: { onEmit } });
    await waitFor('all ten windows', async () => (emitted.length >= 10 ? true : undefined));
    await new Promise((r) => setTimeout(r, 3000)); // anything doubled would arrive by now
    await second.stop();
    expect(beforeRestart).toBeLessThan(10);
    expect(emitted.length).toBe(10);
    expect(new Set(emitted).size).toBe(10);
    await producer.close();
    await kafka.close();
  });
});
