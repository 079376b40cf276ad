import { createHash } from 'node:crypto';
import type { Finding, FindingKind, RequestRecord } from '../finding.ts';
import { maskFinding } from '../mask.ts';
import { attackReference, type AttackEntry, type Threat } from '../threat.ts';

export interface EcsEncodeSettings {
  /** Base of trace links, e.g. http://127.0.0.1:16686. */
  jaegerUiUrl: string;
}

/** The id of a finding: the same (entity, detector, window[, group]) always gives the same document. */
export function findingId(f: Pick<Finding, 'entityId' | 'detector' | 'windowStartMs' | 'windowEndMs' | 'groupKey'>): string {
  const group = f.groupKey === undefined ? '' : `\u0000${f.groupKey}`;
  return createHash('sha256').update(`${f.entityId}\u0000${f.detector}\u0000${f.windowStartMs}\u0000${f.windowEndMs}${group}`).digest('hex').slice(0, 40);
}

function requestDoc(r: RequestRecord): Record<string, unknown> {
  return { method: r.method, target: r.target, headers: r.headers, body: r.body, body_size: r.bodySize };
}

export function traceLink(jaegerUiUrl: string, traceId: string): string {
  return `${jaegerUiUrl.replace(/\/+$/, '')}/trace/${traceId}`;
}

/** ECS `event.category` of the entity's domain: what the finding is about. */
function domainOf(entityType: string): string {
  switch (entityType) {
    case 'edge':
      return 'network';
    case 'host':
    case 'pod':
      return 'host';
    case 'process':
      return 'process';
    default:
      return 'web';
  }
}

/**
 * ECS `event.category` / `event.type`: an intrusion is `intrusion_detection` (and its domain), a fault or an anomaly
 * only its domain; a fault of a web entity is an `error`, everything else `info` (the types ECS allows with them).
 */
export function eventCategorisation(kind: FindingKind, entityType: string): { category: string[]; type: string[] } {
  const domain = domainOf(entityType);
  if (kind === 'intrusion') return { category: ['intrusion_detection', domain], type: ['info'] };
  return { category: [domain], type: [kind === 'fault' && domain === 'web' ? 'error' : 'info'] };
}

/** ECS `threat.*` for every technique a finding carries (a combined finding may carry several). */
function threatFields(f: Finding): Record<string, unknown> | undefined {
  const threats: Threat[] = [...(f.contributions ?? []).flatMap((c) => (c.threat ? [c.threat] : [])), ...(f.threat ? [f.threat] : [])];
  if (threats.length === 0) return undefined;
  const unique = <T extends { id: string }>(entries: T[]): T[] => [...new Map(entries.map((e) => [e.id, e])).values()];
  const list = (entries: AttackEntry[]) => ({ id: entries.map((e) => e.id), name: entries.map((e) => e.name), reference: entries.map((e) => attackReference(e.id)) });
  const subtechniques = unique(threats.flatMap((t) => (t.subtechnique ? [t.subtechnique] : [])));
  return {
    framework: 'MITRE ATT&CK',
    tactic: list(unique(threats.map((t) => t.tactic))),
    technique: { ...list(unique(threats.map((t) => t.technique))), ...(subtechniques.length > 0 ? { subtechnique: list(subtechniques) } : {}) },
  };
}

/** ECS fields of the entity's context (source, destination, user, host, process, container, orchestrator, http). */
function contextFields(f: Finding): Record<string, unknown> {
  const c = f.context ?? {};
  const out: Record<string, unknown> = {};
  const sourceIp = f.sourceIp ?? c.source?.ip;
  if (sourceIp || c.source?.address) out.source = { ...(sourceIp ? { ip: sourceIp } : {}), ...(c.source?.address ? { address: c.source.address } : {}) };
  if (c.destination) out.destination = { ...c.destination };
  if (c.user) out.user = { name: c.user.name };
  if (c.host) out.host = { name: c.host.name };
  if (c.process) out.process = { executable: c.process.executable, name: c.process.name };
  if (c.container) out.container = { id: c.container.id };
  if (c.orchestrator) out.orchestrator = c.orchestrator;
  const method = f.httpMethod ?? c.httpMethod;
  if (method) out.http = { request: { method } };
  if (f.userAgent) out.user_agent = { original: f.userAgent };
  if (f.urlPath) out.url = { path: f.urlPath };
  return out;
}

/**
 * A finding as an Elastic Common Schema alert document (Kibana and Elastic Security read it as it is). The requests it
 * carries are masked first (findings/mask.ts): this document is what Elasticsearch, the alert feed and webhooks get.
 */
export function encodeEcsFinding(raw: Finding, settings: EcsEncodeSettings): Record<string, unknown> {
  const id = raw.id ?? findingId(raw);
  const f = maskFinding(raw);
  const example = f.exemplars[0];
  const kind = f.kind ?? (f.threat ? 'intrusion' : 'fault');
  const start = f.group?.firstSeenMs ?? f.windowStartMs;
  const end = f.group?.lastSeenMs ?? f.windowEndMs;
  const doc: Record<string, unknown> = {
    '@timestamp': new Date(end).toISOString(),
    message: f.message,
    ecs: { version: '8.11.0' },
    event: {
      id,
      kind: 'alert',
      ...eventCategorisation(kind, f.entityType),
      module: 'peregrine',
      dataset: 'peregrine.findings',
      start: new Date(start).toISOString(),
      end: new Date(end).toISOString(),
      severity: f.severity,
      risk_score: f.riskScore,
      risk_score_norm: f.riskScore,
      ...(example ? { url: traceLink(settings.jaegerUiUrl, example.traceId) } : {}),
    },
    rule: { id: `peregrine.${f.detector}`, name: f.ruleName, description: f.ruleDescription, ruleset: 'peregrine' },
    service: { name: f.service },
    ...contextFields(f),
    peregrine: {
      entity: { id: f.entityId, type: f.entityType },
      kind,
      operation: f.operation,
      detector: f.detector,
      explanation: f.explanation,
      exemplars: f.exemplars.map((e) => ({ trace_id: e.traceId, span_id: e.spanId, reason: e.reason, url: traceLink(settings.jaegerUiUrl, e.traceId) })),
      ...(f.contributions ? { contributions: f.contributions.map((c) => ({ detector: c.detector, rule: c.ruleName, risk_score: c.riskScore, share: c.share, technique: c.threat?.subtechnique?.id ?? c.threat?.technique.id })) } : {}),
      ...(f.group ? {
        group: {
          count: f.group.count, first_seen: new Date(f.group.firstSeenMs).toISOString(), last_seen: new Date(f.group.lastSeenMs).toISOString(),
          ...(f.group.status ? { status: f.group.status } : {}),
        },
      } : {}),
      window: { start: new Date(f.windowStartMs).toISOString(), end: new Date(f.windowEndMs).toISOString() },
      ...(f.evidence ? { evidence: f.evidence } : {}),
      ...(f.model ? { model: f.model } : {}),
      ...(f.vector ? { features: { names: f.vector.names, values: f.vector.values, sample_count: f.vector.sampleCount } } : {}),
      ...(f.request ? { request: requestDoc(f.request) } : {}),
      ...(f.requestCount !== undefined ? { requests: f.requestCount } : {}),
      ...(f.examples ? {
        signatures: [...new Set(f.examples.flatMap((e) => e.signatures.map((s) => s.kind)))],
        examples: f.examples.map((e) => ({
          '@timestamp': new Date(e.timeMs).toISOString(), trace_id: e.traceId, span_id: e.spanId, risk_score: e.riskScore,
          ...(e.modelScore !== undefined ? { model_score: e.modelScore } : {}),
          request: requestDoc(e.request),
          signatures: e.signatures.map((s) => ({ kind: s.kind, construct: s.construct, location: s.location, field: s.field, fragment: s.fragment, start: s.start, end: s.end, decoded: s.decoded })),
        })),
      } : {}),
    },
  };
  if (example) {
    doc.trace = { id: example.traceId };
    if (example.spanId) doc.span = { id: example.spanId };
  }
  const threat = threatFields(f);
  if (threat) doc.threat = threat;
  return doc;
}
