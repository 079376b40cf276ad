/**
 * The window detectors on the real stack (Kafka, Elasticsearch), fed crafted feature vectors with the names of
 * FEATURE-CONTRACT: six minutes of normal windows give no finding; the detectors stage is then restarted (a new
 * process, same consumer group: baselines come back from the changelog, nothing is learnt again), and one window of
 * each attack shape gives one finding with its technique and entity, searchable with ECS context; a repeat of an
 * attack updates its finding instead of adding one.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAppConfig, type AppConfig } from '../app/config.ts';
import { startPipeline } from '../app/runtime.ts';
import { committedTotal, deleteFindingsIndex, isolatedConfig, waitFor } from '../app/testing/pipeline.ts';
import { createElasticsearchClient } from '../core/elasticsearch/client.ts';
import { createKafkaAdapter } from '../core/kafka/kafkajs.ts';
import { createLogger } from '../core/log.ts';
import { encodeFeatureVector, FEATURE_SCHEMA_FINGERPRINT, FINGERPRINT_HEADER, type FeatureVector } from '../schemas/feature-vector.ts';
import { daily, noisyCount, seeded, vector } from './testing/vectors.ts';

const log = createLogger({ level: 'warn', pretty: false });
const run = randomUUID().slice(0, 8);
const es = createElasticsearchClient(loadAppConfig({ env: {} }).elasticsearch);
const aliases: string[] = [];
afterAll(async () => {
  for (const alias of aliases) await deleteFindingsIndex(es, alias);
  await es.close();
});

const KB = 1024;
const MB = 1024 * KB;
const NORMAL_WINDOWS = 36;

/** One window of normal life: a shop service, its login, a regular client, the call graph, a host and its server process. */
function normalWindow(i: number, rand: () => number): FeatureVector[] {
  const requests = noisyCount(rand, daily(300, 0.5, i));
  const history = { history_age_s: i * 10 };
  return [
    vector('service:frontend', { request_count: requests, error_ratio: 0.01, failed_login_count: noisyCount(rand, 0.3), distinct_identities: noisyCount(rand, 3), ...history }, { window: i, service: 'frontend' }),
    vector('operation:frontend:GET /api/products', { request_count: requests, latency_p95_ms: 40 + rand() * 10, response_bytes_p95: 12 * KB, response_bytes_max: 15 * KB }, { window: i, service: 'frontend', operation: 'GET /api/products' }),
    vector('client:10.1.2.3', { request_count: noisyCount(rand, 8), response_bytes_sum: 100 * KB, not_found_ratio: 0, distinct_missing_routes: 0, new_route_count: i < 2 ? 4 : 0, ...history }, { window: i }),
    vector('edge:frontend->cart', { request_count: 30, new_edge: i === 0 ? 1 : 0, ...history }, { window: i }),
    vector('edge:recommendation->catalog', { request_count: 20, new_edge: i === 0 ? 1 : 0, ...history }, { window: i }),
    vector('host:node-1', { exec_count: 0, new_binary_count: 0, shell_exec_count: 0, cpu_seconds: 4 + rand(), bytes_out: 300 * KB, new_destination_count: 0, ...history }, { window: i, attributes: { 'host.name': 'node-1' } }),
  ];
}

const T1 = NORMAL_WINDOWS; // the window of the attacks
const attackHistory = { history_age_s: (T1 + 1) * 10 };
const attacks: Array<{ entity: string; technique: string; vectors: FeatureVector[] }> = [
  {
    entity: 'client:203.0.113.7', technique: 'T1110',
    vectors: [vector('client:203.0.113.7', { request_count: 120, failed_login_count: 118, auth_failure_count: 118, distinct_identities: 118, ...attackHistory }, { window: T1, examples: { identities: ['alice', 'bob'] } })],
  },
  {
    entity: 'client:192.0.2.44', technique: 'T1595',
    vectors: [vector('client:192.0.2.44', { request_count: 300, not_found_count: 280, not_found_ratio: 0.93, distinct_missing_routes: 280, new_route_count: 290, ...attackHistory }, { window: T1, examples: { missing_routes: ['/.env', '/wp-login.php'] } })],
  },
  // The service's baseline was learnt before the restart: without it there would be no flood finding.
  { entity: 'service:frontend', technique: 'T1499', vectors: [vector('service:frontend', { request_count: 6000, error_ratio: 0.3, ...attackHistory }, { window: T1, service: 'frontend' })] },
  { entity: 'edge:recommendation->payment', technique: 'T1021', vectors: [vector('edge:recommendation->payment', { request_count: 3, new_edge: 1, ...attackHistory }, { window: T1 })] },
  {
    entity: 'host:node-1', technique: 'T1059',
    vectors: [vector('host:node-1', { exec_count: 3, new_binary_count: 0, shell_exec_count: 1, cpu_seconds: 4.5, bytes_out: 300 * KB, new_destination_count: 0, ...attackHistory }, { window: T1, attributes: { 'host.name': 'node-1' }, examples: { shell_execs: ['/bin/sh -c id'] } })],
  },
  {
    entity: 'process:node-1:/tmp/.X25-unix/kdevtmpfsi', technique: 'T1496',
    vectors: [vector('process:node-1:/tmp/.X25-unix/kdevtmpfsi', { exec_count: 1, new_binary_count: 1, cpu_seconds: 14, bytes_out: 2 * KB, new_destination_count: 1, ...attackHistory }, { window: T1 })],
  },
  {
    entity: 'process:node-1:/usr/bin/accounting', technique: 'T1048',
    vectors: [vector('process:node-1:/usr/bin/accounting', { exec_count: 0, new_binary_count: 0, cpu_seconds: 1, bytes_out: 6 * MB, new_destination_count: 1, ...attackHistory }, { window: T1, examples: { new_destinations: ['203.0.113.99:443'] } })],
  },
  {
    entity: 'operation:frontend:GET /api/products', technique: 'T1041',
    vectors: [vector('operation:frontend:GET /api/products', { request_count: 300, latency_p95_ms: 45, response_bytes_p95: 12 * KB, response_bytes_max: 80 * MB }, { window: T1, service: 'frontend', operation: 'GET /api/products' })],
  },
];

async function send(config: AppConfig, vectors: FeatureVector[]): Promise<void> {
  const kafka = createKafkaAdapter(config.kafka, log);
  const producer = await kafka.producer();
  await producer.send(config.topics.features, vectors.map((v) => ({ key: v.entityId, value: encodeFeatureVector(v), headers: { [FINGERPRINT_HEADER]: FEATURE_SCHEMA_FINGERPRINT } })));
  await producer.close();
  await kafka.close();
}

type Doc = {
  event: { category: string[]; start: string; end: string; risk_score: number };
  threat?: { technique: { id: string[] } };
  peregrine: { entity: { id: string }; kind: string; detector: string; group: { count: number } };
  host?: { name: string };
  source?: { ip: string };
};

async function findings(alias: string): Promise<Array<{ id: string; doc: Doc }>> {
  await es.indices.refresh({ index: alias }).catch(() => undefined);
  const r = await es.search<Doc>({ index: alias, size: 100 }).catch(() => undefined);
  return r?.hits.hits.map((h) => ({ id: h._id!, doc: h._source! })) ?? [];
}

describe('window detectors on the real stack', () => {
  it('stay quiet on normal windows, keep their baselines across a restart, and raise one finding per attack with its technique', async () => {
    const config = isolatedConfig(`techniques-${run}`);
    const alias = config.elasticsearch.findingsAlias;
    aliases.push(alias);
    const rand = seeded(3);
    const normal = Array.from({ length: NORMAL_WINDOWS }, (_, i) => normalWindow(i, rand)).flat();
    const kafka = createKafkaAdapter(config.kafka, log);
    const committed = () => committedTotal(kafka, config.detectors.groupId, config.topics.features);

    const first = await startPipeline(config, log, { stages: ['detectors', 'findings'] });
    await send(config, normal);
    await waitFor('the normal windows committed', async () => ((await committed()) >= normal.length ? true : undefined), 120_000);
    await new Promise((r) => setTimeout(r, 2000)); // a finding on the normal windows would be indexed by now
    await first.stop();
    expect(await findings(alias)).toEqual([]);

    const second = await startPipeline(config, log, { stages: ['detectors', 'findings'] });
    try {
      await send(config, attacks.flatMap((a) => a.vectors));
      const found = await waitFor('a finding per attack', async () => {
        const docs = await findings(alias);
        return attacks.every((a) => docs.some((d) => d.doc.peregrine.entity.id === a.entity)) ? docs : undefined;
      }, 120_000);
      for (const a of attacks) {
        const mine = found.filter((d) => d.doc.peregrine.entity.id === a.entity);
        expect(mine, a.entity).toHaveLength(1);
        expect(mine[0].doc.threat?.technique.id, a.entity).toContain(a.technique);
        expect(mine[0].doc.event.category).toContain('intrusion_detection');
        expect(mine[0].doc.peregrine.kind).toBe('intrusion');
      }
      expect(found.find((d) => d.doc.peregrine.entity.id === 'host:node-1')!.doc.host).toEqual({ name: 'node-1' });
      expect(found.find((d) => d.doc.peregrine.entity.id === 'client:203.0.113.7')!.doc.source?.ip).toBe('203.0.113.7');

      // The stuffing goes on in the next window: the same finding, counted twice, no second document.
      const before = found.find((d) => d.doc.peregrine.entity.id === 'client:203.0.113.7')!;
      await send(config, [vector('client:203.0.113.7', { request_count: 120, failed_login_count: 110, distinct_identities: 110, ...attackHistory }, { window: T1 + 1 })]);
      const updated = await waitFor('the update', async () => {
        const docs = (await findings(alias)).filter((d) => d.doc.peregrine.entity.id === 'client:203.0.113.7');
        return docs.length === 1 && docs[0].doc.peregrine.group.count === 2 ? docs[0] : undefined;
      }, 60_000);
      expect(updated.id).toBe(before.id);
      expect(updated.doc.event.start).toBe(before.doc.event.start);
      expect(updated.doc.event.end > before.doc.event.end).toBe(true);
    } finally {
      await second.stop();
      await kafka.close();
    }
  }, 300_000);
});
