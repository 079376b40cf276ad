/** Training and evaluation charts as PNG: line charts (loss curve, ROC) and overlaid histograms with a threshold. Pure. */
import { Raster, type Rgb } from './raster.ts';

export const PALETTE: readonly Rgb[] = [[31, 119, 180], [214, 39, 40], [44, 160, 44], [255, 127, 14], [148, 103, 189]];
const AXIS: Rgb = [60, 60, 60];
const GRID: Rgb = [225, 225, 225];
const WIDTH = 720, HEIGHT = 440;
const FRAME = { left: 80, right: 24, top: 48, bottom: 56 };

export interface Series { name: string; points: ReadonlyArray<readonly [number, number]>; color?: Rgb }

interface Axes { x0: number; x1: number; y0: number; y1: number }

function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

function frame(r: Raster, axes: Axes, title: string, xLabel: string, yLabel: string) {
  const plotW = WIDTH - FRAME.left - FRAME.right, plotH = HEIGHT - FRAME.top - FRAME.bottom;
  const px = (x: number) => FRAME.left + ((x - axes.x0) / (axes.x1 - axes.x0 || 1)) * plotW;
  const py = (y: number) => FRAME.top + plotH - ((y - axes.y0) / (axes.y1 - axes.y0 || 1)) * plotH;
  for (const t of niceTicks(axes.x0, axes.x1)) {
    r.line(px(t), FRAME.top, px(t), FRAME.top + plotH, GRID);
    r.text(px(t), FRAME.top + plotH + 8, formatTick(t), AXIS, { align: 'center' });
  }
  for (const t of niceTicks(axes.y0, axes.y1)) {
    r.line(FRAME.left, py(t), FRAME.left + plotW, py(t), GRID);
    r.text(FRAME.left - 8, py(t) - 7, formatTick(t), AXIS, { align: 'right' });
  }
  r.line(FRAME.left, FRAME.top + plotH, FRAME.left + plotW, FRAME.top + plotH, AXIS, 2);
  r.line(FRAME.left, FRAME.top, FRAME.left, FRAME.top + plotH, AXIS, 2);
  r.text(WIDTH / 2, 14, title, [0, 0, 0], { align: 'center' });
  r.text(FRAME.left + plotW / 2, HEIGHT - 22, xLabel, AXIS, { align: 'center' });
  r.text(10, FRAME.top + plotH / 2, yLabel, AXIS, { align: 'center', vertical: true });
  return { px, py, plotW, plotH };
}

function legend(r: Raster, entries: Array<{ name: string; color: Rgb }>) {
  let y = FRAME.top + 8;
  for (const e of entries) {
    const x = WIDTH - FRAME.right - 12 - (e.name.length * 12 + 26);
    r.fillRect(x, y + 2, x + 16, y + 11, e.color);
    r.text(x + 24, y, e.name, AXIS);
    y += 20;
  }
}

function extent(values: number[], pad = 0.05): [number, number] {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return [0, 1];
  let lo = Math.min(...finite), hi = Math.max(...finite);
  if (hi === lo) { lo -= 0.5; hi += 0.5; }
  const span = hi - lo;
  return [lo - span * pad, hi + span * pad];
}

export function lineChartPng(options: { title: string; xLabel: string; yLabel: string; series: Series[]; xRange?: [number, number]; yRange?: [number, number]; diagonal?: boolean; logY?: boolean }): Buffer {
  const r = new Raster(WIDTH, HEIGHT);
  const ty = (y: number) => (options.logY ? Math.log10(Math.max(y, 1e-12)) : y);
  const all = options.series.flatMap((s) => s.points);
  const [x0, x1] = options.xRange ?? extent(all.map((p) => p[0]), 0);
  const [y0, y1] = options.yRange ?? extent(all.map((p) => ty(p[1])));
  const { px, py } = frame(r, { x0, x1, y0, y1 }, options.title, options.xLabel, options.logY ? `LOG10 ${options.yLabel}` : options.yLabel);
  if (options.diagonal) r.line(px(x0), py(y0), px(x1), py(y1), [150, 150, 150], 1, 6);
  options.series.forEach((s, i) => r.polyline(s.points.map(([x, y]) => [px(x), py(ty(y))] as const), s.color ?? PALETTE[i % PALETTE.length], 2));
  legend(r, options.series.map((s, i) => ({ name: s.name, color: s.color ?? PALETTE[i % PALETTE.length] })));
  return r.toPng();
}

/** Overlaid histograms (each normalised to its own count) with an optional vertical threshold line. */
export function histogramPng(options: { title: string; xLabel: string; groups: Array<{ name: string; values: ArrayLike<number>; color?: Rgb }>; range: [number, number]; bins?: number; threshold?: number }): Buffer {
  const r = new Raster(WIDTH, HEIGHT);
  const bins = options.bins ?? 50;
  const [lo, hi] = options.range;
  const width = (hi - lo) / bins;
  const fractions = options.groups.map((g) => {
    const counts = new Array<number>(bins).fill(0);
    for (let i = 0; i < g.values.length; i++) {
      const v = g.values[i];
      if (!Number.isFinite(v)) continue;
      counts[Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / width)))]++;
    }
    return counts.map((c) => (g.values.length ? c / g.values.length : 0));
  });
  const top = Math.max(1e-9, ...fractions.flat()) * 1.08;
  const { px, py } = frame(r, { x0: lo, x1: hi, y0: 0, y1: top }, options.title, options.xLabel, 'SHARE OF ROWS');
  fractions.forEach((f, g) => {
    const color = options.groups[g].color ?? PALETTE[g % PALETTE.length];
    // Bars of later groups are drawn narrower so overlapping groups stay visible.
    const inset = g * 2;
    f.forEach((share, b) => {
      if (share > 0) r.fillRect(px(lo + b * width) + 1 + inset, py(share), px(lo + (b + 1) * width) - 1 - inset, py(0) - 1, color);
    });
  });
  if (options.threshold !== undefined && Number.isFinite(options.threshold)) {
    const x = px(Math.min(hi, Math.max(lo, options.threshold)));
    r.line(x, py(top), x, py(0), [0, 0, 0], 2, 6);
    r.text(x - 6, py(top * 0.55), `THRESHOLD ${formatTick(options.threshold)}`, [0, 0, 0], { align: 'right' });
  }
  legend(r, options.groups.map((g, i) => ({ name: g.name, color: g.color ?? PALETTE[i % PALETTE.length] })));
  return r.toPng();
}

export function lossCurvePng(history: ReadonlyArray<Record<string, number>>, keys: readonly string[] = ['loss', 'val_loss']): Buffer {
  const series = keys
    .filter((k) => history.some((h) => Number.isFinite(h[k])))
    .map((k) => ({ name: k === 'valLoss' || k === 'val_loss' ? 'validation' : k === 'loss' ? 'training' : k, points: history.map((h, i) => [i + 1, h[k]] as const).filter((p) => Number.isFinite(p[1])) }));
  return lineChartPng({ title: 'LOSS CURVE', xLabel: 'EPOCH', yLabel: 'LOSS', series, logY: true });
}

export function rocCurvePng(curves: Array<{ name: string; points: ReadonlyArray<{ fpr: number; tpr: number }> }>): Buffer {
  return lineChartPng({
    title: 'ROC CURVE', xLabel: 'FALSE POSITIVE RATE', yLabel: 'TRUE POSITIVE RATE', diagonal: true, xRange: [0, 1], yRange: [0, 1.02],
    series: curves.map((c) => ({ name: c.name, points: c.points.map((p) => [p.fpr, p.tpr] as const) })),
  });
}
