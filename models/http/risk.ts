/**
 * One calibrated risk for a request from the request model's score and the signature hits. Each source gives its
 * evidence in the same unit — decades of rarity among normal requests, −log10 of the estimated share of normal
 * requests that would show as much: the model's from its calibration (the out-of-fold normal scores at FPR 3 %, 1 %,
 * 0.5 %, 0.1 %, interpolated log-linearly, and past the last point as steeply as over its last decade), a signature's from its confidence (a high-confidence construct was seen in none of
 * CSIC 2010's 36,000 normal requests nor the benign corpus, so 1 in 10⁴ is a cautious rate; medium 1 in 10³). Evidence
 * adds up across sources (different signature kinds add; several hits of one kind count once), and
 * risk = 20 × evidence, capped at 100: risk 60 is "as rare as 1 in 1,000 normal requests", 80 one in 10,000. A
 * request alerts when its evidence reaches −log10 of the configured false-positive rate (risk 60 at 0.1 %). The
 * contributions are the sources' shares of the evidence (summing to 1), the model's split over the request parts
 * that drove its score. Pure.
 */
import type { Calibration } from './model.ts';
import type { Contribution } from './profile.ts';
import type { Confidence, SignatureHit } from './signatures/scan.ts';

export const SIGNATURE_EVIDENCE: Readonly<Record<Confidence, number>> = { high: 4, medium: 3 };
/** The model's evidence is extrapolated past its calibration only this far (1 in 100,000). */
export const MAX_MODEL_EVIDENCE = 5;
/** Risk points per decade of evidence. */
export const RISK_PER_DECADE = 20;

export interface RiskContribution {
  /** `model:<component>[:<field>]` or `signature:<kind>:<construct>`. */
  feature: string;
  /** The model's surprisal for that part (nats), or the signature's evidence. */
  actual: number;
  /** What a normal request shows: 0. */
  typical: number;
  share: number;
}

export interface RiskAssessment {
  /** 0–100. */
  risk: number;
  /** −log10 of the estimated share of normal requests with as much evidence. */
  evidence: number;
  alert: boolean;
  contributions: RiskContribution[];
}

/** The model's evidence for a score, from its calibration points. 0 without calibration. */
export function modelEvidence(score: number, calibration: Calibration | undefined): number {
  const points = (calibration?.thresholds ?? [])
    .filter((p) => Number.isFinite(p.threshold) && p.fpr > 0 && p.fpr < 1)
    .sort((a, b) => a.threshold - b.threshold || b.fpr - a.fpr);
  if (points.length === 0 || !Number.isFinite(score)) return 0;
  const decades = (fpr: number) => -Math.log10(fpr);
  const first = points[0];
  if (score <= first.threshold) return first.threshold > 0 ? Math.max(0, (decades(first.fpr) * score) / first.threshold) : 0;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1], b = points[i];
    if (score > b.threshold || b.threshold === a.threshold) continue;
    return decades(a.fpr) + ((decades(b.fpr) - decades(a.fpr)) * (score - a.threshold)) / (b.threshold - a.threshold);
  }
  // Past the last point, the tail goes on as steeply as it fell over its last decade (a sum of surprisals has a fatter
  // tail than one surprisal), and never steeper than one decade per ln 10 nats.
  const last = points.at(-1)!;
  const decadeBefore = [...points].reverse().find((p) => p.fpr >= 10 * last.fpr && p.threshold < last.threshold);
  const slope = decadeBefore ? Math.min(1 / Math.LN10, (decades(last.fpr) - decades(decadeBefore.fpr)) / (last.threshold - decadeBefore.threshold)) : 1 / Math.LN10;
  return Math.min(MAX_MODEL_EVIDENCE, decades(last.fpr) + slope * (score - last.threshold));
}

/** The evidence at which a request alerts, for a share of normal requests allowed to alert. */
export function alertEvidence(falsePositiveRate: number): number {
  return -Math.log10(falsePositiveRate);
}

export function riskOf(evidence: number): number {
  return Math.round(Math.min(100, Math.max(0, RISK_PER_DECADE * evidence)));
}

export interface ModelPart {
  score: number;
  calibration: Calibration | undefined;
  /** The model's explanation of the score (largest first); asked for only when the request is worth explaining. */
  explain?: () => Contribution[];
}

export interface CombineOptions {
  falsePositiveRate: number;
  /** Model parts listed at most. */
  explainTop?: number;
}

/** Model score and signature hits → risk, alert and contributions. */
export function combineRisk(model: ModelPart | undefined, hits: readonly SignatureHit[], options: CombineOptions): RiskAssessment {
  const parts: Array<{ feature: string; actual: number; evidence: number }> = [];
  const seen = new Map<string, number>();
  for (const h of hits) {
    const e = SIGNATURE_EVIDENCE[h.confidence];
    const at = seen.get(h.kind);
    if (at === undefined) {
      seen.set(h.kind, parts.length);
      parts.push({ feature: `signature:${h.kind}:${h.construct}`, actual: e, evidence: e });
    } else if (parts[at].evidence < e) parts[at] = { feature: `signature:${h.kind}:${h.construct}`, actual: e, evidence: e };
  }
  const modelDecades = model ? modelEvidence(model.score, model.calibration) : 0;
  const evidence = parts.reduce((sum, p) => sum + p.evidence, 0) + modelDecades;
  const alert = evidence >= alertEvidence(options.falsePositiveRate) - 1e-9;
  const contributions: RiskContribution[] = parts.map((p) => ({ feature: p.feature, actual: p.actual, typical: 0, share: evidence > 0 ? p.evidence / evidence : 0 }));
  if (model && modelDecades > 0) {
    const modelShare = modelDecades / evidence;
    // The model's share, split over the parts of the request that drove its score (only for requests that alert).
    const top = alert && model.explain ? model.explain().filter((c) => c.score > 0).slice(0, options.explainTop ?? 3) : [];
    const total = top.reduce((sum, c) => sum + c.score, 0);
    if (total > 0) {
      for (const c of top) contributions.push({ feature: `model:${c.component}${c.field ? `:${c.field}` : ''}`, actual: c.score, typical: 0, share: (modelShare * c.score) / total });
    } else contributions.push({ feature: 'model', actual: model.score, typical: 0, share: modelShare });
  }
  contributions.sort((a, b) => b.share - a.share);
  return { risk: riskOf(evidence), evidence, alert, contributions };
}
