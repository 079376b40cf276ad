/**
 * One builder for the findings of the rule-and-baseline window detectors: each states its evidence per feature
 * (actual, this entity's typical value, evidence ≥ 1 when it alone would fire), and the builder gives the calibrated
 * risk (risk.ts), the severity band, the shares of the explanation, the ECS context and the trace links.
 */
import type { FeatureVector } from '../schemas/feature-vector.ts';
import { contextOf } from './context.ts';
import { exemplarLinks, severityOf, windowFields, type Finding, type FindingKind } from '../findings/finding.ts';
import { proportionalShares, riskFromEvidence } from './risk.ts';
import type { Threat } from '../findings/threat.ts';
import { allExamplesOf } from './vector.ts';

export interface FeatureEvidence {
  feature: string;
  actual: number;
  /** This entity's typical value (its baseline), or the floor when it has none yet. */
  typical: number;
  /** actual / the level that would have fired (≥ 1 for a feature that fired). */
  evidence: number;
}

export interface WindowFindingSpec {
  detector: string;
  ruleName: string;
  ruleDescription: string;
  kind: FindingKind;
  threat?: Threat;
  /** Risk (0–1) of a finding just at the threshold (see risk.ts). */
  base: number;
  /** The features that drove the finding; at least one with evidence ≥ 1. */
  evidence: FeatureEvidence[];
  message: string;
  /** Exemplar reasons to show first (e.g. `error` for failed logins, `largest` for exfiltration). */
  preferExemplars?: string[];
}

export function windowFinding(v: FeatureVector, spec: WindowFindingSpec): Finding {
  const strongest = Math.max(...spec.evidence.map((e) => e.evidence));
  const riskScore = Math.round(riskFromEvidence(strongest, spec.base) * 10) / 10;
  const shares = proportionalShares(spec.evidence.map((e) => e.evidence));
  const preferred = spec.preferExemplars ? v.exemplars.filter((e) => spec.preferExemplars!.includes(e.reason)) : [];
  const evidence = allExamplesOf(v);
  return {
    detector: spec.detector,
    ruleName: spec.ruleName,
    ruleDescription: spec.ruleDescription,
    ...windowFields(v),
    riskScore,
    severity: severityOf(riskScore),
    message: spec.message,
    explanation: spec.evidence.map((e, i) => ({ feature: e.feature, actual: e.actual, typical: e.typical, share: shares[i], detector: spec.detector })),
    exemplars: exemplarLinks(preferred.length > 0 ? [...preferred, ...v.exemplars.filter((e) => !preferred.includes(e))] : v.exemplars),
    kind: spec.kind,
    ...(spec.threat ? { threat: spec.threat } : {}),
    context: contextOf(v),
    ...(Object.keys(evidence).length > 0 ? { evidence: { ...evidence } } : {}),
  };
}

/** Numbers in messages: integers as they are, others with a few significant digits. */
export function formatNumber(x: number): string {
  if (Number.isInteger(x)) return String(x);
  return Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toPrecision(2);
}

/** Bytes in messages (1.5 MB). */
export function formatBytes(x: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (Math.abs(x) >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return `${formatNumber(Math.round(x * 10) / 10)} ${units[i]}`;
}
