import { afterAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { SpanKind } from '@opentelemetry/api';
import { loadAppConfig, type AppConfig } from './config.ts';
import { createElasticsearchClient } from '../core/elasticsearch/client.ts';
import { DEAD_LETTER_HEADERS } from '../core/kafka/dead-letter.ts';
import { createKafkaAdapter } from '../core/kafka/kafkajs.ts';
import { createLogger } from '../core/log.ts';
import { startPipeline } from './runtime.ts';
import { encodeTraceRequest, sdkSpans } from '../core/testing/otlp-spans.ts';
import { committedTotal, deleteFindingsIndex, isolatedConfig, waitFor } from './testing/pipeline.ts';
import { TcpProxy } from '../core/testing/tcp-proxy.ts';

const log = createLogger({ level: 'error', pretty: false });
const run = randomUUID().slice(0, 8);
const es = createElasticsearchClient(loadAppConfig({ env: {} }).elasticsearch);
const aliases: string[] = [];

afterAll(async () => {
  for (const alias of aliases) await deleteFindingsIndex(es, alias);
  await es.close();
});

/**
 * Eight windows of GetProduct spans, windows 5 and 6 half failing: two findings on the feed, the second an update of
 * the first (triage groups repeats under one id). Written onto the config's spans topic.
 */
async function produceScenario(config: AppConfig): Promise<void> {
  // Recent event times (the features stage drops events older than `features.maxPastMs` before their record).
  const t0 = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000;
  const built = await sdkSpans(Array.from({ length: 8 * 20 }, (_, n) => {
    const w = Math.floor(n / 20);
    const i = n % 20;
    const failing = (w === 5 || w === 6) && i % 2 === 0;
    return { service: 'catalog', name: 'GetProduct', kind: SpanKind.SERVER, startMs: t0 + w * 10_000 + i * 400, durationMs: 4, error: failing ? 'boom' : undefined };
  }));
  const kafka = createKafkaAdapter(config.kafka, log);
  const producer = await kafka.producer();
  for (let i = 0; i < built.length; i += 40) await producer.send(config.topics.spans, [{ key: `k${i}`, value: encodeTraceRequest(built.slice(i, i + 40)) }]);
  await producer.close();
  await kafka.close();
}

async function count(alias: string): Promise<number> {
  await es.indices.refresh({ index: alias });
  return (await es.count({ index: alias })).count;
}

describe('an Elasticsearch outage delays indexing, it does not stall the feed, drop or double findings', () => {
  it('retries while the cluster is unreachable and indexes each finding once when it is back', async () => {
    const proxy = new TcpProxy({ host: '127.0.0.1', port: 9200 });
    await proxy.up();
    const config = isolatedConfig(`outage-${run}`, {
      overrides: { 'elasticsearch.url': `http://127.0.0.1:${proxy.port}`, 'elasticsearch.requestTimeoutMs': 2000 },
    });
    const alias = config.elasticsearch.findingsAlias;
    aliases.push(alias);
    const pipeline = await startPipeline(config, log);
    await proxy.down();
    await produceScenario(config);

    // The findings stage meets the outage and keeps retrying...
    const metricsUrl = `http://127.0.0.1:${pipeline.metricsPort}/metrics`;
    await waitFor('sink retries', async () => (/peregrine_errors_total\{stage="findings",kind="sink"\} [1-9]/.test(await (await fetch(metricsUrl)).text()) ? true : undefined), 60_000);
    // ...while detection and the alert feed go on: both findings are on the feed before Elasticsearch is back.
    const kafka = createKafkaAdapter(config.kafka, log);
    const feed = await kafka.readToEnd(config.topics.findings, [0, 1, 2]);
    await kafka.close();
    expect(feed).toHaveLength(2);

    await proxy.up();
    const groupCount = async () => {
      await es.indices.refresh({ index: alias });
      const hits = (await es.search({ index: alias, size: 10 })).hits.hits;
      return hits.length === 1 ? (hits[0]!._source as { peregrine: { group: { count: number } } }).peregrine.group.count : undefined;
    };
    expect(await waitFor('the finding with its update', async () => ((await groupCount().catch(() => undefined)) === 2 ? 2 : undefined), 60_000)).toBe(2);
    await new Promise((r) => setTimeout(r, 3000)); // a doubled write would show by now
    expect(await count(alias)).toBe(1);
    await pipeline.stop();
  });

  it('keeps findings Elasticsearch refuses for good on the dead-letter topic, and the stream goes on', async () => {
    const config = isolatedConfig(`reject-${run}`);
    const alias = config.elasticsearch.findingsAlias;
    aliases.push(alias);
    // An index that already maps service.name as a number refuses every finding document.
    await es.indices.create({ index: `${alias}-000001`, aliases: { [alias]: { is_write_index: true } }, settings: { number_of_replicas: 0 }, mappings: { properties: { service: { properties: { name: { type: 'long' } } } } } });
    const pipeline = await startPipeline(config, log);
    await produceScenario(config);

    const kafka = createKafkaAdapter(config.kafka, log);
    const dead: Array<{ reason?: string; id?: string }> = [];
    const consumer = await kafka.consume({
      groupId: `dlq-reader-${run}`, topics: [config.topics.deadLetter], fromBeginning: true,
      onBatch: async (b) => { for (const r of b.records) dead.push({ reason: r.headers[DEAD_LETTER_HEADERS.reason]?.toString(), id: r.headers['peregrine-finding-id']?.toString() }); },
    });
    await waitFor('two dead letters', async () => (dead.length >= 2 ? true : undefined), 60_000);
    await consumer.stop();
    expect(dead).toHaveLength(2);
    expect(dead.every((d) => /^elasticsearch: .*rejected/.test(d.reason ?? '') && /^[0-9a-f]{40}$/.test(d.id ?? ''))).toBe(true);
    // The findings stage committed past them: its group has no lag left on the alert feed.
    const feedCommitted = () => committedTotal(kafka, config.findings.groupId, config.topics.findings);
    await waitFor('the indexer commit', async () => ((await feedCommitted()) >= 2 ? true : undefined), 20_000);
    expect(await feedCommitted()).toBe(2);
    const metrics = await (await fetch(`http://127.0.0.1:${pipeline.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/peregrine_records_dropped_total\{stage="findings",reason="rejected_by_elasticsearch"\} 2/);
    await pipeline.stop();
    await kafka.close();
  });
});
