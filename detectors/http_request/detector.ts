/**
 * The HTTP request model (models/http, trained on normal requests: CSIC 2010 or your own sensor's
 * Pixie rows) as a streaming security detector over request events: each server-side HTTP request is
 * scored; a score above the model's calibrated threshold for the configured false-positive rate is a
 * finding — a request shaped unlike anything the route saw — mapped to MITRE ATT&CK T1190 (Exploit
 * Public-Facing Application), with the request's path, client address and trace, and the parts of
 * the request that drove the score. Pure apart from the model it holds.
 */
import { isIP } from 'node:net';
import type { RequestEvent } from '../../core/events.ts';
import { THREAT_T1190 } from './groups.ts';
import { HTTP_REQUEST_DETECTOR, requestRowOf, type HttpRequestRow } from './live.ts';
import { ConfigError } from '../../core/errors.ts';
import { severityOf, type Finding } from '../../findings/finding.ts';
import { parseHttpRow, type HttpModel, type HttpRequest, type LoadedModel } from '../../models/index.ts';

export { HTTP_REQUEST_DETECTOR, requestRowOf, type HttpRequestRow };

/**
 * A server-side HTTP request event as the request model sees requests (the same parse as its training
 * rows: method, path, query and form parameters, headers, body); undefined for anything else.
 */
export function httpRequestOf(event: RequestEvent): HttpRequest | undefined {
  const row = requestRowOf(event);
  return row && parseHttpRow(row);
}

export type LoadedHttpModel = LoadedModel<HttpModel>;

export interface HttpRequestSettings {
  /** The calibrated operating point: the share of normal requests allowed to alert. */
  falsePositiveRate: number;
  explainTop?: number;
}

/** The calibrated threshold closest to the rate asked for; a model without calibration cannot run here. */
export function thresholdFor(model: HttpModel, falsePositiveRate: number): { fpr: number; threshold: number } {
  const points = model.calibration?.thresholds ?? [];
  if (points.length === 0) throw new ConfigError('the HTTP request model has no calibration (train it with `peregrine train http`)', 'detectors.httpRequest.model');
  return points.reduce((best, p) => (Math.abs(p.fpr - falsePositiveRate) < Math.abs(best.fpr - falsePositiveRate) ? p : best));
}

export class HttpRequestDetector {
  private loaded: LoadedHttpModel;
  operatingPoint: { fpr: number; threshold: number };

  constructor(loaded: LoadedHttpModel, private readonly settings: HttpRequestSettings) {
    this.loaded = loaded;
    this.operatingPoint = thresholdFor(loaded.model, settings.falsePositiveRate);
  }

  /** Scores from now on with another model (a newly promoted champion) at its own calibrated threshold. */
  useModel(loaded: LoadedHttpModel): void {
    this.operatingPoint = thresholdFor(loaded.model, this.settings.falsePositiveRate);
    this.loaded = loaded;
  }

  /** Scores a batch of events (one model call for all of them); findings for the requests above the threshold. */
  score(events: readonly RequestEvent[]): Finding[] {
    const scored: Array<{ event: RequestEvent; row: HttpRequestRow; request: HttpRequest }> = [];
    for (const event of events) {
      const row = requestRowOf(event);
      if (row) scored.push({ event, row, request: parseHttpRow(row) });
    }
    if (scored.length === 0) return [];
    const { model, name, version } = this.loaded;
    const scores = model.scoreBatch(scored.map((s) => s.request));
    const threshold = this.operatingPoint.threshold;
    const findings: Finding[] = [];
    scored.forEach(({ event, row, request }, i) => {
      const score = scores[i];
      if (!(score > threshold)) return;
      const contributions = model.explain(request);
      const total = contributions.reduce((sum, c) => sum + c.score, 0);
      const top = contributions.slice(0, this.settings.explainTop ?? 3);
      // Twice the threshold or more is as sure as this model gets.
      const riskScore = Math.round(Math.min(100, 50 + 50 * Math.min(1, (score - threshold) / Math.max(threshold, 1e-9))));
      const what = top.map((c) => (c.field ? `${c.component} of ${c.field}` : c.component)).join(', ');
      findings.push({
        detector: HTTP_REQUEST_DETECTOR,
        ruleName: 'Anomalous HTTP request',
        ruleDescription: 'A request whose method, parameters, values or headers are unlike the normal requests the route was trained on (injection, traversal, tampering)',
        entityId: `operation:${event.service}:${event.operation}`,
        entityType: 'operation',
        service: event.service,
        operation: event.operation,
        windowStartMs: event.timeMs,
        windowEndMs: event.timeMs + event.durationMs,
        riskScore,
        severity: severityOf(riskScore),
        message: `${event.method} ${event.path} from ${event.clientAddress ?? 'an unknown client'}: request score ${score.toFixed(1)} above ${threshold.toFixed(1)} (${what})`,
        explanation: top.map((c) => ({ feature: c.field ? `${c.component}:${c.field}` : c.component, actual: c.score, typical: 0, share: total > 0 ? c.score / total : 0 })),
        exemplars: event.traceId ? [{ traceId: event.traceId, spanId: event.spanId, reason: 'anomalous_request' }] : [],
        model: { name, version },
        threat: THREAT_T1190,
        urlPath: event.path,
        // ECS source.ip is an ip field: a host name there would get the finding refused.
        sourceIp: event.clientAddress !== undefined && isIP(event.clientAddress) !== 0 ? event.clientAddress : undefined,
        request: { method: row.req_method, target: row.req_path, headers: row.req_headers, body: row.req_body, bodySize: row.req_body_size },
      });
    });
    return findings;
  }
}
