import { describe, expect, it } from 'vitest';
import { detectionMetrics } from './metrics.ts';
import { halfOf } from './split.ts';

describe('detectionMetrics', () => {
  it('gives AUC 1 and full TPR at any FPR when the classes separate', () => {
    const m = detectionMetrics([0.1, 0.2, 0.9, 0.8], [false, false, true, true], [0.01]);
    expect(m.rocAuc).toBe(1);
    expect(m.operatingPoints[0]).toMatchObject({ tpr: 1, fpr: 0 });
    expect(m.bestF1.f1).toBe(1);
  });

  it('counts ties half in the AUC and never splits a tied group at an operating point', () => {
    const m = detectionMetrics([1, 1, 0], [true, false, false], [0.4, 0.5]);
    expect(m.rocAuc).toBeCloseTo(0.75, 10); // positive vs tied negative 0.5, vs lower negative 1
    expect(m.operatingPoints[0]).toMatchObject({ tpr: 0, fpr: 0 }); // flagging the tie costs FPR 0.5 > 0.4
    expect(m.operatingPoints[1]).toMatchObject({ tpr: 1, fpr: 0.5 });
  });

  it('computes an inverted ranking as AUC 0', () => {
    expect(detectionMetrics([0, 1], [true, false]).rocAuc).toBe(0);
  });
});

describe('halfOf', () => {
  it('splits ids deterministically into two halves of about equal size', () => {
    expect(halfOf('test-normal-1')).toBe(halfOf('test-normal-1'));
    let tune = 0;
    for (let i = 0; i < 2000; i++) if (halfOf(`id-${i}`) === 'tune') tune++;
    expect(tune).toBeGreaterThan(900);
    expect(tune).toBeLessThan(1100);
  });
});

describe('evaluationReport', () => {
  it('reports full, TUNE and HOLDOUT sets with and without shortcut requests, and formats them with the anchors', async () => {
    const { evaluationReport, formatReport } = await import('./evaluate.ts');
    const rows = Array.from({ length: 200 }, (_, i) => ({ id: `r-${i}`, score: i, anomalous: i >= 150, shortcut: i >= 190 }));
    const report = evaluationReport(rows);
    expect(report.shortcutRows).toBe(10);
    expect(report.sets.full.all.anomalies).toBe(50);
    expect(report.sets.full.withoutShortcuts.anomalies).toBe(40);
    expect(report.sets.tune.all.normals + report.sets.holdout.all.normals).toBe(150);
    expect(report.sets.full.all.rocAuc).toBe(1);
    const text = formatReport(report);
    expect(text).toContain('holdout  no shortcuts');
    expect(text).toContain('Parhizkar & Abadi 2015');
    expect(text).toContain('TPR@0.1%');
  });
});
