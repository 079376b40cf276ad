import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { bearerMatches, readTlsFiles, type TlsFiles } from './server-security.ts';

export interface MetricsEndpoint {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** When set, /metrics wants `Authorization: Bearer <token>` (Prometheus: `authorization.credentials`). */
  authToken?: string;
  tls?: TlsFiles;
}

/** The metrics every stage keeps about itself (the component contract's required counters). */
export interface StageMetrics {
  recordsIn: Counter<'stage'>;
  recordsOut: Counter<'stage'>;
  recordsDropped: Counter<'stage' | 'reason'>;
  errors: Counter<'stage' | 'kind'>;
  consumerLag: Gauge<'stage' | 'topic' | 'partition'>;
  processingLatency: Histogram<'stage'>;
}

/** What the findings stage reports about the findings Elasticsearch acknowledged. */
export interface DetectionMetrics {
  findings: Counter<'detector' | 'technique' | 'severity'>;
  latency: Histogram<'detector'>;
}

/** A delivered finding, as the detection metrics need it. */
export interface DeliveredFinding {
  detector: string;
  /** MITRE ATT&CK technique id, when the detector maps one. */
  technique?: string;
  /** ECS event.severity (21 low, 47 medium, 73 high, 99 critical). */
  severity: number;
  /** End of the window (or request) the finding judged, event time. */
  windowEndMs: number;
}

/** ECS severity number → the band's name, so a label has four values however a detector rounds. */
export function severityBand(severity: number): 'low' | 'medium' | 'high' | 'critical' {
  if (severity >= 90) return 'critical';
  if (severity >= 70) return 'high';
  if (severity >= 40) return 'medium';
  return 'low';
}

let modelBackend: () => string | undefined = () => undefined;

/** The models' TF.js layer tells which backend it runs on; every stage's /metrics then reports it. */
export function setModelBackendProvider(provider: () => string | undefined): void {
  modelBackend = provider;
}

export class MetricsRegistry {
  readonly registry = new Registry();
  readonly stage: StageMetrics;
  readonly detection: DetectionMetrics;
  private readonly health = new Map<string, () => boolean>();

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'peregrine_process_' });
    const registers = [this.registry];
    this.stage = {
      recordsIn: new Counter({ name: 'peregrine_records_in_total', help: 'Records received by a stage', labelNames: ['stage'], registers }),
      recordsOut: new Counter({ name: 'peregrine_records_out_total', help: 'Records emitted by a stage', labelNames: ['stage'], registers }),
      recordsDropped: new Counter({ name: 'peregrine_records_dropped_total', help: 'Records a stage dropped (dead-lettered, late, filtered)', labelNames: ['stage', 'reason'], registers }),
      errors: new Counter({ name: 'peregrine_errors_total', help: 'Errors a stage met', labelNames: ['stage', 'kind'], registers }),
      consumerLag: new Gauge({ name: 'peregrine_consumer_lag_records', help: 'Records behind the partition end', labelNames: ['stage', 'topic', 'partition'], registers }),
      processingLatency: new Histogram({
        name: 'peregrine_processing_latency_seconds', help: 'Time from a batch arriving to its next hop acknowledging it',
        labelNames: ['stage'], buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers,
      }),
    };
    this.detection = {
      findings: new Counter({
        name: 'peregrine_findings_total', help: 'Findings indexed in Elasticsearch, by detector, ATT&CK technique (none when unmapped) and severity band',
        labelNames: ['detector', 'technique', 'severity'], registers,
      }),
      // Windows close after the allowed lateness and wait for the idle flush: tens of seconds are normal.
      latency: new Histogram({
        name: 'peregrine_detection_latency_seconds', help: 'Time from the end of the window a finding judged to Elasticsearch acknowledging the finding',
        labelNames: ['detector'], buckets: [1, 2.5, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1800], registers,
      }),
    };
    const health = this.health;
    new Gauge({
      name: 'peregrine_health_check', help: 'The process\'s /healthz checks (1 passing, 0 failing), one per stage', labelNames: ['check'], registers,
      collect() {
        this.reset();
        for (const [name, check] of health) this.set({ check: name }, check() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'peregrine_tfjs_backend_info', help: 'The TF.js backend the models run on (1 for the one in use)', labelNames: ['backend'], registers,
      collect() {
        this.reset();
        const backend = modelBackend();
        if (backend) this.set({ backend }, 1);
      },
    });
  }

  /** Counts a finding Elasticsearch acknowledged and observes its detection latency (`acknowledgedAtMs`: wall clock). */
  findingDelivered(finding: DeliveredFinding, acknowledgedAtMs: number): void {
    this.detection.findings.inc({ detector: finding.detector, technique: finding.technique ?? 'none', severity: severityBand(finding.severity) });
    this.detection.latency.observe({ detector: finding.detector }, Math.max(0, acknowledgedAtMs - finding.windowEndMs) / 1000);
  }

  /** The counter called `name`, made on first use (several components may count into it). */
  counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    return (this.registry.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  /** The gauge called `name`, made on first use. */
  gauge<L extends string>(name: string, help: string, labelNames: readonly L[]): Gauge<L> {
    return (this.registry.getSingleMetric(name) as Gauge<L> | undefined) ?? new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  /** A stage reports its health here; /healthz is 200 only while every check passes. */
  addHealthCheck(name: string, check: () => boolean): void {
    this.health.set(name, check);
  }

  healthy(): { ok: boolean; checks: Record<string, boolean> } {
    const checks = Object.fromEntries([...this.health].map(([name, check]) => [name, check()]));
    return { ok: Object.values(checks).every(Boolean), checks };
  }

  /**
   * Answers `/metrics` (wanting the token when one is given) and `/healthz`; false for any other path, which a server
   * serving more than these two handles itself.
   */
  async respond(req: IncomingMessage, res: ServerResponse, authToken?: string): Promise<boolean> {
    if (req.url === '/metrics') {
      if (authToken && !bearerMatches(req.headers.authorization, authToken)) {
        res.writeHead(401, { 'www-authenticate': 'Bearer' }).end();
        return true;
      }
      res.writeHead(200, { 'content-type': this.registry.contentType });
      res.end(await this.registry.metrics());
      return true;
    }
    if (req.url === '/healthz') {
      const health = this.healthy();
      res.writeHead(health.ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify(health));
      return true;
    }
    return false;
  }

  /**
   * Serves `/metrics` (Prometheus text) and `/healthz`. The token, when set, guards /metrics; /healthz
   * stays open for liveness probes (it tells only which checks pass).
   */
  async serve(endpoint: MetricsEndpoint): Promise<{ server: Server; port: number }> {
    const { host, port, authToken, tls } = endpoint;
    const handler = async (req: IncomingMessage, res: ServerResponse) => {
      if (!(await this.respond(req, res, authToken))) res.writeHead(404).end();
    };
    const server = tls ? createHttpsServer(readTlsFiles(tls, 'metrics.tls'), handler) : createServer(handler);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, resolve);
    });
    const address = server.address();
    return { server, port: typeof address === 'object' && address ? address.port : port };
  }
}
