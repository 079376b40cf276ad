import { describe, expect, it } from 'vitest';
import { artifactProxyPath, chunkLogBatch, LOG_BATCH_LIMITS, validateLogBatch, type MlflowMetric } from './mlflow.ts';

const metrics = (n: number): MlflowMetric[] => Array.from({ length: n }, (_, i) => ({ key: `m${i}`, value: i, timestamp: 1000, step: 0 }));
const kv = (n: number, p: string) => Array.from({ length: n }, (_, i) => ({ key: `${p}${i}`, value: String(i) }));

describe('chunkLogBatch', () => {
  it('keeps a small batch in one request', () => {
    const chunks = chunkLogBatch({ metrics: metrics(3), params: kv(2, 'p') });
    expect(chunks).toHaveLength(1);
    expect(chunks[0]).toEqual({ metrics: metrics(3), params: kv(2, 'p'), tags: [] });
  });
  it('splits so no request exceeds any limit, and loses nothing', () => {
    const batch = { metrics: metrics(2500), params: kv(250, 'p'), tags: kv(130, 't') };
    const chunks = chunkLogBatch(batch);
    for (const c of chunks) {
      expect(c.metrics.length).toBeLessThanOrEqual(LOG_BATCH_LIMITS.metrics);
      expect(c.params.length).toBeLessThanOrEqual(LOG_BATCH_LIMITS.params);
      expect(c.tags.length).toBeLessThanOrEqual(LOG_BATCH_LIMITS.tags);
      expect(c.metrics.length + c.params.length + c.tags.length).toBeLessThanOrEqual(LOG_BATCH_LIMITS.total);
    }
    expect(chunks.flatMap((c) => c.metrics)).toEqual(batch.metrics);
    expect(chunks.flatMap((c) => c.params)).toEqual(batch.params);
    expect(chunks.flatMap((c) => c.tags)).toEqual(batch.tags);
  });
  it('makes no request for an empty batch', () => {
    expect(chunkLogBatch({})).toEqual([]);
  });
});

describe('validateLogBatch', () => {
  it('refuses a param MLflow would silently truncate', () => {
    expect(() => validateLogBatch({ params: [{ key: 'big', value: 'x'.repeat(6001) }] })).toThrow(/param "big" is 6001 characters/);
    expect(() => validateLogBatch({ params: [{ key: 'ok', value: 'x'.repeat(6000) }] })).not.toThrow();
  });
  it('refuses an empty key and a NaN metric', () => {
    expect(() => validateLogBatch({ tags: [{ key: '', value: 'v' }] })).toThrow(/tag key/);
    expect(() => validateLogBatch({ metrics: [{ key: 'm', value: Number.NaN, timestamp: 0 }] })).toThrow(/no numeric value/);
  });
});

describe('artifactProxyPath', () => {
  it('maps a run artifact URI and a relative path onto the proxy path', () => {
    expect(artifactProxyPath('mlflow-artifacts:/1/abc/artifacts', 'model/w.bin')).toBe('1/abc/artifacts/model/w.bin');
    expect(artifactProxyPath('mlflow-artifacts://127.0.0.1:5000/1/abc/artifacts/', '/x')).toBe('1/abc/artifacts/x');
    expect(artifactProxyPath('mlflow-artifacts:/1/abc/artifacts')).toBe('1/abc/artifacts');
  });
  it('refuses URIs the proxy does not serve and paths that climb out', () => {
    expect(() => artifactProxyPath('file:///tmp/x', 'a')).toThrow(/--serve-artifacts/);
    expect(() => artifactProxyPath('mlflow-artifacts:/1/abc/artifacts', '../other')).toThrow(/\.\./);
  });
});
