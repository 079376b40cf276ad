import { describe, expect, it } from 'vitest';
import { DecodeError } from '../core/errors.ts';
import { decodeFeatureVector, encodeFeatureVector, feature, FEATURE_SCHEMA_FINGERPRINT, type FeatureVector } from './feature-vector.ts';

const vector: FeatureVector = {
  entityId: 'operation:catalog:GetProduct', entityType: 'operation', service: 'catalog', operation: 'GetProduct',
  windowStartMs: Date.UTC(2026, 0, 1), windowEndMs: Date.UTC(2026, 0, 1) + 10_000,
  featureNames: ['request_count', 'error_ratio'], values: [42, 0.25], sampleCount: 42,
  exemplars: [{ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), reason: 'error', value: 12.5, statusMessage: 'boom' }, { traceId: 'c'.repeat(32), spanId: 'd'.repeat(16), reason: 'slowest', value: 99 }],
};

describe('feature vector Avro encoding', () => {
  it('round-trips every field', () => {
    expect(decodeFeatureVector(encodeFeatureVector(vector))).toEqual(vector);
    expect(feature(vector, 'error_ratio')).toBe(0.25);
    expect(feature(vector, 'missing')).toBeUndefined();
  });
  it('rejects bytes of another shape with a DecodeError naming the schema', () => {
    expect(() => decodeFeatureVector(Buffer.from('not avro at all'))).toThrow(DecodeError);
    expect(() => decodeFeatureVector(Buffer.from('not avro at all'))).toThrow(FEATURE_SCHEMA_FINGERPRINT);
  });
  it('has a stable fingerprint', () => {
    expect(FEATURE_SCHEMA_FINGERPRINT).toMatch(/^[0-9a-f]{16}$/);
  });
});
