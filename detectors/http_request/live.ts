/**
 * The request detector as it runs in the detectors stage (MITRE ATT&CK T1190): every server-side HTTP request event is
 * judged by the combined scorer (signatures on the raw request, the request model on its masked view); alerting
 * requests become findings grouped per client, route template and window (groups.ts). With no model yet it learns:
 * normal requests (no signature hit, no alert) go, masked, into a bounded training buffer kept in the detector's store
 * (so a restart does not start over); after the learning period it trains in a child process, which logs the MLflow
 * run, registers the version and moves the champion alias; the detector then follows the alias. It retrains on a
 * schedule with analysts' verdicts, and the alias moves only when the new model is better on the same evaluation
 * data. `score` is synchronous and never waits for training or MLflow.
 */
import { isIP } from 'node:net';
import { arrayAttribute, type RequestEvent } from '../../core/events.ts';
import { errorMessage } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { KeyedStore } from '../../core/state/keyed-store.ts';
import type { Finding, SignatureEvidence } from '../../findings/finding.ts';
import { routeTemplate } from '../../core/route.ts';
import { assessRequests, maskedRow, type AssessedRequest, type HttpModel, type HttpRow, type LoadedModel } from '../../models/index.ts';
import { RequestGroups, type AlertingRequest } from './groups.ts';
import {
  bufferKey, keepForTraining, trainingDue, trainingRows, type BufferedRequest, type LabelledRow, type LearningSettings, type LearningState,
  type TrainingReason, type TrainingRows,
} from './learning.ts';

export const HTTP_REQUEST_DETECTOR = 'http_request';

const HEADER_PREFIX = 'http.request.header.';
/** Body characters kept with a buffered request (the sensor's excerpts are shorter). */
const BUFFERED_BODY_CHARS = 4096;
const STATE_KEY = 'learning';

export type LoadedHttpModel = LoadedModel<HttpModel>;

/** The columns of an `http_events` row the request model and the signatures read. */
export interface HttpRequestRow extends HttpRow {
  id: string;
  req_headers: Record<string, string>;
  req_body: string;
}

/** `http.request.header.*` attributes arrive flattened: an OTLP string array as JSON text. */
function headerValue(value: string | number | boolean): string {
  return arrayAttribute(value)?.map(String).join(', ') ?? String(value);
}

/** A server-side HTTP request event as an `http_events` row; undefined for anything else. */
export function requestRowOf(event: RequestEvent): HttpRequestRow | undefined {
  if (event.spanKind !== 'server' || event.protocol !== 'http' || !event.method || event.path === undefined) return undefined;
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(event.attributes)) {
    if (key.startsWith(HEADER_PREFIX)) headers[key.slice(HEADER_PREFIX.length)] = headerValue(value);
  }
  if (event.userAgent !== undefined && headers['user-agent'] === undefined) headers['user-agent'] = event.userAgent;
  return {
    id: event.spanId,
    req_method: event.method,
    req_path: event.query !== undefined ? `${event.path}?${event.query}` : event.path,
    req_body: event.requestBody ?? '',
    req_headers: headers,
    req_body_size: event.requestBytes,
  };
}

/** What the detector does with MLflow: train from rows, and load the champion when there is one. */
export interface ModelSource {
  /** The model scoring from the start, if the configuration names one that resolves. */
  readonly initial: LoadedHttpModel | undefined;
  /** Whether the detector may learn (an alias to promote into). */
  readonly canLearn: boolean;
  /** Trains and registers from these rows; resolves once MLflow has the outcome. */
  train(rows: TrainingRows, reason: TrainingReason): Promise<{ decision: string; version?: string; reason: string }>;
  /** Looks for a usable champion (after a training, or while learning); hands it to `onModel` when found. */
  refresh(): Promise<void>;
  stop(): void;
}

export interface LiveDetectorOptions {
  falsePositiveRate: number;
  /** The model's verdict counts on routes it was trained on this many times (config `minRouteRequests`). */
  minRouteRequests?: number;
  explainTop?: number;
  learning: LearningSettings;
  feedbackWeight: number;
  groups: { windowMs: number; examples: number; latenessMs: number; maxOpen: number };
  stores: { buffer: KeyedStore<BufferedRequest>; attacks: KeyedStore<BufferedRequest>; state: KeyedStore<LearningState> };
  /** Analysts' verdicts on request findings, as labelled rows (for retraining). */
  feedback?: () => Promise<LabelledRow[]>;
  log: Logger;
  /** Counts what the detector did (metric label `what`). */
  count?: (what: string, n?: number) => void;
}

export class LiveRequestDetector {
  private loaded: LoadedHttpModel | undefined;
  private readonly groups: RequestGroups;
  private newestEventMs = Number.NEGATIVE_INFINITY;
  private training: Promise<void> | undefined;
  private source: ModelSource | undefined;

  constructor(private readonly o: LiveDetectorOptions) {
    this.groups = new RequestGroups({ ...o.groups, detector: HTTP_REQUEST_DETECTOR });
  }

  /** Connects the model source (MLflow) and starts scoring with its initial model, if any. */
  attach(source: ModelSource): void {
    this.source = source;
    this.useModel(source.initial);
  }

  /** Scores with another model from now on (a newly promoted champion); undefined: signatures only. */
  useModel(loaded: LoadedHttpModel | undefined): void {
    this.loaded = loaded;
    this.groups.useModel(loaded ? { name: loaded.name, version: loaded.version } : undefined);
  }

  get model(): LoadedHttpModel | undefined {
    return this.loaded;
  }

  /** A training in progress (tests and shutdown wait for it). */
  get pendingTraining(): Promise<void> | undefined {
    return this.training;
  }

  score(events: readonly RequestEvent[]): Finding[] {
    const judged: Array<{ event: RequestEvent; row: HttpRequestRow; route: string }> = [];
    for (const event of events) {
      const row = requestRowOf(event);
      if (!row) continue;
      judged.push({ event, row, route: event.route ?? routeTemplate(event.path ?? '/') });
      if (event.timeMs > this.newestEventMs) this.newestEventMs = event.timeMs;
    }
    const findings: Finding[] = [];
    if (judged.length > 0) {
      const assessed = assessRequests(judged, this.loaded?.model, { falsePositiveRate: this.o.falsePositiveRate, explainTop: this.o.explainTop, minRouteRequests: this.o.minRouteRequests });
      const alerting: AlertingRequest[] = [];
      const learningFirst = this.loaded === undefined;
      let buffered = 0, caught = 0;
      judged.forEach(({ event, row, route }, i) => {
        const a = assessed[i];
        if (a.alert) alerting.push(alertingRequest(event, row, route, a));
        // Requests a rule flagged never train the model; those signatures caught are the evaluation's attacks.
        if (a.hits.length > 0) {
          this.remember(this.o.stores.attacks, event, row, route);
          caught++;
        } else if (!a.alert && keepForTraining(row.id, learningFirst, this.o.learning.retainPercent)) {
          this.remember(this.o.stores.buffer, event, row, route);
          buffered++;
        }
      });
      if (buffered) this.o.count?.('buffered', buffered);
      if (caught) this.o.count?.('signature_caught', caught);
      findings.push(...this.groups.add(alerting));
      this.maybeTrain();
    }
    findings.push(...this.groups.close(this.newestEventMs));
    return findings;
  }

  private remember(store: KeyedStore<BufferedRequest>, event: RequestEvent, row: HttpRequestRow, route: string): void {
    const masked = maskedRow({ ...row, req_body: row.req_body.slice(0, BUFFERED_BODY_CHARS) }, { route });
    store.set(bufferKey(event.timeMs, row.id), { timeMs: event.timeMs, row: masked });
    const state = this.state();
    if (state.firstEventMs === undefined && store === this.o.stores.buffer) this.o.stores.state.set(STATE_KEY, { ...state, firstEventMs: event.timeMs });
  }

  private state(): LearningState {
    return this.o.stores.state.get(STATE_KEY) ?? { trainings: 0 };
  }

  private maybeTrain(): void {
    const source = this.source;
    if (!source?.canLearn || this.training) return;
    const state = this.state();
    const reason = trainingDue(state, this.newestEventMs, this.o.stores.buffer.size, this.loaded !== undefined, this.o.learning);
    if (!reason) return;
    this.o.stores.state.set(STATE_KEY, { ...state, lastTrainingEventMs: this.newestEventMs, trainings: state.trainings + 1 });
    const buffer = [...this.o.stores.buffer.entries()].map(([, v]) => v);
    const attacks = [...this.o.stores.attacks.entries()].map(([, v]) => v);
    const log = this.o.log;
    log.info({ reason, requests: buffer.length, attacks: attacks.length }, 'training the request model in a child process');
    this.o.count?.(`training_${reason}`);
    this.training = (async () => {
      const feedback = reason === 'retrain' && this.o.feedback ? await this.o.feedback() : [];
      const rows = trainingRows(buffer, attacks, feedback, this.o.feedbackWeight);
      const outcome = await source.train(rows, reason);
      log.info({ ...outcome, train: rows.train.length, evaluation: rows.evaluation.length }, `request model trained: ${outcome.decision} (${outcome.reason})`);
      this.o.count?.(`trained_${outcome.decision}`);
      if (outcome.decision !== 'kept') await source.refresh();
    })()
      .catch((e: unknown) => {
        this.o.count?.('training_failed');
        log.warn({ err: errorMessage(e) }, 'request model training failed; signatures and the current model keep scoring, the next attempt waits a learning period');
      })
      .finally(() => { this.training = undefined; });
  }

  stop(): void {
    this.source?.stop();
  }
}

function alertingRequest(event: RequestEvent, row: HttpRequestRow, route: string, a: AssessedRequest): AlertingRequest {
  const signatures: SignatureEvidence[] = a.hits.map((h) => ({
    kind: h.kind, construct: h.construct, location: h.location, field: h.field, fragment: h.fragment, start: h.start, end: h.end, decoded: h.decoded,
  }));
  return {
    timeMs: event.timeMs, service: event.service, operation: event.operation, route, method: row.req_method,
    client: event.clientAddress,
    // ECS source.ip is an ip field: a host name there would get the finding refused.
    sourceIp: event.clientAddress !== undefined && isIP(event.clientAddress) !== 0 ? event.clientAddress : undefined,
    userAgent: row.req_headers['user-agent'], traceId: event.traceId || undefined, spanId: event.spanId || undefined,
    riskScore: a.risk, modelScore: a.modelScore, contributions: a.contributions, signatures,
    request: { method: row.req_method, target: row.req_path, headers: row.req_headers, body: row.req_body, ...(row.req_body_size !== undefined ? { bodySize: row.req_body_size } : {}) },
  };
}
