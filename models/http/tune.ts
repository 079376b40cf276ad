/**
 * Tuning aid, TUNE half only: trains on CSIC train-normal and prints TUNE metrics (with and without shortcut
 * requests) for a range of network weights — how DEFAULT_NETWORK_WEIGHT was chosen. Never looks at HOLDOUT.
 *   node --import tsx models/http/tune.ts [weights...]
 */
import path from 'node:path';
import { readJsonLines } from './jsonl.ts';
import { detectionMetrics, type DetectionMetrics } from './metrics.ts';
import { HttpModel } from './model.ts';
import type { HttpRequest } from './request.ts';
import { modelView } from './view.ts';
import { halfOf } from './split.ts';
import { sharedDataPath } from '../../core/testing/shared-data.ts';

const data = sharedDataPath('csic2010');
const load = async (file: string) => {
  const out: Array<{ request: HttpRequest; anomalous: boolean }> = [];
  for await (const l of readJsonLines(path.join(data, file))) if ('value' in l) out.push({ request: modelView(l.value), anomalous: (l.value as { label?: string }).label === 'anomalous' });
  return out;
};
const train = await load('train-normal.jsonl.gz');
const tune = (await load('dev.jsonl.gz')).filter((r) => halfOf(r.request.id) === 'tune');
const model = await HttpModel.train(train.map((r) => r.request));
const clean = tune.map((r) => model.profiles.paths.keys.has(r.request.path) && model.profiles.methods.keys.has(r.request.method));
const line = (m: DetectionMetrics) => `AUC ${m.rocAuc.toFixed(4)} ` + m.operatingPoints.map((o) => `TPR@${o.maxFpr}=${o.tpr.toFixed(4)}`).join(' ') + ` F1 ${m.bestF1.f1.toFixed(4)}`;
const weights = process.argv.slice(2).map(Number);
for (const w of weights.length ? weights : [0, 1, 5, 20, 40, 80, 160]) {
  const scores = new HttpModel(model.profiles, model.network, model.scaling, w).scoreBatch(tune.map((r) => r.request));
  const labels = tune.map((r) => r.anomalous);
  const all = detectionMetrics(scores, labels);
  const noShortcuts = detectionMetrics(scores.filter((_, i) => clean[i]), labels.filter((_, i) => clean[i]));
  process.stdout.write(`weight ${w}\n  all          ${line(all)}\n  no shortcuts ${line(noShortcuts)}\n`);
}
