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
