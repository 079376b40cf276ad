/**
 * Analyst feedback on the real Elasticsearch, as an analyst and the retraining job use it: `peregrine findings list`
 * and `findings feedback` from the command line, verdicts that survive the finding being re-indexed by a replay, and
 * `peregrine train window --feedback` learning a window marked false positive as normal (it scores lower than with the
 * same training data without the verdict).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bulkIndex, ensureRolloverAlias } from '../../core/elasticsearch/client.ts';
import { deleteFindingsIndex } from '../../app/testing/pipeline.ts';
import { ensureStackUp, STACK_URLS } from '../../deploy/local/stack.ts';
import { WindowModel } from '../../models/window/model.ts';
import { generateWindowVectors } from '../../models/window/synthetic.fixture.ts';
import { findingsIndexTemplate } from '../../schemas/elasticsearch/findings.ts';
import type { FeatureVector } from '../../schemas/feature-vector.ts';
import { encodeEcsFinding, findingId } from '../ecs/encode.ts';
import { severityOf, type Finding } from '../finding.ts';
import { labelledVectors } from './store.ts';
import { pixieRowToRequestEvent, validatePixieRow } from '../../ingest/pixie/index.ts';
import { parseHttpRow } from '../../models/http/request.ts';
import { HttpModel } from '../../models/http/model.ts';
import { syntheticAttacks, syntheticRows } from '../../models/http/synthetic.ts';
import { requestRowOf } from '../../detectors/http_request/live.ts';

const exec = promisify(execFile);
const repo = path.resolve(import.meta.dirname, '../..');
const run = Date.now().toString(36);
const alias = `test-feedback-${run}-findings`;
const feedbackIndex = `test-feedback-${run}-verdicts`;

function findingFor(v: FeatureVector, riskScore: number): Finding {
  return {
    detector: 'entity_window', ruleName: 'Unusual operation window', ruleDescription: 'test', entityId: v.entityId, entityType: v.entityType,
    service: v.service, operation: v.operation, windowStartMs: v.windowStartMs, windowEndMs: v.windowEndMs, riskScore, severity: severityOf(riskScore),
    message: 'test', explanation: [], exemplars: [], model: { name: 'm', version: '1' },
    vector: { names: v.featureNames, values: v.values, sampleCount: v.sampleCount },
  };
}

describe('analyst feedback', () => {
  let es: Client;
  let work: string;
  let config: string;
  const train = generateWindowVectors({ seed: 1, entities: 10, windowsPerEntity: 80 }).map((s) => s.vector);
  // After a deploy one operation is 6x slower at p95, for good: the analyst says that is not an attack.
  const base = train[5];
  const slower = { ...base, windowStartMs: base.windowStartMs + 3_600_000, windowEndMs: base.windowEndMs + 3_600_000, values: base.values.map((x, j) => (j === 5 ? x * 6 : x)) };
  const attack = { ...train[9], windowStartMs: train[9].windowStartMs + 3_600_000, windowEndMs: train[9].windowEndMs + 3_600_000, values: train[9].values.map((x, j) => (j === 2 ? 0.7 : x)) };
  const fp = findingFor(slower, 97);
  const tp = findingFor(attack, 99);
  // A request finding, its request snapshot taken the way the request detector takes it.
  const pixieRow = validatePixieRow({
    time_: 1_764_547_200_000_000_000, remote_addr: '10.1.2.3', remote_port: 5000, local_addr: '10.0.0.8', local_port: 8080, trace_role: 2,
    req_method: 'POST', req_path: '/tienda1/publico/registro.jsp?modo=registro', req_headers: { 'Content-Type': 'application/x-www-form-urlencoded', Host: 'localhost:8080' },
    req_body: 'nombre=Ana&apellidos=de+la+Torre&email=ana%40example.com', req_body_size: 55, resp_status: 200, latency: 1_000_000,
  }, 'row');
  const requestEvent = pixieRowToRequestEvent(pixieRow, { service: 'tienda' });
  const snapshot = requestRowOf(requestEvent)!;
  const requestFinding: Finding = {
    ...findingFor(slower, 80), detector: 'http_request', entityId: 'operation:tienda:POST /tienda1/publico/registro.jsp', vector: undefined,
    windowStartMs: requestEvent.timeMs, windowEndMs: requestEvent.timeMs + requestEvent.durationMs,
    request: { method: snapshot.req_method, target: snapshot.req_path, headers: snapshot.req_headers, body: snapshot.req_body, bodySize: snapshot.req_body_size },
  };
  const cli = (...args: string[]) => exec(process.execPath, ['bin/peregrine.js', ...args], { cwd: repo, env: { ...process.env, PEREGRINE_LOG_LEVEL: 'warn' }, timeout: 240_000 });

  beforeAll(async () => {
    await ensureStackUp({ only: ['elasticsearch'], progress: 'silent' });
    es = new Client({ node: STACK_URLS.elasticsearch });
    work = await mkdtemp(path.join(tmpdir(), 'feedback-'));
    config = path.join(work, 'peregrine.yaml');
    await writeFile(config, `elasticsearch:\n  findingsAlias: ${alias}\n  feedbackIndex: ${feedbackIndex}\n`);
    await writeFile(path.join(work, 'train.jsonl'), train.map((v) => JSON.stringify(v)).join('\n') + '\n');
    await ensureRolloverAlias(es, { alias, templateName: alias, template: findingsIndexTemplate(alias) });
    const docs = [fp, tp, requestFinding].map((f) => ({ id: findingId(f), doc: encodeEcsFinding(f, { jaegerUiUrl: 'http://127.0.0.1:16686' }) }));
    await bulkIndex(es, alias, docs);
    await es.indices.refresh({ index: alias });
  }, 120_000);

  afterAll(async () => {
    await deleteFindingsIndex(es, alias).catch(() => undefined);
    await es.indices.delete({ index: feedbackIndex, ignore_unavailable: true }).catch(() => undefined);
    await es?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('lists findings and records verdicts from the command line; a verdict survives the finding being re-indexed', async () => {
    const listed = (await cli('findings', 'list', '-c', config, '--json')).stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string; verdict?: string });
    expect(listed.map((r) => r.id).sort()).toEqual([findingId(fp), findingId(tp), findingId(requestFinding)].sort());
    expect(listed.every((r) => r.verdict === undefined)).toBe(true);

    const said = await cli('findings', 'feedback', findingId(fp), '--verdict', 'false_positive', '--note', 'slower since the 1.4 deploy', '--analyst', 'ana', '-c', config);
    expect(said.stdout).toContain(`${findingId(fp)} (entity_window on ${fp.entityId}): false_positive`);
    await cli('findings', 'feedback', findingId(tp), '--verdict', 'true_positive', '-c', config);
    await expect(cli('findings', 'feedback', 'no-such-finding', '--verdict', 'true_positive', '-c', config)).rejects.toMatchObject({ stderr: expect.stringContaining('no finding with id no-such-finding') });
    await expect(cli('findings', 'feedback', findingId(tp), '--verdict', 'maybe', '-c', config)).rejects.toMatchObject({ stderr: expect.stringContaining('false_positive, true_positive') });

    // A replay indexes the finding again under the same id: the verdict is kept apart and stays.
    await bulkIndex(es, alias, [{ id: findingId(fp), doc: encodeEcsFinding(fp, { jaegerUiUrl: 'http://127.0.0.1:16686' }) }]);
    await es.indices.refresh({ index: alias });
    const after = (await cli('findings', 'list', '-c', config, '--json')).stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string; verdict?: string });
    expect(Object.fromEntries(after.map((r) => [r.id, r.verdict]))).toEqual({ [findingId(fp)]: 'false_positive', [findingId(tp)]: 'true_positive', [findingId(requestFinding)]: undefined });

    const labelled = await labelledVectors(es, { findingsAlias: alias, feedbackIndex }, { detectors: ['entity_window'] });
    expect(labelled.map((l) => l.verdict).sort()).toEqual(['false_positive', 'true_positive']);
    const back = labelled.find((l) => l.verdict === 'false_positive')!.vector;
    expect(back).toMatchObject({ entityId: slower.entityId, windowStartMs: slower.windowStartMs, windowEndMs: slower.windowEndMs, featureNames: slower.featureNames });
    expect(back.values).toEqual(slower.values);
    expect(await labelledVectors(es, { findingsAlias: alias, feedbackIndex }, { detectors: ['http_request'] })).toEqual([]);
  }, 120_000);

  it('exports a judged request as a labelled row that the request model reads as it read the original', async () => {
    await cli('findings', 'feedback', findingId(requestFinding), '--verdict', 'false_positive', '-c', config);
    const out = path.join(work, 'judged.jsonl');
    expect((await cli('findings', 'export', '--out', out, '--verdict', 'false_positive', '-c', config)).stdout).toContain('1 judged requests');
    const rows = (await readFile(out, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: findingId(requestFinding), label: 'normal', req_method: 'POST' });
    const exported = parseHttpRow(rows[0]);
    const original = parseHttpRow(snapshot);
    expect({ ...exported, id: null }).toEqual({ ...original, id: null });
    expect(exported.params).toContainEqual(['email', 'ana%40example.com']);
  }, 120_000);

  it('retrains the request model with the verdicts in one step: the judged request scores lower than without them', async () => {
    // The previous test marked the request finding a false positive.
    await writeFile(path.join(work, 'requests.jsonl'), syntheticRows(600, 21).map((r) => JSON.stringify(r)).join('\n') + '\n');
    const common = ['train', 'http', '--input', path.join(work, 'requests.jsonl')];
    await cli(...common, '--out', path.join(work, 'http-plain'));
    const withFeedback = await cli(...common, '--out', path.join(work, 'http-feedback'), '--feedback', '--feedback-weight', '20', '-c', config);
    expect(withFeedback.stderr).toContain('feedback: 1 false positives trained as normal (x20), 0 true positives');
    expect(withFeedback.stderr).toMatch(/trained http model: 620 rows/);

    const [plain, learned] = await Promise.all([HttpModel.load(path.join(work, 'http-plain')), HttpModel.load(path.join(work, 'http-feedback'))]);
    const judged = parseHttpRow(snapshot);
    const [before] = plain.scoreBatch([judged]);
    const [after] = learned.scoreBatch([judged]);
    // Normal traffic scores about the same either way: the verdict taught one request, not "everything is fine".
    const normal = syntheticRows(50, 22, 'check').map((r) => parseHttpRow(r));
    const mean = (xs: ArrayLike<number>) => Array.from(xs).reduce((a, b) => a + b, 0) / xs.length;
    const attacks = syntheticAttacks().map((r) => parseHttpRow(r));
    const [attackMean, normalMean] = [mean(learned.scoreBatch(attacks)), mean(learned.scoreBatch(normal))];
    plain.dispose();
    learned.dispose();
    expect(after).toBeLessThan(before);
    expect(attackMean).toBeGreaterThan(normalMean);
  }, 300_000);

  it('retrains with the verdicts: the false positive scores lower than without them', async () => {
    const common = ['train', 'window', '--input', path.join(work, 'train.jsonl'), '--epochs', '40', '--seed', '3'];
    await cli(...common, '--out', path.join(work, 'plain'));
    const withFeedback = await cli(...common, '--out', path.join(work, 'feedback'), '--feedback', '--feedback-weight', '40', '-c', config);
    const summary = JSON.parse(withFeedback.stdout.trim().split('\n').at(-1)!) as { feedback: { false_positives: number; true_positives: number; weight: number } };
    expect(summary.feedback).toEqual({ false_positives: 1, true_positives: 1, weight: 40 });
    const manifest = JSON.parse(await readFile(path.join(work, 'feedback', 'manifest.json'), 'utf8')) as { trainingData: { rows: number } };
    const plainManifest = JSON.parse(await readFile(path.join(work, 'plain', 'manifest.json'), 'utf8')) as { trainingData: { rows: number } };
    expect(manifest.trainingData.rows).toBeGreaterThan(plainManifest.trainingData.rows);

    const [plain, learned] = await Promise.all([WindowModel.load(path.join(work, 'plain')), WindowModel.load(path.join(work, 'feedback'))]);
    const [before] = plain.scoreVectors([slower]);
    const [after] = learned.scoreVectors([slower]);
    plain.dispose();
    learned.dispose();
    expect(before.score).toBeGreaterThan(90);
    expect(after.score).toBeLessThan(before.score - 10);
  }, 300_000);
});
