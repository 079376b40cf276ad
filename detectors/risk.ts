/**
 * Risk calibration shared by every window detector, so that the same risk means the same thing whoever raised it.
 *
 * A detector measures its *evidence*: the observed value divided by the level that would just have fired (1 at the
 * threshold, 2 at twice it). Its *base* is the risk of a finding exactly at the threshold, set by how much the shape
 * alone says about an attack (a shell in a container says more than one slow window). Risk rises from the base
 * towards 100 as 1 - (1 - base) / evidence: at the base when just past the threshold, halfway to 100 at twice it.
 * Several detectors on one (entity, window) combine as independent evidence (noisy-OR): 1 - Π(1 - p). In that
 * form -ln(1 - p) adds up, which gives each detector's exact share of the combined risk.
 */

/** Risk in (0, 100) from evidence ≥ 1 and a base in (0, 1). */
export function riskFromEvidence(evidence: number, base: number): number {
  const e = Number.isFinite(evidence) ? Math.max(1, evidence) : 1e6;
  return 100 * (1 - (1 - base) / e);
}

/** Probabilities are kept below 1 so a saturated detector still leaves room for shares. */
const MAX_P = 0.999;

function weight(riskScore: number): number {
  return -Math.log(1 - Math.min(MAX_P, Math.max(0, riskScore / 100)));
}

/** Combined risk of independent detections (noisy-OR) and each one's share of it (shares sum to 1). */
export function combineRisks(riskScores: readonly number[]): { riskScore: number; shares: number[] } {
  const weights = riskScores.map(weight);
  const total = weights.reduce((s, w) => s + w, 0);
  if (total === 0) return { riskScore: 0, shares: riskScores.map(() => 1 / Math.max(1, riskScores.length)) };
  return { riskScore: 100 * (1 - Math.exp(-total)), shares: weights.map((w) => w / total) };
}

/** Shares proportional to non-negative weights (equal when all are 0); they sum to 1. */
export function proportionalShares(weights: readonly number[]): number[] {
  const total = weights.reduce((s, w) => s + Math.max(0, w), 0);
  return total > 0 ? weights.map((w) => Math.max(0, w) / total) : weights.map(() => 1 / weights.length);
}
