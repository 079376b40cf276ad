/**
 * Throughput of the streaming series detector on one core (this runs on the calling thread):
 * the detector alone, and the CSV line parser + detector + output formatting without disk I/O.
 */
import { Writable } from 'node:stream';
import { SeriesDetector } from '../../models/series/detector.ts';
import { scoreLines } from '../../models/series/score.ts';

export interface SeriesBenchFigures {
  /** Detector `update` calls per second of this thread's CPU time (one core; not skewed by a busy machine). */
  detectorPointsPerSecond: number;
  /** The same per second of wall time. */
  detectorPointsPerWallSecond: number;
  /** CSV lines parsed, scored and formatted per second of CPU time (in memory, no disk). */
  csvPointsPerSecond: number;
  points: number;
  series: number;
}

/** A seeded synthetic NAB-like stream: daily cycle, noise, occasional spikes and one level shift per series. */
function syntheticSeries(seed: number, points: number): { t: Float64Array; v: Float64Array } {
  let s = seed >>> 0;
  const rand = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const t = new Float64Array(points);
  const v = new Float64Array(points);
  const start = Date.UTC(2024, 0, 1);
  for (let i = 0; i < points; i++) {
    t[i] = start + i * 300_000;
    const daily = Math.sin((2 * Math.PI * (i % 288)) / 288);
    const spike = rand() < 0.002 ? 8 : 0;
    const shift = i > points * 0.7 ? 3 : 0;
    v[i] = 50 + 10 * daily + (rand() - 0.5) * 4 + spike + shift;
  }
  return { t, v };
}

function cpuSeconds(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1e6;
}

function sink(): Writable {
  return new Writable({ write: (_chunk, _encoding, done) => done() });
}

export async function benchSeries(options: { series?: number; pointsPerSeries?: number } = {}): Promise<SeriesBenchFigures> {
  const seriesCount = options.series ?? 20;
  const perSeries = options.pointsPerSeries ?? 100_000;
  const data = Array.from({ length: seriesCount }, (_, i) => syntheticSeries(1234 + i, perSeries));

  // Warm the JIT on a short run first, so the figure is the steady state a long-running stream sees.
  const warm = new SeriesDetector();
  for (let i = 0; i < 20_000; i++) warm.update(data[0].t[i], data[0].v[i]);

  let checksum = 0;
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (const { t, v } of data) {
    const detector = new SeriesDetector();
    for (let i = 0; i < perSeries; i++) checksum += detector.update(t[i], v[i]);
  }
  const detectorSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const detectorCpuSeconds = cpuSeconds(process.cpuUsage(cpu));
  if (Number.isNaN(checksum)) throw new Error('detector produced NaN');

  const csvSeries = Math.min(seriesCount, 4);
  // Batches of 1,000 lines, as a file read in 64 KiB chunks arrives.
  const batches = (k: number): string[][] => {
    const out: string[][] = [['timestamp,value']];
    for (let i = 0; i < perSeries; i++) {
      if (i % 1000 === 0) out.push([]);
      out[out.length - 1].push(`${new Date(data[k].t[i]).toISOString().slice(0, 19).replace('T', ' ')},${data[k].v[i].toFixed(3)}`);
    }
    return out;
  };
  const csv = Array.from({ length: csvSeries }, (_, k) => batches(k));
  const csvCpu = process.cpuUsage();
  for (const b of csv) await scoreLines(b, sink());
  const csvCpuSeconds = cpuSeconds(process.cpuUsage(csvCpu));

  return {
    detectorPointsPerSecond: Math.round((seriesCount * perSeries) / detectorCpuSeconds),
    detectorPointsPerWallSecond: Math.round((seriesCount * perSeries) / detectorSeconds),
    csvPointsPerSecond: Math.round((csvSeries * perSeries) / csvCpuSeconds),
    points: seriesCount * perSeries,
    series: seriesCount,
  };
}
