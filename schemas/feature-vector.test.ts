import { readdirSync, readFileSync } from 'node:fs';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../core/errors.ts';
import {
  decodeFeatureVector, EARLIER_FINGERPRINTS, encodeFeatureVector, feature, FEATURE_SCHEMA_FINGERPRINT, type FeatureVector,
} from './feature-vector.ts';

const vector: FeatureVector = {
  entityId: 'operation:catalog:GetProduct', entityType: 'operation', service: 'catalog', operation: 'GetProduct',
  windowStartMs: Date.UTC(2026, 0, 1), windowEndMs: Date.UTC(2026, 0, 1) + 10_000,
  featureNames: ['request_count', 'error_ratio'], values: [42, 0.25], sampleCount: 42,
  exemplars: [{ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), reason: 'error', value: 12.5, statusMessage: 'boom' }, { traceId: 'c'.repeat(32), spanId: 'd'.repeat(16), reason: 'slowest', value: 99 }],
};

const v2: FeatureVector = {
  ...vector, entityId: 'pod:shop/catalog-7d9f', entityType: 'pod', operation: undefined,
  exemplars: [{ traceId: 'e'.repeat(32), spanId: 'f'.repeat(16), reason: 'largest', value: 1e6 }],
  attributes: { 'k8s.pod.name': 'catalog-7d9f', 'k8s.namespace.name': 'shop' },
  examples: { new_binaries: ['/tmp/x'], shell_execs: ['sh -c id'] },
};

const schemaDir = new URL('./', import.meta.url);
const fingerprint = (t: avro.Type) => t.fingerprint('sha256').toString('hex').slice(0, 16);

describe('feature vector Avro encoding', () => {
  it('round-trips every field', () => {
    expect(decodeFeatureVector(encodeFeatureVector(vector))).toEqual(vector);
    expect(decodeFeatureVector(encodeFeatureVector(v2), FEATURE_SCHEMA_FINGERPRINT)).toEqual(v2);
    expect(feature(vector, 'error_ratio')).toBe(0.25);
    expect(feature(vector, 'missing')).toBeUndefined();
  });

  it('rejects bytes of another shape, and unknown writer schemas, with a DecodeError naming the schema', () => {
    expect(() => decodeFeatureVector(Buffer.from('not avro at all'))).toThrow(DecodeError);
    expect(() => decodeFeatureVector(Buffer.from('not avro at all'))).toThrow(FEATURE_SCHEMA_FINGERPRINT);
    expect(() => decodeFeatureVector(encodeFeatureVector(vector), '0123456789abcdef')).toThrow(/unknown schema 0123456789abcdef/);
  });

  it('has a stable fingerprint', () => {
    expect(FEATURE_SCHEMA_FINGERPRINT).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('feature vector schema evolution', () => {
  const versions = readdirSync(schemaDir).filter((f) => /^feature-vector\.v\d+\.avsc$/.test(f)).sort();

  it('keeps every earlier version as a file the current reader knows', () => {
    expect(versions.length).toBeGreaterThanOrEqual(1);
    const known = versions.map((f) => fingerprint(avro.Type.forSchema(JSON.parse(readFileSync(new URL(f, schemaDir), 'utf8')))));
    expect([...known].sort()).toEqual([...EARLIER_FINGERPRINTS].sort());
    expect(known).not.toContain(FEATURE_SCHEMA_FINGERPRINT);
  });

  it.each(versions)("reads %s's data with the current reader", (file) => {
    const writer = avro.Type.forSchema(JSON.parse(readFileSync(new URL(file, schemaDir), 'utf8')));
    for (let i = 0; i < 50; i++) {
      const record = writer.random() as unknown as Record<string, unknown>;
      const decoded = decodeFeatureVector(writer.toBuffer(record), fingerprint(writer));
      expect(decoded.entityId).toBe(record.entity_id);
      expect(decoded.entityType).toBe(record.entity_type);
      expect(decoded.featureNames).toEqual(record.feature_names);
      expect(decoded.values).toEqual(record.values);
      expect(decoded.exemplars.map((e) => e.traceId)).toEqual((record.exemplars as Array<{ trace_id: string }>).map((e) => e.trace_id));
    }
  });

  it('reads a v1 record written by the wave-1 stage (golden bytes) with the defaults of the new fields', () => {
    // encodeFeatureVector(vector) of the v1 schema, captured before v2.
    const v1Bytes = Buffer.from(readFileSync(new URL('./testdata/feature-vector.v1.bin', schemaDir)));
    const decoded = decodeFeatureVector(v1Bytes, EARLIER_FINGERPRINTS[0]);
    expect(decoded).toEqual(vector);
    expect(decoded.attributes).toBeUndefined();
  });
});
