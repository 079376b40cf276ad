import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import avro from 'avsc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFeatureVectors } from './input.ts';
import { generateWindowVectors } from './synthetic.fixture.ts';

const run = promisify(execFile);
const repo = path.resolve(import.meta.dirname, '../..');
const schema = JSON.parse(await readFile(path.join(repo, 'schemas/feature-vector.avsc'), 'utf8'));

describe('feature vector files', () => {
  let dir: string;
  const vectors = generateWindowVectors({ seed: 4, entities: 10, windowsPerEntity: 30 }).map((s) => s.vector);
  beforeAll(async () => { dir = await mkdtemp(path.join(tmpdir(), 'window-input-')); });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  const readAll = async (file: string) => {
    const bad: Array<[number, string]> = [];
    const rows = [];
    for await (const row of readFeatureVectors(file, (line, reason) => bad.push([line, reason]))) rows.push(row);
    return { rows, bad };
  };

  it('reads an Avro object container file of schemas/feature-vector.avsc', async () => {
    const file = path.join(dir, 'vectors.avro');
    await new Promise<void>((resolve, reject) => {
      // Wait for the file itself to be closed, not for the encoder to finish: under load the encoder finished while
      // the file stream still held the data, and the read found a file without its Avro header.
      const encoder = new avro.streams.BlockEncoder(avro.Type.forSchema(schema));
      const out = createWriteStream(file);
      encoder.on('error', reject);
      out.on('error', reject).on('close', resolve);
      encoder.pipe(out);
      for (const v of vectors.slice(0, 50)) {
        encoder.write({ entity_id: v.entityId, entity_type: v.entityType, service: v.service, operation: v.operation ?? null, window_start: v.windowStartMs,
          window_end: v.windowEndMs, feature_names: v.featureNames, values: v.values, sample_count: v.sampleCount, exemplars: [] });
      }
      encoder.end();
    });
    const { rows, bad } = await readAll(file);
    expect(bad).toEqual([]);
    expect(rows).toHaveLength(50);
    expect(rows[7].vector).toEqual({ ...vectors[7], exemplars: [] });
  });

  it('reads gzipped JSON lines and reports malformed rows by line number', async () => {
    const file = path.join(dir, 'vectors.jsonl.gz');
    const lines = vectors.slice(0, 10).map((v) => JSON.stringify(v));
    lines.splice(3, 0, '{"entityId":"x","windowStartMs":"soon"}', '');
    await writeFile(file, gzipSync(lines.join('\n')));
    const { rows, bad } = await readAll(file);
    expect(rows).toHaveLength(10);
    expect(bad).toEqual([[4, expect.stringContaining('windowStartMs')]]);
    expect(rows[3].line).toBe(6);
  });

  it('train window: skips and counts malformed rows, saves a package, prints a summary', async () => {
    const input = path.join(dir, 'train.jsonl');
    const lines = vectors.map((v) => JSON.stringify(v));
    lines.splice(10, 0, 'garbage', JSON.stringify({ ...vectors[0], values: [1] }));
    await writeFile(input, lines.join('\n') + '\n');
    const out = path.join(dir, 'model');
    const { stdout, stderr } = await run('node', ['bin/peregrine.js', 'train', 'window', '--input', input, '--out', out, '--epochs', '3'], { cwd: repo, env: { ...process.env, PEREGRINE_LOG_LEVEL: 'warn' } });
    expect(stderr).toContain('train.jsonl:11: skipped malformed row: not JSON');
    expect(stderr).toContain('train.jsonl:12: skipped malformed row: values: values and featureNames differ in length');
    expect(stderr).toMatch(/trained window model: 300 vectors, 2 malformed rows skipped/);
    const summary = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(summary).toMatchObject({ rows: 300, malformedRows: 2 });
    expect(summary.metrics.roc_auc).toBeGreaterThan(0.5);
    const manifest = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8'));
    expect(manifest.kind).toBe('entity-window-autoencoder');
    expect(manifest.trainingData).toMatchObject({ malformedRows: 2 });

    const bad = await run('node', ['bin/peregrine.js', 'score', 'window', '--model', path.join(dir, 'nowhere'), '--input', input], { cwd: repo, env: { ...process.env, PEREGRINE_LOG_LEVEL: 'silent' } }).catch((e) => e);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('no manifest.json');
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  }, 120_000);
});
