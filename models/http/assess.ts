/**
 * The combined scorer, the one code path of the live request detector and of `peregrine score|eval http`: signature
 * checks on the raw request (what the application receives, secrets included, so an injection typed into a password
 * field is caught), the request model on its masked, route-templated view (models/http/view.ts), both weighed into one
 * calibrated risk (risk.ts). Pure apart from the model it is given; the model scores the whole batch in one call.
 */
import type { RedactionConfig } from '../../core/redaction/redact.ts';
import type { HttpModel } from './model.ts';
import type { HttpRequest, HttpRow } from './request.ts';
import { requestPartsOfRow } from './signatures/parts.ts';
import { scanRequest, type SignatureHit } from './signatures/scan.ts';
import { modelView } from './view.ts';
import { combineRisk, type CombineOptions, type RiskAssessment } from './risk.ts';

export interface RequestInput {
  /** The raw request as an `http_events` row. */
  row: HttpRow;
  /** The route template the instrumentation named, if any. */
  route?: string;
}

export interface AssessedRequest extends RiskAssessment {
  /** The model's score (absent without a model). */
  modelScore?: number;
  hits: SignatureHit[];
  /** What the model saw: the masked, templated request (absent without a model). */
  view?: HttpRequest;
}

export interface AssessOptions extends CombineOptions {
  redaction?: RedactionConfig;
  /**
   * The model judges a request only on a route it was trained on this many times (0: on every route). A model learnt
   * from a few minutes of live traffic has seen a rare route (an internal call a few times a minute) a handful of
   * times: every value there is new to it, and its verdict is noise. Signatures judge every request regardless.
   */
  minRouteRequests?: number;
}

const MODEL_BATCH = 512;

export function assessRequests(inputs: readonly RequestInput[], model: HttpModel | undefined, options: AssessOptions): AssessedRequest[] {
  const hits = inputs.map((input) => scanRequest(requestPartsOfRow(input.row)));
  if (!model) return inputs.map((_, i) => ({ ...combineRisk(undefined, hits[i], options), hits: hits[i] }));
  const views = inputs.map((input) => modelView(input.row, { route: input.route, redaction: options.redaction }));
  const scores = new Float64Array(views.length);
  for (let i = 0; i < views.length; i += MODEL_BATCH) scores.set(model.scoreBatch(views.slice(i, i + MODEL_BATCH)), i);
  const minRoute = options.minRouteRequests ?? 0;
  return inputs.map((_, i) => ({
    ...combineRisk(minRoute > 0 && model.trainedOnRoute(views[i]) < minRoute ? undefined : { score: scores[i], calibration: model.calibration, explain: () => model.explain(views[i]) }, hits[i], options),
    modelScore: scores[i],
    hits: hits[i],
    view: views[i],
  }));
}
