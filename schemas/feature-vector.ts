import { readFileSync } from 'node:fs';
import avro from 'avsc';
import { DecodeError } from '../core/errors.ts';

export const ENTITY_TYPES = ['service', 'operation', 'edge', 'client', 'host', 'process', 'pod'] as const;
export type EntityType = (typeof ENTITY_TYPES)[number];
export type ExemplarReason = 'error' | 'slowest' | 'largest';

export interface Exemplar {
  traceId: string;
  spanId: string;
  reason: ExemplarReason;
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
  /** ECS fields a finding needs (`service.name`, `source.ip`, `host.name` ...), whichever apply. */
  attributes?: Record<string, string>;
  /** A few concrete examples per named list (`new_binaries`, `missing_routes`, `identities` ...). */
  examples?: Record<string, string[]>;
}

function load(file: string): avro.Type {
  return avro.Type.forSchema(JSON.parse(readFileSync(new URL(file, import.meta.url), 'utf8')));
}

function fingerprintOf(t: avro.Type): string {
  return t.fingerprint('sha256').toString('hex').slice(0, 16);
}

const type = load('./feature-vector.avsc');

/** The schema's fingerprint: models record it and detectors refuse a model trained on another. */
export const FEATURE_SCHEMA_FINGERPRINT: string = fingerprintOf(type);
export const FINGERPRINT_HEADER = 'peregrine-schema';

/**
 * Every earlier version of the schema, by fingerprint, with a resolver that reads its records with the current
 * schema (new fields take their defaults). Each version's file stays in schemas/ for as long as data written with it
 * may be read.
 */
const EARLIER_VERSIONS = ['./feature-vector.v1.avsc'];
const resolvers = new Map<string, avro.Resolver>(); // fingerprint → resolver
for (const file of EARLIER_VERSIONS) {
  const writer = load(file);
  resolvers.set(fingerprintOf(writer), type.createResolver(writer));
}

/** Fingerprints of the earlier versions the current reader accepts (the header of their records names them). */
export const EARLIER_FINGERPRINTS: readonly string[] = [...resolvers.keys()];

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
    attributes: v.attributes ?? {},
    examples: v.examples ?? {},
  });
}

/** A record as avsc reads it (timestamps may come as Date or number depending on logical-type handling). */
export interface AvroFeatureVector {
  entity_id: string; entity_type: EntityType; service: string; operation: string | null;
  window_start: number | Date; window_end: number | Date; feature_names: string[]; values: number[]; sample_count: number;
  exemplars: Array<{ trace_id: string; span_id: string; reason: ExemplarReason; value: number; status_message: string | null }>;
  attributes?: Record<string, string>;
  examples?: Record<string, string[]>;
}

const millis = (t: number | Date) => (t instanceof Date ? t.getTime() : Number(t));

/** The TypeScript shape of a decoded Avro record (any version read through the current schema). */
export function featureVectorFromAvro(r: AvroFeatureVector): FeatureVector {
  const v: FeatureVector = {
    entityId: r.entity_id,
    entityType: r.entity_type,
    service: r.service,
    operation: r.operation ?? undefined,
    windowStartMs: millis(r.window_start),
    windowEndMs: millis(r.window_end),
    featureNames: r.feature_names,
    values: r.values,
    sampleCount: Number(r.sample_count),
    exemplars: (r.exemplars ?? []).map((e) => ({ traceId: e.trace_id, spanId: e.span_id, reason: e.reason, value: e.value, statusMessage: e.status_message ?? undefined })),
  };
  if (r.attributes && Object.keys(r.attributes).length > 0) v.attributes = r.attributes;
  if (r.examples && Object.keys(r.examples).length > 0) v.examples = r.examples;
  return v;
}

/**
 * Decodes a record written with the current schema, or with an earlier one when `writerFingerprint` (the record's
 * `peregrine-schema` header) names it. An unknown fingerprint or bytes of another shape raise DecodeError.
 */
export function decodeFeatureVector(bytes: Buffer, writerFingerprint?: string): FeatureVector {
  let r: AvroFeatureVector;
  const resolver = writerFingerprint === undefined || writerFingerprint === FEATURE_SCHEMA_FINGERPRINT ? undefined : resolvers.get(writerFingerprint);
  if (writerFingerprint !== undefined && writerFingerprint !== FEATURE_SCHEMA_FINGERPRINT && resolver === undefined) {
    throw new DecodeError(`feature vector written with unknown schema ${writerFingerprint} (this reader: ${FEATURE_SCHEMA_FINGERPRINT}, earlier: ${EARLIER_FINGERPRINTS.join(', ')})`);
  }
  try {
    r = (resolver ? type.fromBuffer(bytes, resolver) : type.fromBuffer(bytes)) as AvroFeatureVector;
  } catch (e) {
    throw new DecodeError(`not a FeatureVector (schema ${writerFingerprint ?? FEATURE_SCHEMA_FINGERPRINT}): ${(e as Error).message}`, { cause: e });
  }
  return featureVectorFromAvro(r);
}

/** Reads one feature by name (vectors carry their names, so readers never depend on positions). */
export function feature(v: FeatureVector, name: string): number | undefined {
  const i = v.featureNames.indexOf(name);
  return i < 0 ? undefined : v.values[i];
}
