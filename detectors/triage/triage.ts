/**
 * Findings a SOC can triage: what the window detectors raise on one (entity, window) becomes one finding, and the
 * repeats of an incident update that finding instead of adding alerts. Pure apart from its state (a KeyedStore of
 * the open findings per entity, so grouping survives restarts); time is the windows' event time.
 *
 * Combining: several detectors on the same (entity, window) are independent evidence (those listed in
 * `corroborateOnly` join others' findings but raise none alone); the combined risk is their
 * noisy-OR and each one's share of it is exact (see risk.ts). The explanation keeps every detector's features, each
 * share scaled by its detector's share, so all shares still sum to 1; all techniques are kept.
 *
 * Grouping: an entity's open finding takes a later window when that window's detectors include one of the open
 * finding's (the same (entity, detector)) and the window starts within `suppressionS` of the finding's last window.
 * It keeps the id of its first window (`findingId` of (entity, first detector, first window)), so Elasticsearch
 * updates one document; count, first and last seen and the highest risk so far move on. An open finding older
 * than `maxOpenS` is closed even if repeats continue, so a week-long incident still gets a fresh alert each day.
 * Replaying windows from the start rebuilds the same groups, hence the same ids; a window at or before an open
 * finding's last one (a replay after a restart) gives that finding again, unchanged.
 */
import { z } from 'zod';
import type { KeyedStore } from '../../core/state/keyed-store.ts';
import { findingId } from '../../findings/ecs/encode.ts';
import { severityOf, type Contribution, type Finding, type FindingKind } from '../../findings/finding.ts';
import { combineRisks } from '../risk.ts';

export const TriageConfig = z.strictObject({
  /**
   * Detectors whose findings only corroborate: they join a finding another detector raised on the same (entity,
   * window) but raise none alone. The series detector finds deviations without a technique; alone they would be
   * alerts a SOC cannot act on.
   */
  corroborateOnly: z.array(z.string()).default(['series']),
  /** Event-time seconds after an open finding's last window within which a repeat updates it (0: no grouping). */
  suppressionS: z.number().min(0).default(600),
  /** Event-time seconds after its first window an open finding stops taking repeats. */
  maxOpenS: z.number().min(1).default(86_400),
  /**
   * Event-time seconds a closed finding is still remembered, so that windows re-read after a restart find the finding
   * they belonged to (and its id) instead of opening another.
   */
  retainClosedS: z.number().min(0).default(3600),
  /** Entities whose open findings are remembered at most (least recently updated forgotten first). */
  maxEntities: z.number().int().min(1).default(100_000),
});
export type TriageConfig = z.infer<typeof TriageConfig>;

/** An open finding of one entity. */
export interface OpenFinding {
  id: string;
  detectors: string[];
  firstSeenMs: number;
  lastSeenMs: number;
  count: number;
  riskScore: number;
  kind: FindingKind;
}

/** What a triaged finding says to the feed: opened now, repeated, or repeated with a higher severity band or kind. */
export type TriageStatus = 'new' | 'updated' | 'escalated';

export interface TriagedFinding extends Finding {
  id: string;
  group: { count: number; firstSeenMs: number; lastSeenMs: number; status: TriageStatus };
}

const KIND_RANK: Record<FindingKind, number> = { anomaly: 0, fault: 1, intrusion: 2 };
const MAX_EXEMPLARS = 10;
const MAX_EXAMPLES = 5;

/** One finding from the findings of several detectors on the same (entity, window). */
export function combine(findings: readonly Finding[]): Finding {
  if (findings.length === 0) throw new RangeError('combine needs at least one finding');
  const sorted = [...findings].sort((a, b) => b.riskScore - a.riskScore || (a.detector < b.detector ? -1 : 1));
  const [primary] = sorted;
  for (const f of sorted) {
    if (f.entityId !== primary.entityId || f.windowStartMs !== primary.windowStartMs || f.windowEndMs !== primary.windowEndMs) {
      throw new RangeError(`combine: ${f.detector} judged ${f.entityId} [${f.windowStartMs}, ${f.windowEndMs}), not the same (entity, window) as ${primary.detector}`);
    }
  }
  if (sorted.length === 1) return { ...primary, kind: kindOf(primary) };
  const { riskScore, shares } = combineRisks(sorted.map((f) => f.riskScore));
  const contributions: Contribution[] = sorted.map((f, i) => ({
    detector: f.detector, ruleName: f.ruleName, riskScore: f.riskScore, share: shares[i], ...(f.threat ? { threat: f.threat } : {}),
  }));
  const explanation = sorted.flatMap((f, i) => {
    const total = f.explanation.reduce((s, e) => s + e.share, 0) || 1;
    return f.explanation.map((e) => ({ ...e, detector: e.detector ?? f.detector, share: (e.share / total) * shares[i] }));
  });
  const seenTraces = new Set<string>();
  const exemplars = sorted.flatMap((f) => f.exemplars).filter((e) => !seenTraces.has(e.traceId) && seenTraces.add(e.traceId)).slice(0, MAX_EXEMPLARS);
  const evidence: Record<string, string[]> = {};
  for (const f of sorted) for (const [k, list] of Object.entries(f.evidence ?? {})) evidence[k] = [...new Set([...(evidence[k] ?? []), ...list])].slice(0, MAX_EXAMPLES);
  const rounded = Math.round(riskScore * 10) / 10;
  const security = sorted.find((f) => f.threat);
  return {
    ...primary,
    ruleName: `${primary.ruleName} (+${sorted.length - 1} more)`,
    ruleDescription: sorted.map((f) => f.ruleName).join('; '),
    riskScore: rounded,
    severity: severityOf(rounded),
    message: [primary.message, ...sorted.slice(1).map((f) => `also ${f.detector}: ${f.message}`)].join('; '),
    explanation,
    exemplars,
    ...(security ? { threat: security.threat } : {}),
    kind: sorted.map(kindOf).reduce((a, b) => (KIND_RANK[b] > KIND_RANK[a] ? b : a)),
    contributions,
    context: Object.assign({}, ...[...sorted].reverse().map((f) => f.context ?? {})),
    ...(Object.keys(evidence).length > 0 ? { evidence } : {}),
  };
}

export function kindOf(f: Finding): FindingKind {
  return f.kind ?? (f.threat ? 'intrusion' : 'fault');
}

export class Triage {
  constructor(private readonly config: TriageConfig, private readonly open: KeyedStore<OpenFinding[]>) {}

  /**
   * The findings the window detectors raised on one (entity, window) → the finding to write (its id chosen here),
   * or undefined when there were none.
   */
  window(findings: readonly Finding[]): TriagedFinding | undefined {
    if (findings.every((x) => this.config.corroborateOnly.includes(x.detector))) return undefined;
    const f = combine(findings);
    const detectors = [...new Set(findings.map((x) => x.detector))].sort();
    const suppressionMs = this.config.suppressionS * 1000;
    const maxOpenMs = this.config.maxOpenS * 1000;
    const all = this.open.get(f.entityId) ?? [];
    // A replay may reach back before the suppression period: look at every remembered group first.
    const replayed = all.find((g) => f.windowEndMs <= g.lastSeenMs && f.windowStartMs >= g.firstSeenMs && g.detectors.some((d) => detectors.includes(d)));
    if (replayed) return this.emit(f, replayed, 'updated');
    const groups = all.filter((g) => f.windowStartMs - g.lastSeenMs <= suppressionMs + this.config.retainClosedS * 1000);
    // Strictly within the period: 0 turns grouping off, every window its own finding.
    const isOpen = (g: OpenFinding) => f.windowStartMs - g.lastSeenMs < suppressionMs && f.windowStartMs - g.firstSeenMs < maxOpenMs;
    const group = groups.find((g) => isOpen(g) && g.detectors.some((d) => detectors.includes(d)));
    let status: TriageStatus;
    let current: OpenFinding;
    if (group) {
      const before = { severity: severityOf(group.riskScore), kind: group.kind };
      group.detectors = [...new Set([...group.detectors, ...detectors])].sort();
      group.lastSeenMs = f.windowEndMs;
      group.count++;
      group.riskScore = Math.max(group.riskScore, f.riskScore);
      if (KIND_RANK[kindOf(f)] > KIND_RANK[group.kind]) group.kind = kindOf(f);
      status = severityOf(group.riskScore) > before.severity || group.kind !== before.kind ? 'escalated' : 'updated';
      current = group;
    } else {
      current = {
        id: findingId(f), detectors, firstSeenMs: f.windowStartMs, lastSeenMs: f.windowEndMs, count: 1, riskScore: f.riskScore, kind: kindOf(f),
      };
      groups.push(current);
      status = 'new';
    }
    this.open.set(f.entityId, groups);
    return this.emit(f, current, status);
  }

  private emit(f: Finding, g: OpenFinding, status: TriageStatus): TriagedFinding {
    const riskScore = Math.max(g.riskScore, f.riskScore);
    return {
      ...f,
      id: g.id,
      riskScore,
      severity: severityOf(riskScore),
      kind: g.kind,
      group: { count: g.count, firstSeenMs: g.firstSeenMs, lastSeenMs: g.lastSeenMs, status },
    };
  }
}
