/** Detection metrics over (score, label) pairs; higher score = more anomalous. Pure. */

export interface OperatingPoint {
  /** The FPR asked for. */
  maxFpr: number;
  /** Flag when score > threshold. */
  threshold: number;
  tpr: number;
  fpr: number;
}

export interface DetectionMetrics {
  normals: number;
  anomalies: number;
  rocAuc: number;
  operatingPoints: OperatingPoint[];
  bestF1: { f1: number; threshold: number; precision: number; recall: number };
}

export const DEFAULT_FPRS = [0.01, 0.03, 0.005, 0.001] as const;

/**
 * ROC AUC with ties counted half (Mann-Whitney), TPR at the strictest threshold whose FPR does not exceed each
 * asked-for value (ties never split: a threshold flags all of a tied group or none of it), and the best F1.
 */
export function detectionMetrics(scores: ArrayLike<number>, anomalous: ArrayLike<boolean>, fprs: readonly number[] = DEFAULT_FPRS): DetectionMetrics {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  let positives = 0;
  for (let i = 0; i < n; i++) if (anomalous[i]) positives++;
  const negatives = n - positives;

  // Walk thresholds from the highest score down, one tied group at a time.
  const groups: Array<{ threshold: number; tp: number; fp: number }> = []; // counts flagged with score >= group score
  let tp = 0, fp = 0, auc = 0;
  for (let i = 0; i < n; ) {
    const s = scores[order[i]];
    let gtp = 0, gfp = 0;
    while (i < n && scores[order[i]] === s) {
      if (anomalous[order[i]]) gtp++;
      else gfp++;
      i++;
    }
    auc += gfp * (tp + gtp / 2); // negatives in this group rank below tp positives, tie with gtp
    tp += gtp;
    fp += gfp;
    groups.push({ threshold: s, tp, fp });
  }
  const rocAuc = positives && negatives ? auc / (positives * negatives) : NaN;

  const operatingPoints = fprs.map((maxFpr) => {
    // Flag score > threshold; start with nothing flagged (threshold = max score).
    let best: OperatingPoint = { maxFpr, threshold: groups[0]?.threshold ?? 0, tpr: 0, fpr: 0 };
    for (let g = 0; g < groups.length; g++) {
      const { tp: gtp, fp: gfp } = groups[g];
      const rate = negatives ? gfp / negatives : 0;
      if (rate > maxFpr) break;
      const next = groups[g + 1]?.threshold ?? -Infinity;
      best = { maxFpr, threshold: next, tpr: positives ? gtp / positives : 0, fpr: rate };
    }
    return best;
  });

  let bestF1 = { f1: 0, threshold: Infinity, precision: 0, recall: 0 };
  for (let g = 0; g < groups.length; g++) {
    const { tp: gtp, fp: gfp } = groups[g];
    const precision = gtp + gfp ? gtp / (gtp + gfp) : 0;
    const recall = positives ? gtp / positives : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    if (f1 > bestF1.f1) bestF1 = { f1, threshold: groups[g + 1]?.threshold ?? -Infinity, precision, recall };
  }
  return { normals: negatives, anomalies: positives, rocAuc, operatingPoints, bestF1 };
}
