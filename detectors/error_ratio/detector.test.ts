import { describe, expect, it } from 'vitest';
import { OPERATION_FEATURES } from '../../features/window/vector.ts';
import type { FeatureVector } from '../../schemas/feature-vector.ts';
import { ErrorRatioDetector } from './detector.ts';

function vector(windowIndex: number, count: number, errors: number): FeatureVector {
  const values = OPERATION_FEATURES.map((name) => ({ request_count: count, error_count: errors, error_ratio: errors / count } as Record<string, number>)[name] ?? 5);
  return {
    entityId: 'operation:catalog:GetProduct', entityType: 'operation', service: 'catalog', operation: 'GetProduct',
    windowStartMs: windowIndex * 10_000, windowEndMs: (windowIndex + 1) * 10_000, featureNames: [...OPERATION_FEATURES], values,
    sampleCount: count, exemplars: errors ? [{ traceId: `trace${windowIndex}`, spanId: 's', reason: 'error', value: 3, statusMessage: 'boom' }] : [],
  };
}

describe('ErrorRatioDetector', () => {
  const settings = { warmupWindows: 3, minRequests: 5, threshold: 0.2 };

  it('stays quiet on normal traffic and flags the spike with its failing trace', () => {
    const d = new ErrorRatioDetector(settings);
    for (let i = 0; i < 6; i++) expect(d.score(vector(i, 40, i % 2))).toBeUndefined();
    const f = d.score(vector(6, 40, 16));
    expect(f).toBeDefined();
    expect(f!.exemplars[0]!.traceId).toBe('trace6');
    expect(f!.riskScore).toBeGreaterThan(50);
    expect(f!.explanation[0]).toMatchObject({ feature: 'error_ratio', actual: 0.4 });
    expect(f!.message).toMatch(/40\.0% of 40 requests failed.*boom/);
    // the incident goes on: the baseline did not learn it
    expect(d.score(vector(7, 40, 16))).toBeDefined();
  });

  it('judges operations only (the same requests\' service, edge and client windows would repeat the finding)', () => {
    const d = new ErrorRatioDetector(settings);
    const asService = (v: FeatureVector): FeatureVector => ({ ...v, entityId: 'service:catalog', entityType: 'service', operation: undefined });
    for (let i = 0; i < 6; i++) d.score(asService(vector(i, 40, 0)));
    expect(d.score(asService(vector(6, 40, 30)))).toBeUndefined();
  });

  it('needs a warm baseline and enough requests', () => {
    const d = new ErrorRatioDetector(settings);
    expect(d.score(vector(0, 40, 30))).toBeUndefined();
    for (let i = 1; i < 5; i++) d.score(vector(i, 40, 0));
    expect(d.score(vector(5, 3, 3))).toBeUndefined();
  });

  it('does not judge a replayed window twice', () => {
    const d = new ErrorRatioDetector(settings);
    for (let i = 0; i < 4; i++) d.score(vector(i, 40, 0));
    expect(d.score(vector(4, 40, 20))).toBeDefined();
    expect(d.score(vector(4, 40, 20))).toBeUndefined();
  });
});
