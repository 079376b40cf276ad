import { readJsonLines } from './jsonl.ts';
import { parseHttpRow, type HttpRequest } from './request.ts';
import { ProfileLearner, ProfileScorer, COMPONENTS } from './profile.ts';
import { detectionMetrics } from './metrics.ts';
import { halfOf } from './split.ts';
const D = '/work/shared/data/csic2010/';
async function load(f: string) { const out: Array<{ r: HttpRequest; label: unknown }> = []; for await (const l of readJsonLines(D + f)) { if ('value' in l) out.push({ r: parseHttpRow(l.value), label: (l.value as any).label }); } return out; }
let t = Date.now();
const train = await load('train-normal.jsonl.gz'); const dev = await load('dev.jsonl.gz');
console.log('load', Date.now() - t); t = Date.now();
const learner = new ProfileLearner(); for (const { r } of train) learner.add(r); const prof = learner.fit();
console.log('fit', Date.now() - t); t = Date.now();
const scorer = new ProfileScorer(prof);
const half = process.argv[2] ?? 'tune';
const rows = dev.filter(({ r }) => half === 'all' || halfOf(r.id) === half);
const seenPaths = new Set(train.map(({ r }) => r.path)); const seenMethods = new Set(train.map(({ r }) => r.method));
const scores = rows.map(({ r }) => { const d = scorer.score(r); let s = 0; for (const v of d.components) s += v; return s; });
console.log('score', Date.now() - t, rows.length);
const lab = rows.map(({ label }) => label === 'anomalous');
const short = rows.map(({ r }) => !seenPaths.has(r.path) || !seenMethods.has(r.method));
const fmt = (m: ReturnType<typeof detectionMetrics>) => `auc ${m.rocAuc.toFixed(4)} ` + m.operatingPoints.map(o => `tpr@${o.maxFpr}=${o.tpr.toFixed(4)}(fpr ${o.fpr.toFixed(4)})`).join(' ') + ` f1 ${m.bestF1.f1.toFixed(4)} n=${m.normals}/${m.anomalies}`;
console.log('ALL   ', fmt(detectionMetrics(scores, lab)));
const keep = rows.map((_, i) => !short[i]);
console.log('NOSHRT', fmt(detectionMetrics(scores.filter((_, i) => keep[i]), lab.filter((_, i) => keep[i]))));
// diagnostics
const m = detectionMetrics(scores, lab, [0.001]);
const thr = m.operatingPoints[0].threshold;
console.log('thr@0.001', thr);
const normSorted = rows.map((x, i) => ({ x, s: scores[i] })).filter((_, i) => !lab[i]).sort((a, b) => b.s - a.s).slice(0, 12);
for (const { x, s } of normSorted) { const d = scorer.score(x.r, { explain: true }); console.log('FP', s.toFixed(2), x.r.method, x.r.path, x.r.params.map(p => p.join('=')).join('&').slice(0, 160), JSON.stringify(d.contributions!.slice(0, 4).map(c => [c.component, c.field, +c.score.toFixed(2)]))); }
const missed = rows.map((x, i) => ({ x, s: scores[i] })).filter((_, i) => lab[i] && scores[i] <= thr).sort((a, b) => a.s - b.s);
console.log('missed', missed.length);
for (const { x, s } of missed.slice(0, 60)) { const d = scorer.score(x.r, { explain: true }); console.log('FN', s.toFixed(2), x.r.method, x.r.path, x.r.params.map(p => p.join('=')).join('&').slice(0, 220), JSON.stringify(d.contributions!.slice(0, 3).map(c => [c.component, c.field, +c.score.toFixed(2)]))); }
