import { createHash } from 'node:crypto';
import type { Finding } from '../finding.ts';

export interface EcsEncodeSettings {
  /** Base of trace links, e.g. http://127.0.0.1:16686. */
  jaegerUiUrl: string;
}

/** The id of a finding: the same (entity, detector, window) always gives the same document. */
export function findingId(f: Pick<Finding, 'entityId' | 'detector' | 'windowStartMs' | 'windowEndMs'>): string {
  return createHash('sha256').update(`${f.entityId}\u0000${f.detector}\u0000${f.windowStartMs}\u0000${f.windowEndMs}`).digest('hex').slice(0, 40);
}

export function traceLink(jaegerUiUrl: string, traceId: string): string {
  return `${jaegerUiUrl.replace(/\/+$/, '')}/trace/${traceId}`;
}

/** A finding as an Elastic Common Schema alert document (Kibana and Elastic Security read it as it is). */
export function encodeEcsFinding(f: Finding, settings: EcsEncodeSettings): Record<string, unknown> {
  const id = findingId(f);
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
      ...(f.request ? { request: { method: f.request.method, target: f.request.target, headers: f.request.headers, body: f.request.body, body_size: f.request.bodySize } } : {}),
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
  if (f.sourceIp) doc.source = { ip: f.sourceIp };
  return doc;
}
