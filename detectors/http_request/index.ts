/**
 * `detectors.http_request`: every server-side HTTP request judged by signatures and the request model (T1190), on by
 * default, learning its model from live traffic when MLflow has no champion yet (see live.ts).
 */
import type { RequestDetectorFactory } from '../detector.ts';
import { HttpRequestConfig } from './config.ts';
import type { BufferedRequest, LabelledRow, LearningState } from './learning.ts';
import { HTTP_REQUEST_DETECTOR, LiveRequestDetector } from './live.ts';
import { mlflowModelSource } from './mlflow-source.ts';

export { HttpRequestConfig };

/** Requests signatures caught, kept masked as the attacks of the evaluation data. */
const CAUGHT_KEPT = 2000;

export const httpRequestDetector: RequestDetectorFactory<HttpRequestConfig> = {
  id: HTTP_REQUEST_DETECTOR,
  input: 'request',
  config: HttpRequestConfig,
  deprecatedKey: 'httpRequest',
  async create(config, settings) {
    if (!config.enabled) return undefined;
    const log = settings.log.child({ detector: HTTP_REQUEST_DETECTOR });
    const feedback = settings.feedback;
    const learning = settings.metrics.counter('peregrine_http_request_learning_total', 'What the request detector did to learn its model: requests buffered, caught by signatures, trainings and their outcomes', ['what']);
    const detector = new LiveRequestDetector({
      falsePositiveRate: config.falsePositiveRate,
      minRouteRequests: config.minRouteRequests,
      feedbackWeight: config.feedbackWeight,
      learning: {
        learningPeriodMs: config.learningPeriod, minTrainingRequests: config.minTrainingRequests, maxTrainingRequests: config.maxTrainingRequests,
        retrainIntervalMs: config.retrainInterval, retainPercent: config.retainPercent,
      },
      groups: { windowMs: config.groupWindow, examples: config.examplesPerFinding, latenessMs: config.groupLateness, maxOpen: config.maxOpenGroups },
      stores: {
        buffer: settings.store<BufferedRequest>('training-buffer', { maxKeys: config.maxTrainingRequests }),
        attacks: settings.store<BufferedRequest>('caught-requests', { maxKeys: CAUGHT_KEPT }),
        state: settings.store<LearningState>('learning', { maxKeys: 1 }),
      },
      feedback: feedback ? async () => (await feedback.labelledRequests()).map((r): LabelledRow => ({ ...r })) : undefined,
      log,
      count: (what, n = 1) => learning.inc({ what }, n),
    });
    const source = await mlflowModelSource({
      spec: config.model, learn: config.learn, experiment: config.experiment, mlflowUrl: settings.mlflowUrl, configKey: settings.configKey,
      reloadIntervalMs: config.reloadIntervalMs, metrics: settings.metrics, log, clock: settings.clock, onModel: (m) => detector.useModel(m),
    });
    detector.attach(source);
    return { score: (events) => detector.score(events), stop: () => detector.stop() };
  },
};
