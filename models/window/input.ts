/**
 * Reads feature vectors from a file: JSON lines (one FeatureVector per line, the camelCase fields of the TS type,
 * optionally with `label: "normal" | "anomalous"`; `.gz` allowed) or an Avro object container file of
 * schemas/feature-vector.avsc (detected by its magic bytes). Malformed rows are reported with their line (or record)
 * number and skipped, never thrown.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import avro from 'avsc';
import { z } from 'zod';
import { PeregrineError } from '../../core/errors.ts';
import { ENTITY_TYPES, featureVectorFromAvro, type AvroFeatureVector, type FeatureVector } from '../../schemas/feature-vector.ts';

export type Label = 'normal' | 'anomalous';
export interface InputRow { line: number; vector: FeatureVector; label?: Label }
export type MalformedHandler = (line: number, reason: string) => void;

const FeatureVectorRow = z.object({
  entityId: z.string().min(1),
  entityType: z.enum(ENTITY_TYPES).default('operation'),
  service: z.string().default(''),
  operation: z.string().optional(),
  windowStartMs: z.number().finite(),
  windowEndMs: z.number().finite(),
  featureNames: z.array(z.string()).min(1),
  // JSON has no NaN: a missing value is null.
  values: z.array(z.number().nullable()),
  sampleCount: z.number().default(0),
  exemplars: z.array(z.object({
    traceId: z.string(), spanId: z.string(), reason: z.enum(['error', 'slowest', 'largest']), value: z.number(), statusMessage: z.string().optional(),
  })).default([]),
  attributes: z.record(z.string(), z.string()).optional(),
  examples: z.record(z.string(), z.array(z.string())).optional(),
  label: z.enum(['normal', 'anomalous']).optional(),
}).refine((r) => r.values.length === r.featureNames.length, { message: 'values and featureNames differ in length', path: ['values'] });

/** Parses one JSON line; returns the reason when it is not a feature vector. Pure. */
export function parseFeatureVectorLine(text: string): { vector: FeatureVector; label?: Label } | { error: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { error: `not JSON (${(error as Error).message})` };
  }
  const parsed = FeatureVectorRow.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { error: `${issue?.path.join('.') || 'row'}: ${issue?.message}` };
  }
  const { label, values, ...rest } = parsed.data;
  return { vector: { ...rest, values: values.map((v) => (v === null ? NaN : v)) }, label };
}

export async function* readFeatureVectors(file: string, onMalformed: MalformedHandler): AsyncGenerator<InputRow> {
  const head = await readHead(file);
  if (head.subarray(0, 4).equals(Buffer.from([0x4f, 0x62, 0x6a, 0x01]))) {
    yield* readAvro(file, onMalformed);
    return;
  }
  const gz = head[0] === 0x1f && head[1] === 0x8b;
  const source = createReadStream(file);
  const lines = createInterface({ input: gz ? source.pipe(createGunzip()) : source, crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (!text.trim()) continue;
    const row = parseFeatureVectorLine(text);
    if ('error' in row) onMalformed(line, row.error);
    else yield { line, ...row };
  }
}

async function readHead(file: string): Promise<Buffer> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw new PeregrineError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    const buffer = Buffer.alloc(4);
    const { bytesRead } = await handle.read(buffer, 0, 4, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Records of an Avro container file; a record is numbered from 1 like a line. */
async function* readAvro(file: string, onMalformed: MalformedHandler): AsyncGenerator<InputRow> {
  const decoder = avro.createFileDecoder(file);
  let record = 0;
  try {
    for await (const value of decoder as AsyncIterable<AvroFeatureVector>) {
      record++;
      const r = value;
      if (!r || typeof r.entity_id !== 'string' || !Array.isArray(r.values) || !Array.isArray(r.feature_names) || r.values.length !== r.feature_names.length) {
        onMalformed(record, 'record is not a FeatureVector (schemas/feature-vector.avsc)');
        continue;
      }
      yield { line: record, vector: featureVectorFromAvro(r) };
    }
  } catch (error) {
    // A corrupt block cannot be skipped: the rest of the file is unreadable.
    onMalformed(record + 1, `Avro container is corrupt from here on: ${(error as Error).message}`);
  }
}
