import { createHash } from 'node:crypto';
import type { Finding, RequestRecord } from '../finding.ts';
import { maskFinding } from '../mask.ts';

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

/**
 * A finding as an Elastic Common Schema alert document (Kibana and Elastic Security read it as it is). The requests it
 * carries are masked first (findings/mask.ts): this document is what Elasticsearch, the alert feed and webhooks get.
 */
export function encodeEcsFinding(raw: Finding, settings: EcsEncodeSettings): Record<string, unknown> {
  const id = findingId(raw);
  const f = maskFinding(raw);
  const example = f.exemplars[0];
  const doc: Record<string, unknown> = {
    '@timestamp': new Date(f.windowEndMs).toISOString(),
    message: f.message,
    ecs: { version: '8.11.0' },
    event: {
      id,
      kind: 'alert',
      category: ['intrusion_detection'],
      type: ['info'],
      module: 'peregrine',
      dataset: 'peregrine.findings',
      start: new Date(f.windowStartMs).toISOString(),
      end: new Date(f.windowEndMs).toISOString(),
      severity: f.severity,
      risk_score: f.riskScore,
      risk_score_norm: f.riskScore,
      ...(example ? { url: traceLink(settings.jaegerUiUrl, example.traceId) } : {}),
    },
    rule: { id: `peregrine.${f.detector}`, name: f.ruleName, description: f.ruleDescription, ruleset: 'peregrine' },
    service: { name: f.service },
    peregrine: {
      entity: { id: f.entityId, type: f.entityType },
      operation: f.operation,
      detector: f.detector,
      explanation: f.explanation,
      exemplars: f.exemplars.map((e) => ({ trace_id: e.traceId, span_id: e.spanId, reason: e.reason, url: traceLink(settings.jaegerUiUrl, e.traceId) })),
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
  if (f.threat) {
    doc.threat = {
      framework: 'MITRE ATT&CK',
      tactic: { id: [f.threat.tactic.id], name: [f.threat.tactic.name] },
      technique: { id: [f.threat.technique.id], name: [f.threat.technique.name] },
    };
  }
  if (f.urlPath) doc.url = { path: f.urlPath };
  if (f.httpMethod) doc.http = { request: { method: f.httpMethod } };
  if (f.userAgent) doc.user_agent = { original: f.userAgent };
  if (f.sourceIp) doc.source = { ip: f.sourceIp };
  return doc;
}
