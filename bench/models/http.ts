/**
 * Benchmark of the HTTP request model on CSIC 2010: training time of the full model, and scoring throughput in
 * batches, per core (requests per CPU-second of this single-threaded process) and per wall-clock second; beside it,
 * in the same run, the signature checks alone and the live detector's combined scorer.
 * `benchHttpModel()` returns the figures; run this file directly to print them as one JSON line.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { initTf, tfBackendName } from '../../models/tf.ts';
import { evaluationReport, type LabelledScore } from '../../models/http/evaluate.ts';
import { readJsonLines } from '../../models/http/jsonl.ts';
import { HttpModel } from '../../models/http/model.ts';
import { assessRequests } from '../../models/http/assess.ts';
import type { HttpRequest, HttpRow } from '../../models/http/request.ts';
import { requestPartsOfRow, type RequestRowLike } from '../../models/http/signatures/parts.ts';
import { scanRequest } from '../../models/http/signatures/scan.ts';
import { modelView } from '../../models/http/view.ts';
import { sharedDataPath } from '../../core/testing/shared-data.ts';

export interface HttpBenchOptions {
  /** Folder with train-normal.jsonl.gz and dev.jsonl.gz. */
  dataDir?: string;
  batchSize?: number;
  /** Passes over the dev set when timing scoring. */
  passes?: number;
}

export interface HttpBenchResult {
  backend: string;
  trainRows: number;
  trainSeconds: number;
  trainCpuSeconds: number;
  batchSize: number;
  scoredRequests: number;
  /** Scoring parsed requests (the model's own work). */
  scoreRequestsPerCpuSecond: number;
  scoreRequestsPerSecond: number;
  /** From the JSON object of a row to its score (row parsing included). */
  endToEndRequestsPerCpuSecond: number;
  /** Signature checks alone on the raw rows (decoding, every field, every kind). */
  signaturesRequestsPerCpuSecond: number;
  /** The live detector's combined scorer: signatures + the model's view + the model + the risk (assessRequests). */
  combinedRequestsPerCpuSecond: number;
  /** Combined over model-only end to end, measured side by side in this run. */
  combinedCostRatio: number;
  /** Accuracy of the benchmarked model on the HOLDOUT half without shortcut requests. */
  holdoutNoShortcuts: { rocAuc: number; tprAtFpr1pct: number; tprAtFpr0_5pct: number; tprAtFpr0_1pct: number; bestF1: number };
}

const DEFAULT_DATA = sharedDataPath('csic2010');

export async function benchHttpModel(options: HttpBenchOptions = {}): Promise<HttpBenchResult> {
  const dataDir = options.dataDir ?? DEFAULT_DATA;
  const batchSize = options.batchSize ?? 512;
  const passes = options.passes ?? 5;
  await initTf();
  const train: HttpRequest[] = [];
  for await (const l of readJsonLines(path.join(dataDir, 'train-normal.jsonl.gz'))) if ('value' in l) train.push(modelView(l.value));
  const devRows: Array<Record<string, unknown>> = [];
  for await (const l of readJsonLines(path.join(dataDir, 'dev.jsonl.gz'))) if ('value' in l) devRows.push(l.value as Record<string, unknown>);

  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const model = await HttpModel.train(train);
  const trainSeconds = (performance.now() - wall0) / 1000;
  const trainCpuSeconds = cpuSeconds(process.cpuUsage(cpu0));

  const dev = devRows.map((r) => modelView(r));
  model.scoreBatch(dev.slice(0, batchSize)); // warm up
  let scored = 0;
  const cpu1 = process.cpuUsage();
  const wall1 = performance.now();
  for (let p = 0; p < passes; p++) {
    for (let i = 0; i < dev.length; i += batchSize) {
      model.scoreBatch(dev.slice(i, i + batchSize));
      scored += Math.min(batchSize, dev.length - i);
    }
  }
  const scoreCpu = cpuSeconds(process.cpuUsage(cpu1));
  const scoreWall = (performance.now() - wall1) / 1000;

  let endToEnd = 0;
  const cpu2 = process.cpuUsage();
  for (let p = 0; p < passes; p++) {
    for (let i = 0; i < devRows.length; i += batchSize) {
      model.scoreBatch(devRows.slice(i, i + batchSize).map((r) => modelView(r)));
      endToEnd += Math.min(batchSize, devRows.length - i);
    }
  }
  const endToEndCpu = cpuSeconds(process.cpuUsage(cpu2));

  let signed = 0;
  const cpu3 = process.cpuUsage();
  for (let p = 0; p < passes; p++) {
    for (const r of devRows) {
      scanRequest(requestPartsOfRow(r as unknown as RequestRowLike));
      signed++;
    }
  }
  const signaturesCpu = cpuSeconds(process.cpuUsage(cpu3));

  let combined = 0;
  const cpu4 = process.cpuUsage();
  for (let p = 0; p < passes; p++) {
    for (let i = 0; i < devRows.length; i += batchSize) {
      assessRequests(devRows.slice(i, i + batchSize).map((r) => ({ row: r as unknown as HttpRow })), model, { falsePositiveRate: 0.0001 });
      combined += Math.min(batchSize, devRows.length - i);
    }
  }
  const combinedCpu = cpuSeconds(process.cpuUsage(cpu4));

  const scores = model.scoreBatch(dev);
  const labelled: LabelledScore[] = dev.map((r, i) => ({
    id: r.id, score: scores[i], anomalous: devRows[i].label === 'anomalous',
    shortcut: !model.profiles.paths.keys.has(r.path) || !model.profiles.methods.keys.has(r.method),
  }));
  const m = evaluationReport(labelled).sets.holdout.withoutShortcuts;
  const tpr = (fpr: number) => m.operatingPoints.find((o) => o.maxFpr === fpr)?.tpr ?? NaN;
  return {
    backend: tfBackendName() ?? 'none',
    trainRows: train.length,
    trainSeconds: round(trainSeconds),
    trainCpuSeconds: round(trainCpuSeconds),
    batchSize,
    scoredRequests: scored,
    scoreRequestsPerCpuSecond: Math.round(scored / scoreCpu),
    scoreRequestsPerSecond: Math.round(scored / scoreWall),
    endToEndRequestsPerCpuSecond: Math.round(endToEnd / endToEndCpu),
    signaturesRequestsPerCpuSecond: Math.round(signed / signaturesCpu),
    combinedRequestsPerCpuSecond: Math.round(combined / combinedCpu),
    combinedCostRatio: round((combinedCpu / combined) / (endToEndCpu / endToEnd)),
    holdoutNoShortcuts: { rocAuc: round(m.rocAuc), tprAtFpr1pct: round(tpr(0.01)), tprAtFpr0_5pct: round(tpr(0.005)), tprAtFpr0_1pct: round(tpr(0.001)), bestF1: round(m.bestF1.f1) },
  };
}

function cpuSeconds(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1e6;
}

function round(x: number): number {
  return Math.round(x * 10000) / 10000;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.stdout.write(JSON.stringify(await benchHttpModel()) + '\n');
}
