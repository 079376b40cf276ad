import { afterAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { SpanKind } from '@opentelemetry/api';
import { loadConfig } from './config.ts';
import { createElasticsearchClient } from './elasticsearch/client.ts';
import { createKafkaAdapter } from './kafka/kafkajs.ts';
import { createLogger } from './log.ts';
import { startPipeline } from './runtime.ts';
import { TcpProxy } from './testing/tcp-proxy.ts';
import { DEAD_LETTER_HEADERS } from './kafka/dead-letter.ts';
import { encodeTraceRequest, sdkSpans, type TestSpan } from './testing/otlp-spans.ts';

const log = createLogger({ level: 'error', pretty: false });
const run = randomUUID().slice(0, 8);
const alias = `test-outage-${run}`;
const es = createElasticsearchClient(loadConfig({ env: {} }).elasticsearch);

afterAll(async () => {
  const names = Object.keys(await es.indices.get({ index: `${alias}*` }).catch(() => ({})));
  if (names.length) await es.indices.delete({ index: names });
  await es.indices.deleteIndexTemplate({ name: alias }).catch(() => undefined);
  await es.indices.deleteIndexTemplate({ name: `${alias}-conflict` }).catch(() => undefined);
  await es.close();
});

function spans(): TestSpan[] {
  const t0 = Date.UTC(2026, 1, 1);
  const out: TestSpan[] = [];
  for (let w = 0; w < 8; w++) {
    for (let i = 0; i < 20; i++) {
      const failing = (w === 5 || w === 6) && i % 2 === 0;
      out.push({ service: 'catalog', name: 'GetProduct', kind: SpanKind.SERVER, startMs: t0 + w * 10_000 + i * 400, durationMs: 4, error: failing ? 'boom' : undefined });
    }
  }
  return out;
}

async function count(): Promise<number> {
  await es.indices.refresh({ index: alias });
  return (await es.count({ index: alias })).count;
}

describe('an Elasticsearch outage delays findings, it does not drop or double them', () => {
  it('retries while the cluster is unreachable and indexes each finding once when it is back', async () => {
    const proxy = new TcpProxy({ host: '127.0.0.1', port: 9200 });
    await proxy.up();
    const config = loadConfig({
      env: {},
      overrides: {
        'topics.spans': `test-outage-spans-${run}`, 'topics.features': `test-outage-features-${run}`, 'topics.findings': `test-outage-findings-${run}`,
        'topics.deadLetter': `test-outage-dlq-${run}`, 'topics.partitions': 2, 'features.groupId': `test-outage-f-${run}`,
        'features.idleFlushMs': 1500, 'features.allowedLatenessMs': 1000, 'detectors.groupId': `test-outage-d-${run}`,
        'elasticsearch.findingsAlias': alias, 'elasticsearch.url': `http://127.0.0.1:${proxy.port}`, 'elasticsearch.requestTimeoutMs': 2000, 'metrics.port': 0,
      },
    });
    const pipeline = await startPipeline(config, log);
    await proxy.down();

    const kafka = createKafkaAdapter(config.kafka, log);
    const producer = await kafka.producer();
    const built = await sdkSpans(spans());
    for (let i = 0; i < built.length; i += 40) await producer.send(config.topics.spans, [{ key: `k${i}`, value: encodeTraceRequest(built.slice(i, i + 40)) }]);
    await producer.close();

    // The detectors stage meets the outage and keeps retrying.
    const metricsUrl = `http://127.0.0.1:${pipeline.metricsPort}/metrics`;
    const deadline = Date.now() + 60_000;
    let retried = false;
    while (!retried && Date.now() < deadline) {
      retried = /peregrine_errors_total\{stage="detectors",kind="sink"\} [1-9]/.test(await (await fetch(metricsUrl)).text());
      if (!retried) await new Promise((r) => setTimeout(r, 500));
    }
    expect(retried).toBe(true);

    await proxy.up();
    const until = Date.now() + 60_000;
    let n = 0;
    while (Date.now() < until && (n = await count().catch(() => 0)) < 2) await new Promise((r) => setTimeout(r, 500));
    await new Promise((r) => setTimeout(r, 3000)); // a doubled write would show by now
    expect(await count()).toBe(2);
    expect(n).toBe(2);
    await pipeline.stop();
    await kafka.close();
  });

  it('keeps findings Elasticsearch refuses for good on the dead-letter topic, and the stream goes on', async () => {
    const conflicting = `${alias}-conflict`;
    // An index that already maps service.name as a number refuses every finding document.
    await es.indices.create({ index: `${conflicting}-000001`, aliases: { [conflicting]: { is_write_index: true } }, settings: { number_of_replicas: 0 }, mappings: { properties: { service: { properties: { name: { type: 'long' } } } } } });
    const config = loadConfig({
      env: {},
      overrides: {
        'topics.spans': `test-reject-spans-${run}`, 'topics.features': `test-reject-features-${run}`, 'topics.findings': `test-reject-findings-${run}`,
        'topics.deadLetter': `test-reject-dlq-${run}`, 'topics.partitions': 2, 'features.groupId': `test-reject-f-${run}`,
        'features.idleFlushMs': 1500, 'features.allowedLatenessMs': 1000, 'detectors.groupId': `test-reject-d-${run}`,
        'elasticsearch.findingsAlias': conflicting, 'metrics.port': 0,
      },
    });
    const pipeline = await startPipeline(config, log);
    const kafka = createKafkaAdapter(config.kafka, log);
    const producer = await kafka.producer();
    const built = await sdkSpans(spans());
    for (let i = 0; i < built.length; i += 40) await producer.send(config.topics.spans, [{ key: `k${i}`, value: encodeTraceRequest(built.slice(i, i + 40)) }]);
    await producer.close();

    const dead: Array<{ reason?: string; id?: string }> = [];
    const consumer = await kafka.consume({
      groupId: `dlq-reader-${run}`, topics: [config.topics.deadLetter], fromBeginning: true,
      onBatch: async (b) => { for (const r of b.records) dead.push({ reason: r.headers[DEAD_LETTER_HEADERS.reason]?.toString(), id: r.headers['peregrine-finding-id']?.toString() }); },
    });
    const deadline = Date.now() + 60_000;
    while (dead.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
    await consumer.stop();
    expect(dead).toHaveLength(2);
    expect(dead.every((d) => /^elasticsearch: .*rejected/.test(d.reason ?? '') && /^[0-9a-f]{40}$/.test(d.id ?? ''))).toBe(true);
    // The detectors stage committed past them: its group has no lag left on the features topic.
    const committed = async () => (await kafka.committedOffsets(config.detectors.groupId, config.topics.features)).reduce((n, o) => n + Math.max(0, Number(o.offset)), 0);
    const until = Date.now() + 20_000;
    while ((await committed()) < 8 && Date.now() < until) await new Promise((r) => setTimeout(r, 250));
    expect(await committed()).toBe(8);
    const metrics = await (await fetch(`http://127.0.0.1:${pipeline.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/peregrine_records_dropped_total\{stage="detectors",reason="rejected_by_elasticsearch"\} 2/);
    await pipeline.stop();
    await kafka.close();
  });
});

