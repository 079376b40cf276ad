/**
 * The request detector in the detectors stage on the real stack: CSIC 2010 requests exported as OTLP spans onto the
 * spans topic (as `peregrine import pixie` does) → the stage's own consumer group → HTTP request model → ECS alerts in
 * Elasticsearch with MITRE ATT&CK T1190, url.path, source.ip and trace.id; what the findings index holds for the attacks.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaAdapter } from '../../core/kafka/kafkajs.ts';
import { DEAD_LETTER_HEADERS } from '../../core/kafka/dead-letter.ts';
import { createLogger } from '../../core/log.ts';
import { startPipeline } from '../../app/runtime.ts';
import { deleteFindingsIndex, isolatedConfig, waitFor } from '../../app/testing/pipeline.ts';
import { sharedDataPath } from '../../core/testing/shared-data.ts';
import { ensureStackUp, STACK_URLS } from '../../deploy/local/stack.ts';
import { pixieRowsToTraceRequest, pixieRowToRequestEvent, validatePixieRow, type PixieHttpRow } from '../../ingest/pixie/index.ts';
import { readJsonLines } from '../../models/http/jsonl.ts';
import { requestRowOf } from './live.ts';
import { HttpModel, modelView } from '../../models/index.ts';

const run = Date.now().toString(36);
const log = createLogger({ level: 'warn' });
const CSIC = sharedDataPath('csic2010');

async function rows(file: string, keep: (i: number) => boolean, limit: number): Promise<Array<{ row: PixieHttpRow; anomalous: boolean }>> {
  const out: Array<{ row: PixieHttpRow; anomalous: boolean }> = [];
  let i = 0;
  for await (const l of readJsonLines(path.join(CSIC, file))) {
    if (!('value' in l) || !keep(i)) { i++; continue; }
    const row = validatePixieRow({
      ...(l.value as object), remote_addr: `10.9.0.${i % 250}`, remote_port: 40000 + (i % 1000), local_addr: '10.0.0.8', local_port: 8080, trace_role: 2,
      time_: 1_764_547_200_000_000_000 + i * 1_000_000, latency: 2_000_000,
    }, `line ${l.line}`);
    out.push({ row, anomalous: (l.value as { label?: string }).label === 'anomalous' });
    i++;
    if (out.length >= limit) break;
  }
  return out;
}

describe('detectors stage with the HTTP request model', () => {
  let es: Client;
  let work: string;
  let alias = '';

  beforeAll(async () => {
    await ensureStackUp({ progress: 'silent' });
    es = new Client({ node: STACK_URLS.elasticsearch });
    work = await mkdtemp(path.join(tmpdir(), 'detect-http-'));
    const train = (await rows('train-normal.jsonl.gz', () => true, 5000)).map(({ row }) => modelView(requestRowOf(pixieRowToRequestEvent(row, { service: 'tienda' }))!));
    const model = await HttpModel.train(train, { epochs: 5 });
    await model.save(path.join(work, 'http-model'), { createdAt: '2026-12-01T00:00:00.000Z', trainingData: { source: 'csic2010 train-normal (first 5000)', rows: train.length } });
    model.dispose();
  }, 300_000);

  afterAll(async () => {
    if (alias) await deleteFindingsIndex(es, alias).catch(() => undefined);
    await es?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('indexes attacks read from the spans topic as T1190 alerts with path, client and trace', async () => {
    const config = isolatedConfig(`http-${run}`, {
      overrides: { 'detectors.http_request.model': path.join(work, 'http-model'), 'detectors.http_request.falsePositiveRate': 0.01, 'detectors.requestsGroupId': `test-http-${run}-requests` },
    });
    alias = config.elasticsearch.findingsAlias;
    // Every 40th dev row: a fixed stride.
    const test = await rows('dev.jsonl.gz', (i) => i % 40 === 0, 100_000);
    const attacks = test.filter((t) => t.anomalous);
    expect(attacks.length).toBeGreaterThan(50);
    const pipeline = await startPipeline(config, log, { stages: ['detectors', 'findings'] });
    try {
      const kafka = createKafkaAdapter(config.kafka, log);
      const producer = await kafka.producer();
      // Several export requests, like several batches from a collector.
      for (let i = 0; i < test.length; i += 50) {
        await producer.send(config.topics.spans, [{ value: Buffer.from(pixieRowsToTraceRequest(test.slice(i, i + 50).map((t) => t.row), { service: 'tienda' })) }]);
      }
      await producer.send(config.topics.spans, [{ value: Buffer.from('not a protobuf message') }]);
      await producer.close();
      await kafka.close();

      type Doc = { threat?: { technique: { id: string[] } }; url?: { path: string }; source?: { ip: string }; trace?: { id: string }; rule: { id: string }; event: { kind: string } };
      const docs = await waitFor('the request findings', async () => {
        await es.indices.refresh({ index: alias }).catch(() => undefined);
        const res = await es.search<Doc>({ index: alias, size: 1000, query: { term: { 'rule.id': 'peregrine.http_request' } } }).catch(() => undefined);
        const found = res?.hits.hits.map((h) => h._source!) ?? [];
        return found.length >= attacks.length * 0.9 ? found : undefined;
      }, 90_000);
      expect(docs.length).toBeLessThan(attacks.length * 1.15);
      const paths = new Set(test.map((t) => (t.row.req_path ?? '').split('?')[0]));
      for (const d of docs) {
        expect(d.event.kind).toBe('alert');
        expect(d.threat?.technique.id).toEqual(['T1190']);
        expect(paths.has(d.url?.path ?? '')).toBe(true);
        expect(d.source?.ip).toMatch(/^10\.9\.0\.\d+$/);
        expect(d.trace?.id).toMatch(/^[0-9a-f]{32}$/);
      }
      // The garbage record did not stop the consumer: it is on the dead-letter topic, with where it came from and why.
      const metrics = await (await fetch(`http://127.0.0.1:${pipeline.metricsPort}/metrics`)).text();
      expect(metrics).toMatch(/peregrine_records_dropped_total\{stage="detectors",reason="undecodable"\} 1/);
      const reader = createKafkaAdapter(config.kafka, log);
      const dead = await reader.readToEnd(config.topics.deadLetter, [0]);
      await reader.close();
      expect(dead.map((r) => [r.value.toString(), r.headers[DEAD_LETTER_HEADERS.topic]?.toString(), r.headers[DEAD_LETTER_HEADERS.stage]?.toString()]))
        .toEqual([['not a protobuf message', config.topics.spans, 'detectors']]);
      expect(metrics).toMatch(/peregrine_detector_model_info\{detector="http_request",model="http-request-model",version="2026-12-01T00:00:00.000Z"\} 1/);
    } finally {
      await pipeline.stop();
    }
  }, 300_000);
});
