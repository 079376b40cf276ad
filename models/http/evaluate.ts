/**
 * The `eval http` report: metrics on the whole labelled set and on its TUNE and HOLDOUT halves, each with and without
 * the shortcut requests (a path or a method never seen in training), beside the published anchors. Pure.
 */
import { DEFAULT_FPRS, detectionMetrics, type DetectionMetrics } from './metrics.ts';
import { halfOf } from './split.ts';

export const EVAL_FPRS = [0.01, 0.03, 0.005, 0.001] as const;

/** Published results of detectors trained on normal CSIC 2010 traffic only. */
export const PUBLISHED_ANCHORS = [
  { name: 'one-class SVM ensemble (Parhizkar & Abadi 2015)', tpr: 0.96, fpr: 0.03 },
  { name: 'per-endpoint one-class SVM (Epp, Funk, Cappo 2017)', tpr: 0.95, fpr: 0.09, f1: 0.93 },
  { name: 'regularized deep autoencoder (Mac et al. 2018)', f1: 0.946 },
] as const;

export interface LabelledScore { id: unknown; score: number; anomalous: boolean; shortcut: boolean }

export interface EvalReport {
  rows: number;
  shortcutRows: number;
  sets: Record<string, { all: DetectionMetrics; withoutShortcuts: DetectionMetrics }>;
  anchors: typeof PUBLISHED_ANCHORS;
}

export function evaluationReport(rows: readonly LabelledScore[]): EvalReport {
  const subsets: Record<string, LabelledScore[]> = { full: [...rows], tune: [], holdout: [] };
  for (const r of rows) subsets[halfOf(r.id)].push(r);
  const sets: EvalReport['sets'] = {};
  for (const [name, subset] of Object.entries(subsets)) {
    const clean = subset.filter((r) => !r.shortcut);
    sets[name] = { all: metricsOf(subset), withoutShortcuts: metricsOf(clean) };
  }
  return { rows: rows.length, shortcutRows: rows.filter((r) => r.shortcut).length, sets, anchors: PUBLISHED_ANCHORS };
}

function metricsOf(rows: readonly LabelledScore[]): DetectionMetrics {
  return detectionMetrics(rows.map((r) => r.score), rows.map((r) => r.anomalous), EVAL_FPRS ?? DEFAULT_FPRS);
}

export function formatReport(report: EvalReport): string {
  const lines: string[] = [];
  lines.push(`rows ${report.rows} (shortcut requests: ${report.shortcutRows} — a path or a method never seen in training)`);
  const head = ['set', 'subset', 'normal', 'anom', 'ROC AUC', ...EVAL_FPRS.map((f) => `TPR@${f * 100}%`), 'best F1'];
  const table: string[][] = [head];
  for (const [name, set] of Object.entries(report.sets)) {
    for (const [subset, m] of [['all', set.all], ['no shortcuts', set.withoutShortcuts]] as const) {
      table.push([
        name, subset, String(m.normals), String(m.anomalies), fix(m.rocAuc),
        ...m.operatingPoints.map((o) => `${fix(o.tpr)} (${fix(o.fpr)})`),
        fix(m.bestF1.f1),
      ]);
    }
  }
  const widths = head.map((_, j) => Math.max(...table.map((row) => row[j].length)));
  for (const row of table) lines.push(row.map((cell, j) => cell.padEnd(widths[j])).join('  '));
  lines.push('TPR@x: true-positive rate at the strictest threshold whose false-positive rate (in brackets) is at most x.');
  lines.push('Published anchors (trained on normal traffic only):');
  for (const a of report.anchors) {
    const parts = [('tpr' in a ? `TPR ${a.tpr}` : ''), ('fpr' in a ? `FPR ${a.fpr}` : ''), ('f1' in a ? `F1 ${a.f1}` : '')].filter(Boolean);
    lines.push(`  ${a.name}: ${parts.join(' / ')}`);
  }
  return lines.join('\n');
}

function fix(x: number): string {
  return Number.isFinite(x) ? x.toFixed(4) : 'n/a';
}

/** The live detector's alerting rule evaluated per source: what the model, the signatures and both together flag. */
export interface DetectorScore {
  id: unknown;
  anomalous: boolean;
  shortcut: boolean;
  /** Decades of evidence (models/http/risk.ts) from the model, from the signatures, and their sum. */
  model: number;
  signatures: number;
  combined: number;
}

/** Operating points of the detector: `detectors.http_request.falsePositiveRate` settings. */
export const DETECTOR_FPRS = [0.01, 0.001, 0.0001] as const;

export interface Rates { tpr: number; fpr: number }
export interface DetectorPoint { falsePositiveRate: number; model: Rates; signatures: Rates; combined: Rates }
export interface DetectorReport {
  sets: Record<string, { all: DetectorPoint[]; withoutShortcuts: DetectorPoint[]; combinedRocAuc: number }>;
}

export function detectorReport(rows: readonly DetectorScore[]): DetectorReport {
  const subsets: Record<string, DetectorScore[]> = { full: [...rows], tune: [], holdout: [] };
  for (const r of rows) subsets[halfOf(r.id)].push(r);
  const sets: DetectorReport['sets'] = {};
  for (const [name, subset] of Object.entries(subsets)) {
    sets[name] = {
      all: points(subset),
      withoutShortcuts: points(subset.filter((r) => !r.shortcut)),
      combinedRocAuc: detectionMetrics(subset.map((r) => r.combined), subset.map((r) => r.anomalous), []).rocAuc,
    };
  }
  return { sets };
}

function points(rows: readonly DetectorScore[]): DetectorPoint[] {
  return DETECTOR_FPRS.map((fpr) => {
    const bar = -Math.log10(fpr) - 1e-9;
    const rates = (evidence: (r: DetectorScore) => number): Rates => {
      let tp = 0, fp = 0, p = 0, n = 0;
      for (const r of rows) {
        const flagged = evidence(r) >= bar;
        if (r.anomalous) { p++; if (flagged) tp++; } else { n++; if (flagged) fp++; }
      }
      return { tpr: p ? tp / p : Number.NaN, fpr: n ? fp / n : Number.NaN };
    };
    return { falsePositiveRate: fpr, model: rates((r) => r.model), signatures: rates((r) => r.signatures), combined: rates((r) => r.combined) };
  });
}

export function formatDetectorReport(report: DetectorReport): string {
  const head = ['set', 'subset', 'FPR setting', 'model TPR (FPR)', 'signatures TPR (FPR)', 'combined TPR (FPR)'];
  const table: string[][] = [head];
  const cell = (r: Rates) => `${fix(r.tpr)} (${fix(r.fpr)})`;
  for (const [name, set] of Object.entries(report.sets)) {
    for (const [subset, list] of [['all', set.all], ['no shortcuts', set.withoutShortcuts]] as const) {
      for (const p of list) table.push([name, subset, `${p.falsePositiveRate * 100}%`, cell(p.model), cell(p.signatures), cell(p.combined)]);
    }
  }
  const widths = head.map((_, j) => Math.max(...table.map((row) => row[j].length)));
  return [
    'The live detector\'s alerting (detectors.http_request): a request alerts when its evidence reaches -log10 of the FPR setting;',
    'model = the request model alone on the masked view, signatures = signature checks alone on the raw request, combined = both.',
    ...table.map((row) => row.map((c, j) => c.padEnd(widths[j])).join('  ')),
    `combined ROC AUC: ${Object.entries(report.sets).map(([name, set]) => `${name} ${fix(set.combinedRocAuc)}`).join(', ')}`,
  ].join('\n');
}
