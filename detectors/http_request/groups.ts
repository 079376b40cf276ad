/**
 * Request findings a SOC can triage: alerting requests are grouped per (client, service and route template, event-time
 * window), so a scanner's thousand requests are one finding, not a thousand. A group's finding goes out as soon as the
 * group opens (with every alerting request of that batch), and once more, under the same id, when its window closes
 * if requests joined it since — with the count, the highest risk and the worst requests as examples (each with its
 * fragments, offsets and trace). Open groups are bounded: past `maxOpen` the oldest closes early. Pure: time is the
 * events'.
 */
import type { Finding, RequestExample, RequestRecord, SignatureEvidence } from '../../findings/finding.ts';
import { severityOf } from '../../findings/finding.ts';
import type { RiskContribution } from '../../models/index.ts';

export const THREAT_T1190: NonNullable<Finding['threat']> = {
  tactic: { id: 'TA0001', name: 'Initial Access' },
  technique: { id: 'T1190', name: 'Exploit Public-Facing Application' },
};

/** One alerting request, as the group keeps it (the request raw: findings are masked when encoded). */
export interface AlertingRequest {
  timeMs: number;
  service: string;
  /** The span's name, e.g. `GET /items/{id}`. */
  operation: string;
  route: string;
  method: string;
  client?: string;
  /** The client address when it is an IP address (ECS source.ip). */
  sourceIp?: string;
  userAgent?: string;
  traceId?: string;
  spanId?: string;
  riskScore: number;
  modelScore?: number;
  contributions: RiskContribution[];
  signatures: SignatureEvidence[];
  request: RequestRecord;
}

export interface GroupSettings {
  /** Event-time window of a group (ms). */
  windowMs: number;
  /** Worst requests kept per finding. */
  examples: number;
  /** How long after its end a window still takes late requests (ms of event time). */
  latenessMs: number;
  /** Open groups kept at most. */
  maxOpen: number;
  detector: string;
  model?: { name: string; version: string };
}

interface Group {
  key: string;
  windowStartMs: number;
  count: number;
  worst: AlertingRequest[];
  kinds: Set<string>;
  /** Requests joined since the finding last went out. */
  dirty: boolean;
}

export class RequestGroups {
  private readonly open = new Map<string, Group>();

  constructor(private readonly settings: GroupSettings) {}

  get size(): number {
    return this.open.size;
  }

  /** Adds a batch's alerting requests; the findings of the groups this batch opened. */
  add(requests: readonly AlertingRequest[]): Finding[] {
    const opened: Group[] = [];
    for (const r of requests) {
      const windowStartMs = Math.floor(r.timeMs / this.settings.windowMs) * this.settings.windowMs;
      const key = `${r.client ?? 'unknown'}\u0000${r.service}\u0000${r.route}\u0000${windowStartMs}`;
      let g = this.open.get(key);
      if (!g) {
        g = { key, windowStartMs, count: 0, worst: [], kinds: new Set(), dirty: false };
        this.open.set(key, g);
        opened.push(g);
      } else if (!opened.includes(g)) g.dirty = true;
      g.count++;
      for (const s of r.signatures) g.kinds.add(s.kind);
      keepWorst(g.worst, r, this.settings.examples);
    }
    const out = opened.map((g) => this.findingOf(g));
    // Bounded: the oldest groups close early (their last update goes out now).
    while (this.open.size > this.settings.maxOpen) {
      const [key, g] = this.open.entries().next().value as [string, Group];
      this.open.delete(key);
      if (g.dirty) out.push(this.findingOf(g));
    }
    return out;
  }

  /** Closes the groups whose window (plus lateness) ended before `watermarkMs`; the updates of those that grew. */
  close(watermarkMs: number): Finding[] {
    const out: Finding[] = [];
    for (const [key, g] of this.open) {
      if (g.windowStartMs + this.settings.windowMs + this.settings.latenessMs > watermarkMs) continue;
      this.open.delete(key);
      if (g.dirty) out.push(this.findingOf(g));
    }
    return out;
  }

  private findingOf(g: Group): Finding {
    g.dirty = false;
    const worst = g.worst[0];
    const { windowMs, detector } = this.settings;
    const kinds = [...g.kinds].sort();
    const what = kinds.length ? kinds.map((k) => k.replace(/_/g, ' ')).join(', ') : 'requests unlike the route\'s normal traffic';
    const client = worst.client ?? 'an unknown client';
    const examples: RequestExample[] = g.worst.map((r) => ({
      timeMs: r.timeMs, traceId: r.traceId, spanId: r.spanId, riskScore: r.riskScore, request: r.request, signatures: r.signatures,
      ...(r.modelScore !== undefined ? { modelScore: r.modelScore } : {}),
    }));
    return {
      detector,
      ruleName: kinds.length ? 'Web application attack' : 'Anomalous web requests',
      ruleDescription: 'Requests to a public route that carry attack grammar (SQL, script, traversal, command or expression injection) or are unlike the route\'s normal requests, grouped per client, route and window',
      entityId: `client:${worst.client ?? 'unknown'}`,
      entityType: 'client',
      service: worst.service,
      operation: worst.operation,
      windowStartMs: g.windowStartMs,
      windowEndMs: g.windowStartMs + windowMs,
      riskScore: worst.riskScore,
      severity: severityOf(worst.riskScore),
      message: `${g.count} suspicious request${g.count === 1 ? '' : 's'} from ${client} to ${worst.method} ${worst.route} (${what}); highest risk ${worst.riskScore}`,
      explanation: worst.contributions.map((c) => ({ feature: c.feature, actual: c.actual, typical: c.typical, share: c.share })),
      exemplars: g.worst.filter((r) => r.traceId).map((r) => ({ traceId: r.traceId!, spanId: r.spanId, reason: r.signatures.length ? 'attack_request' : 'anomalous_request' })),
      ...(this.settings.model ? { model: this.settings.model } : {}),
      threat: THREAT_T1190,
      urlPath: worst.route,
      sourceIp: worst.sourceIp,
      httpMethod: worst.method,
      userAgent: worst.userAgent,
      request: worst.request,
      examples,
      requestCount: g.count,
      groupKey: `${worst.service} ${worst.route}`,
    };
  }

  /** The model findings name from now on (a new champion). */
  useModel(model: { name: string; version: string } | undefined): void {
    this.settings.model = model;
  }
}

/** Keeps the `n` riskiest requests, riskiest first (the earlier one first among equals). */
function keepWorst(worst: AlertingRequest[], r: AlertingRequest, n: number): void {
  let at = worst.findIndex((w) => r.riskScore > w.riskScore);
  if (at < 0) at = worst.length;
  if (at >= n) return;
  worst.splice(at, 0, r);
  if (worst.length > n) worst.pop();
}
