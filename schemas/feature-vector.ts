import { readFileSync } from 'node:fs';
import avro from 'avsc';
import { DecodeError } from '../core/errors.ts';

export type EntityType = 'service' | 'operation' | 'edge' | 'client' | 'host' | 'process';

export interface Exemplar {
  traceId: string;
  spanId: string;
  reason: 'error' | 'slowest';
  value: number;
  statusMessage?: string;
}

/** What the features stage emits per (entity, window); see feature-vector.avsc. */
export interface FeatureVector {
  entityId: string;
  entityType: EntityType;
  service: string;
  operation?: string;
  windowStartMs: number;
  windowEndMs: number;
  featureNames: string[];
  values: number[];
  sampleCount: number;
  exemplars: Exemplar[];
}

const schema = JSON.parse(readFileSync(new URL('./feature-vector.avsc', import.meta.url), 'utf8'));
const type = avro.Type.forSchema(schema);

/** The schema's fingerprint: models record it and detectors refuse a model trained on another. */
export const FEATURE_SCHEMA_FINGERPRINT: string = type.fingerprint('sha256').toString('hex').slice(0, 16);
export const FINGERPRINT_HEADER = 'peregrine-schema';

export function encodeFeatureVector(v: FeatureVector): Buffer {
  return type.toBuffer({
    entity_id: v.entityId,
    entity_type: v.entityType,
    service: v.service,
    operation: v.operation ?? null,
    window_start: v.windowStartMs,
    window_end: v.windowEndMs,
    feature_names: v.featureNames,
    values: v.values,
    sample_count: v.sampleCount,
    exemplars: v.exemplars.map((e) => ({ trace_id: e.traceId, span_id: e.spanId, reason: e.reason, value: e.value, status_message: e.statusMessage ?? null })),
  });
}

interface AvroFeatureVector {
  entity_id: string; entity_type: EntityType; service: string; operation: string | null;
  window_start: number; window_end: number; feature_names: string[]; values: number[]; sample_count: number;
  exemplars: Array<{ trace_id: string; span_id: string; reason: 'error' | 'slowest'; value: number; status_message: string | null }>;
}

export function decodeFeatureVector(bytes: Buffer): FeatureVector {
  let r: AvroFeatureVector;
  try {
    r = type.fromBuffer(bytes) as AvroFeatureVector;
  } catch (e) {
    throw new DecodeError(`not a FeatureVector (schema ${FEATURE_SCHEMA_FINGERPRINT}): ${(e as Error).message}`, { cause: e });
  }
  return {
    entityId: r.entity_id,
    entityType: r.entity_type,
    service: r.service,
    operation: r.operation ?? undefined,
    windowStartMs: r.window_start,
    windowEndMs: r.window_end,
    featureNames: r.feature_names,
    values: r.values,
    sampleCount: r.sample_count,
    exemplars: r.exemplars.map((e) => ({ traceId: e.trace_id, spanId: e.span_id, reason: e.reason, value: e.value, statusMessage: e.status_message ?? undefined })),
  };
}

/** Reads one feature by name (vectors carry their names, so readers never depend on positions). */
export function feature(v: FeatureVector, name: string): number | undefined {
  const i = v.featureNames.indexOf(name);
  return i < 0 ? undefined : v.values[i];
}
