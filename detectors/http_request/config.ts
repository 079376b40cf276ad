/**
 * `detectors.http_request`: the request detector's configuration. On by default: with no champion yet under the
 * model's alias it learns from live requests for `learningPeriod`, trains in a child process, registers and promotes
 * the model in MLflow, then scores; signatures judge every request from the start.
 */
import { z } from 'zod';
import { ModelReference } from '../model-reference.ts';

/** `90s`, `5m`, `2h`, `1d`, or milliseconds as a number. */
export const Duration = z.union([
  z.number().int().min(0),
  z.string().regex(/^\d+(?:ms|s|m|h|d)$/, 'a duration such as 90s, 5m, 2h or 1d').transform((s) => {
    const [, n, unit] = /^(\d+)(ms|s|m|h|d)$/.exec(s)!;
    return Number(n) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit as 'ms' | 's' | 'm' | 'h' | 'd'];
  }),
]);

export const HttpRequestConfig = z.strictObject({
  /** Off: no request is judged. */
  enabled: z.boolean().default(true),
  /**
   * The request model: `models:/NAME@ALIAS` (followed: a newly promoted version takes over), `models:/NAME/VERSION` or
   * a package directory; '' = signatures only. With an alias that has no version yet, the detector learns one.
   */
  model: ModelReference.default('models:/peregrine-http-request@champion'),
  /**
   * The share of normal requests allowed to alert: a request alerts at risk 20 × −log10 of it (0.0001: risk 80, where
   * a high-confidence signature alone alerts; 0.001: risk 60, where a medium one does too).
   */
  falsePositiveRate: z.number().gt(0).lt(1).default(0.0001),
  /**
   * The model judges requests only on routes it was trained on at least this many times (signatures judge all): a
   * model learnt from minutes of live traffic knows a rare route from a handful of requests, too few to tell odd from new.
   */
  minRouteRequests: z.number().int().min(0).default(50),
  /** How often the alias is checked for a new version (ms). */
  reloadIntervalMs: z.number().int().min(1000).default(300_000),
  /** Learn from live traffic when the model's alias has no usable version (models:/NAME@ALIAS only). */
  learn: z.boolean().default(true),
  /** Event time the detector learns before its first training (with at least `minTrainingRequests`). */
  learningPeriod: Duration.default(180_000),
  /** Requests needed for a training; with `maxTrainingRequests` learned, training starts before the period ends. */
  minTrainingRequests: z.number().int().min(20).default(500),
  /** The training buffer keeps the newest requests up to this many (persisted in the detector's store). */
  maxTrainingRequests: z.number().int().min(100).max(200_000).default(20_000),
  /** Once a model scores, the share of normal requests (percent) still kept for retraining. */
  retainPercent: z.number().min(0).max(100).default(10),
  /** Retraining (with analysts' verdicts): event time between trainings; 0 = never. */
  retrainInterval: Duration.default(86_400_000),
  /** How many times a request an analyst judged a false positive counts in retraining. */
  feedbackWeight: z.number().int().min(1).default(10),
  /** MLflow experiment of the training runs. */
  experiment: z.string().min(1).default('peregrine-http-request'),
  /**
   * Findings: one per client, route and window of this length (event time), with the worst requests as examples. The
   * window's end bounds the time to detect (10 s, the features' window); longer windows mean fewer findings per attack.
   */
  groupWindow: Duration.default(10_000),
  examplesPerFinding: z.number().int().min(1).max(50).default(5),
  /** Event time a group's window waits for late requests before its last update. */
  groupLateness: Duration.default(5_000),
  maxOpenGroups: z.number().int().min(10).default(10_000),
});
export type HttpRequestConfig = z.infer<typeof HttpRequestConfig>;
