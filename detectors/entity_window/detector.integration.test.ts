/**
 * The detectors stage scoring with the registered champion: a window model trained and registered in the stack's
 * MLflow, `detectors.entity_window.model: models:/NAME@champion`, feature vectors on Kafka → findings from the model
 * in Elasticsearch (explained, naming the model version); a newly promoted version is picked up while running; a
 * reference to a missing alias stops start-up naming the key.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaAdapter } from '../../core/kafka/kafkajs.ts';
import { createLogger } from '../../core/log.ts';
import { MlflowClient } from '../../core/mlflow.ts';
import { startPipeline } from '../../app/runtime.ts';
import { deleteFindingsIndex, isolatedConfig, waitFor } from '../../app/testing/pipeline.ts';
import { ensureStackUp, STACK_URLS } from '../../deploy/local/stack.ts';
import { trackTrainingRun } from '../../models/registry/track.ts';
import { removeModelAndExperiment } from '../../models/registry/testing.ts';
import type { InputRow } from '../../models/window/input.ts';
import { prepareWindowData, windowTrainingJob } from '../../models/window/job.ts';
import { generateWindowVectors } from '../../models/window/synthetic.fixture.ts';
import { encodeFeatureVector, FEATURE_SCHEMA_FINGERPRINT, FINGERPRINT_HEADER } from '../../schemas/feature-vector.ts';
import { ENTITY_WINDOW_DETECTOR } from './detector.ts';

const run = Date.now().toString(36);
const name = `it-detect-window-${run}`;
const experiment = `it-detect-window-${run}`;
const log = createLogger({ level: 'warn' });

describe('detectors stage with the champion entity-window model', () => {
  let client: MlflowClient;
  let es: Client;
  let work: string;
  const aliases: string[] = [];

  const train = async (label: string, seed: number) => {
    const rows: InputRow[] = generateWindowVectors({ seed, entities: 10, windowsPerEntity: 80 }).map((s, i) => ({ line: i + 1, vector: s.vector }));
    const evalRows: InputRow[] = generateWindowVectors({ seed: seed + 100, entities: 10, windowsPerEntity: 20, anomalyRate: 0.2 })
      .map((s, i) => ({ line: i + 1, vector: s.vector, label: s.planted ? 'anomalous' : 'normal' }));
    const job = windowTrainingJob({
      data: prepareWindowData(rows, evalRows, 1), out: path.join(work, label), createdAt: '2026-12-01T00:00:00.000Z', source: label, train: { epochs: 12, seed },
    });
    const result = await trackTrainingRun(job, { client, experiment, runName: label, registerAs: name, cacheDir: path.join(work, 'cache') });
    job.model?.dispose();
    return result;
  };

  beforeAll(async () => {
    await ensureStackUp({ progress: 'silent' });
    client = new MlflowClient({ url: STACK_URLS.mlflow });
    es = new Client({ node: STACK_URLS.elasticsearch });
    work = await mkdtemp(path.join(tmpdir(), 'detect-window-'));
    expect((await train('v1', 1)).version?.version).toBe('1');
  }, 300_000);

  afterAll(async () => {
    for (const alias of aliases) await deleteFindingsIndex(es, alias).catch(() => undefined);
    await es?.close();
    if (client) await removeModelAndExperiment(client, name, experiment);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('indexes the model\'s findings for planted anomalies, and follows the champion alias', async () => {
    const config = isolatedConfig(`window-${run}`, {
      overrides: { 'detectors.entity_window.model': `models:/${name}@champion`, 'detectors.entity_window.reloadIntervalMs': 1000, 'detectors.entity_window.minRequests': 1 },
    });
    const alias = config.elasticsearch.findingsAlias;
    aliases.push(alias);
    process.env.PEREGRINE_MODEL_CACHE = path.join(work, 'stage-cache');
    const pipeline = await startPipeline(config, log, { stages: ['detectors', 'findings'] });
    try {
      const vectors = generateWindowVectors({ seed: 9, entities: 6, windowsPerEntity: 10, anomalyRate: 0.15 });
      const planted = vectors.filter((s) => s.planted);
      expect(planted.length).toBeGreaterThan(3);
      const kafka = createKafkaAdapter(config.kafka, log);
      const producer = await kafka.producer();
      await producer.send(config.topics.features, vectors.map((s) => ({
        key: s.vector.entityId, value: encodeFeatureVector(s.vector), headers: { [FINGERPRINT_HEADER]: FEATURE_SCHEMA_FINGERPRINT },
      })));
      await producer.close();
      await kafka.close();

      type Doc = { rule: { name: string }; event: { risk_score: number; start: string }; peregrine: { detector: string; explanation: Array<{ feature: string }>; model?: { name: string; version: string } } };
      const search = async () => {
        await es.indices.refresh({ index: alias }).catch(() => undefined);
        const res = await es.search<Doc>({ index: alias, size: 100, query: { term: { 'peregrine.detector': ENTITY_WINDOW_DETECTOR } } }).catch(() => undefined);
        return res?.hits.hits.map((h) => h._source!) ?? [];
      };
      const found = await waitFor('the model\'s findings', async () => {
        const docs = await search();
        return docs.length >= Math.ceil(planted.length * 0.8) ? docs : undefined;
      }, 60_000);
      // Findings are the planted windows (a stray normal one at most), from version 1, explained by features.
      const plantedStarts = new Set(planted.map((s) => new Date(s.vector.windowStartMs).toISOString()));
      expect(found.filter((d) => plantedStarts.has(d.event.start)).length).toBeGreaterThanOrEqual(found.length - 1);
      for (const d of found) {
        expect(d.peregrine.model).toEqual({ name, version: '1' });
        expect(d.peregrine.explanation.length).toBe(3);
        expect(d.event.risk_score).toBeGreaterThanOrEqual(90);
      }

      // A second version becomes champion: the running stage switches to it within a few checks.
      const second = await train('v2', 2);
      await client.setAlias(name, 'champion', second.version!.version);
      const metricsUrl = `http://127.0.0.1:${pipeline.metricsPort}/metrics`;
      await waitFor('the switch to version 2', async () => {
        const text = await (await fetch(metricsUrl)).text();
        return text.includes(`peregrine_detector_model_info{detector="entity_window",model="${name}",version="2"} 1`) ? true : undefined;
      }, 30_000);
      expect(await (await fetch(metricsUrl)).text()).not.toContain(`version="1"} 1`);
    } finally {
      await pipeline.stop();
      delete process.env.PEREGRINE_MODEL_CACHE;
    }
  }, 300_000);

  it('stops start-up when the configured model reference does not resolve, naming the key', async () => {
    const config = isolatedConfig(`window-bad-${run}`, { overrides: { 'detectors.entity_window.model': `models:/${name}@nosuch` } });
    await expect(startPipeline(config, log, { stages: ['detectors', 'findings'] })).rejects.toThrow(/detectors\.entity_window\.model: .*has no alias "nosuch"/);
  });
});
