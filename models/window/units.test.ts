import { describe, expect, it } from 'vitest';
import { calibratedScore, fitCalibration } from './calibration.ts';
import { parseFeatureVectorLine } from './input.ts';
import { detectionSummary } from './metrics.ts';
import { fitScaling, isHeavyTailed, scaleValue, unscaleValue } from './scaling.ts';
import { seededRandom } from './random.ts';

describe('scaling', () => {
  const random = seededRandom(5);
  const normal = Array.from({ length: 2000 }, () => 100 + 10 * random.normal());
  const heavy = Array.from({ length: 2000 }, () => Math.exp(2 * random.normal()));

  it('chooses log1p for heavy tails only, and is robust', () => {
    expect(isHeavyTailed(Float64Array.from(normal).sort())).toBe(false);
    expect(isHeavyTailed(Float64Array.from(heavy).sort())).toBe(true);
    const s = fitScaling(['a', 'b'], [normal, heavy]);
    expect(s.features.map((f) => f.transform)).toEqual(['identity', 'log1p']);
    expect(s.features[0].center).toBeCloseTo(100, 0);
    expect(s.features[0].scale).toBeCloseTo(10, 0);
    expect(unscaleValue(s.features[1], scaleValue(s.features[1], 42))).toBeCloseTo(42, 6);
    expect(scaleValue(s.features[0], NaN)).toBe(0);
  });

  it('never divides by zero for constant features', () => {
    const s = fitScaling(['zero'], [new Array(100).fill(0)]);
    expect(s.features[0].scale).toBe(1);
  });
});

describe('calibration', () => {
  const errors = Array.from({ length: 1000 }, (_, i) => (i + 1) / 1000);
  const c = fitCalibration(errors);
  it('maps the held-out median to about 50 and its maximum to 99, beyond to (99, 100)', () => {
    expect(calibratedScore(c, 0.5)).toBeCloseTo(49.5, 0);
    expect(calibratedScore(c, 1)).toBeCloseTo(99, 5);
    expect(calibratedScore(c, 10)).toBeCloseTo(99.9, 5);
    expect(calibratedScore(c, 0)).toBe(0);
    expect(calibratedScore(c, 0.25)).toBeLessThan(calibratedScore(c, 0.26));
  });
});

describe('metrics', () => {
  it('computes ROC AUC, TPR at FPR and best F1', () => {
    const s = detectionSummary([0.1, 0.2, 0.3, 0.9, 0.8, 0.35], [false, false, false, true, true, true]);
    expect(s.rocAuc).toBeCloseTo(1, 10);
    const half = detectionSummary([1, 1, 1, 1], [true, false, true, false]);
    expect(half.rocAuc).toBeCloseTo(0.5, 10);
    expect(detectionSummary([0.9, 0.1, 0.8, 0.2], [true, false, false, true]).bestF1).toBeCloseTo(0.8, 10);
  });
});

describe('input rows', () => {
  it('parses a feature vector line, with null as a missing value, and names what is wrong', () => {
    const ok = parseFeatureVectorLine(JSON.stringify({ entityId: 'e', windowStartMs: 0, windowEndMs: 60000, featureNames: ['a', 'b'], values: [1, null], label: 'anomalous' }));
    expect('vector' in ok && ok.vector.values[1]).toBeNaN();
    expect('vector' in ok && ok.label).toBe('anomalous');
    expect(parseFeatureVectorLine('{"entityId": 1}')).toEqual({ error: expect.stringContaining('entityId') });
    expect(parseFeatureVectorLine(JSON.stringify({ entityId: 'e', windowStartMs: 0, windowEndMs: 1, featureNames: ['a'], values: [1, 2] }))).toEqual({ error: 'values: values and featureNames differ in length' });
    expect(parseFeatureVectorLine('nope')).toEqual({ error: expect.stringMatching(/^not JSON/) });
  });
});
