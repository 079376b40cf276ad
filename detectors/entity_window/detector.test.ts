import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateWindowVectors } from '../../models/window/synthetic.fixture.ts';
import { ENTITY_WINDOW_DETECTOR, EntityWindowDetector } from './detector.ts';
import { WindowModel } from '../../models/window/model.ts';

describe('EntityWindowDetector', () => {
  let model: WindowModel;
  const test = generateWindowVectors({ seed: 2, entities: 10, windowsPerEntity: 30, anomalyRate: 0.1 });

  beforeAll(async () => {
    model = await WindowModel.train(generateWindowVectors({ seed: 1, entities: 10, windowsPerEntity: 80 }).map((s) => s.vector), { seed: 3, epochs: 12, batchSize: 128 });
  }, 180_000);
  afterAll(() => model?.dispose());

  it('reports planted anomalies, explained by the planted feature first, and names the model', () => {
    const detector = new EntityWindowDetector({ model, name: 'peregrine-entity-window', version: '4' }, { minRequests: 1 });
    const planted = test.filter((s) => s.planted);
    expect(planted.length).toBeGreaterThan(10);
    const findings = planted.map((s) => ({ s, f: detector.score(s.vector) }));
    const found = findings.filter(({ f }) => f !== undefined);
    expect(found.length / planted.length).toBeGreaterThan(0.9);
    const { s, f } = found[0];
    expect(f).toMatchObject({
      detector: ENTITY_WINDOW_DETECTOR, entityId: s.vector.entityId, windowStartMs: s.vector.windowStartMs, windowEndMs: s.vector.windowEndMs,
      model: { name: 'peregrine-entity-window', version: '4' },
    });
    expect(f!.riskScore).toBeGreaterThanOrEqual(model.alertScore);
    expect(f!.explanation).toHaveLength(3);
    const explainedFirst = found.filter(({ s: v, f: g }) => g!.explanation[0].feature === v.planted).length;
    expect(explainedFirst / found.length).toBeGreaterThan(0.7);
    expect(f!.message).toContain(`(typically `);
  });

  it('stays quiet on most normal windows and skips windows with too few requests', () => {
    const detector = new EntityWindowDetector({ model, name: 'm', version: '1' }, { minRequests: 1 });
    const normal = test.filter((s) => !s.planted);
    const alerts = normal.filter((s) => detector.score(s.vector) !== undefined).length;
    expect(alerts / normal.length).toBeLessThan(0.1);
    const strict = new EntityWindowDetector({ model, name: 'm', version: '1' }, { minRequests: 1e9 });
    expect(test.filter((s) => s.planted).some((s) => strict.score(s.vector) !== undefined)).toBe(false);
  });

  it('uses the configured alert score over the model\'s, and a swapped model from then on', () => {
    const planted = test.find((s) => s.planted)!.vector;
    const never = new EntityWindowDetector({ model, name: 'm', version: '1' }, { minRequests: 1, alertScore: 100.5 });
    expect(never.score(planted)).toBeUndefined();
    const detector = new EntityWindowDetector({ model, name: 'm', version: '1' }, { minRequests: 1 });
    detector.useModel({ model, name: 'm', version: '2' });
    expect(detector.score(planted)?.model).toEqual({ name: 'm', version: '2' });
  });
});
