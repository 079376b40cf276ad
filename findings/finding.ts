import type { Exemplar, FeatureVector } from '../schemas/feature-vector.ts';
import type { Threat } from './threat.ts';

/**
 * What a finding is about, for the SOC and for ECS `event.category`: an attack technique (`intrusion`, with
 * `threat`), an availability problem (`fault`: errors, latency), or an unexplained deviation (`anomaly`: models).
 */
export type FindingKind = 'intrusion' | 'fault' | 'anomaly';

/** One detector's part in a finding several detectors raised on the same (entity, window). */
export interface Contribution {
  detector: string;
  ruleName: string;
  riskScore: number;
  /** Share of the combined risk (all contributions sum to 1). */
  share: number;
  threat?: Threat;
}

/** The ECS context of a finding's entity, as far as it is known. */
export interface EcsContext {
  source?: { ip?: string; address?: string };
  /** `address` is an IP, a host name or, for an instrumented callee, its service name. */
  destination?: { ip?: string; address?: string; port?: number };
  user?: { name: string };
  host?: { name: string };
  process?: { executable: string; name: string };
  container?: { id: string };
  orchestrator?: { type: string; namespace?: string; resource?: { type: string; name: string } };
  httpMethod?: string;
}

/** What a detector concludes about one (entity, window): the input of the ECS encoder and of the alert feed. */
export interface Finding {
  detector: string;
  ruleName: string;
  ruleDescription: string;
  entityId: string;
  entityType: string;
  service: string;
  operation?: string;
  windowStartMs: number;
  windowEndMs: number;
  /** 0–100. */
  riskScore: number;
  /** ECS event.severity: 21 low, 47 medium, 73 high, 99 critical (Elastic Security's bands). */
  severity: number;
  message: string;
  /** Per feature: actual vs this entity's typical value and its share of the score (shares sum to 1). */
  explanation: Array<{ feature: string; actual: number; typical: number; share: number; detector?: string }>;
  exemplars: Array<{ traceId: string; spanId?: string; reason: string }>;
  model?: { name: string; version: string };
  threat?: Threat;
  /** Default: `intrusion` with a threat, else `fault`. */
  kind?: FindingKind;
  /** When several detectors fired on this (entity, window): each one's part (see detectors/triage). */
  contributions?: Contribution[];
  /** Repeats of this finding within the suppression period (see detectors/triage): the document is updated. */
  group?: {
    count: number;
    firstSeenMs: number;
    lastSeenMs: number;
    /** For the feed's readers (a webhook pages on `new` and `escalated`, not on every update). */
    status?: 'new' | 'updated' | 'escalated';
  };
  /** The document id, when triage chose it (a group keeps the id of its first window); else from (entity, detector, window). */
  id?: string;
  context?: EcsContext;
  /** Named evidence from the vector's examples (new binaries, identities tried, missing routes...). */
  evidence?: Record<string, string[]>;
  urlPath?: string;
  sourceIp?: string;
  /** The whole feature vector a window finding judged: analyst feedback on the finding turns it into training data. */
  vector?: { names: string[]; values: number[]; sampleCount: number };
  /** The request a request finding judged (the worst of its group), for the same purpose. Masked when encoded. */
  request?: RequestRecord;
  /** A request finding's worst requests (a group per client, route and window), each with what gave it away. */
  examples?: RequestExample[];
  /** Requests the finding stands for (a request group's size). */
  requestCount?: number;
  /** ECS `http.request.method` and `user_agent.original`, where known. */
  httpMethod?: string;
  userAgent?: string;
  /** What tells apart findings of one entity, detector and window (a request group's route): part of the id. */
  groupKey?: string;
}

export interface RequestRecord { method: string; target: string; headers: Record<string, string>; body: string; bodySize?: number }

/** A fragment of a request that a signature check recognised, with its offsets in the field's raw value. */
export interface SignatureEvidence {
  kind: string;
  construct: string;
  /** path, query, body, header or cookie. */
  location: string;
  /** Parameter, header or cookie name, or JSON pointer. */
  field: string;
  fragment: string;
  start: number;
  end: number;
  /** The fragment decoded as the application would read it. */
  decoded: string;
}

export interface RequestExample {
  timeMs: number;
  traceId?: string;
  spanId?: string;
  riskScore: number;
  request: RequestRecord;
  signatures: SignatureEvidence[];
  /** The request model's score, when a model judged it. */
  modelScore?: number;
}

export function severityOf(riskScore: number): number {
  if (riskScore >= 90) return 99;
  if (riskScore >= 70) return 73;
  if (riskScore >= 40) return 47;
  return 21;
}

/** The trace links a finding keeps from a window's exemplars. */
export function exemplarLinks(exemplars: readonly Exemplar[]): Finding['exemplars'] {
  return exemplars.map((e) => ({ traceId: e.traceId, spanId: e.spanId, reason: e.reason }));
}

/** What a finding about a feature vector's window takes from the vector: entity, window, and the whole vector. */
export function windowFields(v: FeatureVector): Pick<Finding, 'entityId' | 'entityType' | 'service' | 'operation' | 'windowStartMs' | 'windowEndMs' | 'vector'> {
  return {
    entityId: v.entityId, entityType: v.entityType, service: v.service, operation: v.operation,
    windowStartMs: v.windowStartMs, windowEndMs: v.windowEndMs,
    vector: { names: v.featureNames, values: v.values, sampleCount: v.sampleCount },
  };
}
