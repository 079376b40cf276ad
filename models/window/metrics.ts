/** Detection metrics from scores and labels (higher score = more anomalous): ROC curve, AUC, TPR at FPR, best F1. Pure. */

export interface RocPoint { fpr: number; tpr: number; threshold: number }

export interface DetectionSummary {
  rocAuc: number;
  tprAtFpr1: number;
  tprAtFpr5: number;
  bestF1: number;
  bestF1Threshold: number;
  positives: number;
  negatives: number;
}

/** The ROC curve, one point per distinct score (ties taken together), from (0,0) to (1,1). */
export function rocCurve(scores: ArrayLike<number>, anomalous: ArrayLike<boolean>): RocPoint[] {
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  let positives = 0;
  for (let i = 0; i < anomalous.length; i++) if (anomalous[i]) positives++;
  const negatives = scores.length - positives;
  const points: RocPoint[] = [{ fpr: 0, tpr: 0, threshold: Infinity }];
  let tp = 0, fp = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k];
    if (anomalous[i]) tp++; else fp++;
    if (k + 1 < order.length && scores[order[k + 1]] === scores[i]) continue;
    points.push({ fpr: negatives ? fp / negatives : 0, tpr: positives ? tp / positives : 0, threshold: scores[i] });
  }
  return points;
}

export function detectionSummary(scores: ArrayLike<number>, anomalous: ArrayLike<boolean>): DetectionSummary {
  const roc = rocCurve(scores, anomalous);
  let positives = 0;
  for (let i = 0; i < anomalous.length; i++) if (anomalous[i]) positives++;
  const negatives = scores.length - positives;
  let auc = 0;
  for (let i = 1; i < roc.length; i++) auc += (roc[i].fpr - roc[i - 1].fpr) * (roc[i].tpr + roc[i - 1].tpr) / 2;
  const tprAt = (maxFpr: number) => roc.reduce((best, p) => (p.fpr <= maxFpr + 1e-12 && p.tpr > best ? p.tpr : best), 0);
  let bestF1 = 0, bestF1Threshold = Infinity;
  for (const p of roc) {
    const tp = p.tpr * positives, fp = p.fpr * negatives;
    const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
    const f1 = precision + p.tpr > 0 ? (2 * precision * p.tpr) / (precision + p.tpr) : 0;
    if (f1 > bestF1) { bestF1 = f1; bestF1Threshold = p.threshold; }
  }
  return { rocAuc: positives && negatives ? auc : NaN, tprAtFpr1: tprAt(0.01), tprAtFpr5: tprAt(0.05), bestF1, bestF1Threshold, positives, negatives };
}
