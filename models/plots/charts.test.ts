import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { histogramPng, lossCurvePng, rocCurvePng } from './charts.ts';
import { Raster } from './raster.ts';

const decode = (bytes: Buffer) => PNG.sync.read(bytes);
const isColored = (png: PNG, x: number, y: number) => {
  const i = (y * png.width + x) * 4;
  return !(png.data[i] === 255 && png.data[i + 1] === 255 && png.data[i + 2] === 255);
};

describe('charts', () => {
  it('rasterizes lines and text into a valid PNG', () => {
    const r = new Raster(40, 20);
    r.line(0, 0, 39, 19, [255, 0, 0]);
    r.text(1, 1, 'A1', [0, 0, 0], { scale: 1 });
    expect(r.get(0, 0)).toEqual([255, 0, 0]);
    expect(r.get(39, 19)).toEqual([255, 0, 0]);
    expect(r.get(3, 1)).toEqual([0, 0, 0]); // top of the A
    expect(r.get(1, 1)).toEqual([255, 255, 255]);
    const png = decode(r.toPng());
    expect([png.width, png.height]).toEqual([40, 20]);
  });

  it('draws the loss curve, a histogram with its threshold, and a ROC curve', () => {
    const loss = decode(lossCurvePng([{ loss: 1, valLoss: 1.2 }, { loss: 0.5, valLoss: 0.6 }, { loss: 0.2, valLoss: 0.3 }]));
    expect(loss.width).toBe(720);
    const hist = decode(histogramPng({ title: 'SCORES', xLabel: 'SCORE', groups: [{ name: 'normal', values: [10, 20, 20, 50] }], range: [0, 100], threshold: 95 }));
    // The dashed threshold line is drawn at x = 80 + 0.95 * 616.
    const x = Math.round(80 + 0.95 * 616);
    const hits = Array.from({ length: 200 }, (_, k) => isColored(hist, x, 150 + k)).filter(Boolean).length;
    expect(hits).toBeGreaterThan(60);
    const roc = decode(rocCurvePng([{ name: 'model', points: [{ fpr: 0, tpr: 0 }, { fpr: 0.1, tpr: 0.9 }, { fpr: 1, tpr: 1 }] }]));
    expect(roc.height).toBe(440);
  });
});
