/**
 * Detector state on the real stack: baselines are written to the compacted changelog before offsets are committed and
 * restored with their partitions, so a detectors stage that restarts (or whose partitions move to another instance)
 * judges the next window with what it had learned instead of learning again from scratch.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createElasticsearchClient } from '../core/elasticsearch/client.ts';
import { createKafkaAdapter } from '../core/kafka/kafkajs.ts';
import { createLogger } from '../core/log.ts';
import { encodeFeatureVector, FEATURE_SCHEMA_FINGERPRINT, FINGERPRINT_HEADER, type FeatureVector } from '../schemas/feature-vector.ts';
import { loadAppConfig, type AppConfig } from './config.ts';
import { startPipeline } from './runtime.ts';
import { committedTotal, deleteFindingsIndex, isolatedConfig, waitFor } from './testing/pipeline.ts';

const log = createLogger({ level: 'warn', pretty: false });
const run = randomUUID().slice(0, 8);
const es = createElasticsearchClient(loadAppConfig({ env: {} }).elasticsearch);
const aliases: string[] = [];
afterAll(async () => {
  for (const alias of aliases) await deleteFindingsIndex(es, alias);
  await es.close();
});

const t0 = Date.UTC(2026, 2, 1);
/** One operation window: 40 requests, `errors` of them failed. */
function window(entity: string, index: number, errors: number): FeatureVector {
  return {
    entityId: `operation:${entity}:GetProduct`, entityType: 'operation', service: entity, operation: 'GetProduct',
    windowStartMs: t0 + index * 10_000, windowEndMs: t0 + (index + 1) * 10_000,
    featureNames: ['request_count', 'error_count', 'error_ratio'], values: [40, errors, errors / 40], sampleCount: 40,
    exemplars: [{ traceId: `${'ab'.repeat(15)}${String(index).padStart(2, '0')}`, spanId: 'cd'.repeat(8), reason: 'error', value: 5 }],
  };
}

async function send(config: AppConfig, vectors: FeatureVector[]): Promise<void> {
  const kafka = createKafkaAdapter(config.kafka, log);
  const producer = await kafka.producer();
  await producer.send(config.topics.features, vectors.map((v) => ({ key: v.entityId, value: encodeFeatureVector(v), headers: { [FINGERPRINT_HEADER]: FEATURE_SCHEMA_FINGERPRINT } })));
  await producer.close();
  await kafka.close();
}

describe('detector state across restarts', () => {
  it('a restarted detectors stage judges the next window with the baselines it had learned', async () => {
    const config = isolatedConfig(`state-${run}`);
    aliases.push(config.elasticsearch.findingsAlias);
    const entities = ['catalog', 'cart', 'checkout', 'payment'];
    const first = await startPipeline(config, log, { stages: ['detectors', 'findings'] });
    // Warm-up: five normal windows per entity (the error-ratio baseline trusts itself after three).
    await send(config, entities.flatMap((e) => [0, 1, 2, 3, 4].map((i) => window(e, i, 1))));
    const kafka = createKafkaAdapter(config.kafka, log);
    await waitFor('the warm-up committed', async () => ((await committedTotal(kafka, config.detectors.groupId, config.topics.features)) >= 20 ? true : undefined), 60_000);
    await first.stop();

    // A new process: the same group, nothing in memory. The first window it sees is a failure.
    const second = await startPipeline(config, log, { stages: ['detectors', 'findings'] });
    try {
      await send(config, entities.map((e) => window(e, 5, 30)));
      const alias = config.elasticsearch.findingsAlias;
      const hits = await waitFor('a finding per entity', async () => {
        await es.indices.refresh({ index: alias }).catch(() => undefined);
        const r = await es.search<{ peregrine: { entity: { id: string }; explanation: Array<{ typical: number }> } }>({ index: alias, size: 10 }).catch(() => undefined);
        const docs = r?.hits.hits.map((h) => h._source!) ?? [];
        return docs.length >= entities.length ? docs : undefined;
      }, 60_000);
      expect(hits.map((d) => d.peregrine.entity.id).sort()).toEqual(entities.map((e) => `operation:${e}:GetProduct`).sort());
      // The typical ratio is the restored baseline (1 of 40 failed), not the failing window itself.
      for (const d of hits) expect(d.peregrine.explanation[0]!.typical).toBeCloseTo(1 / 40, 5);
      // The changelog holds one baseline per entity (compacted by key).
      const changelog = await kafka.readToEnd(config.topics.detectorsState, [0, 1, 2]);
      const keys = new Set(changelog.map((r) => r.key?.toString()));
      expect([...keys].filter((k) => k?.includes('error_ratio/baseline')).length).toBe(entities.length);
    } finally {
      await second.stop();
      await kafka.close();
    }
  });
});
