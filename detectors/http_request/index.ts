/** `detectors.http_request`: the HTTP request model (`peregrine train http`) scoring every server-side request. */
import { z } from 'zod';
import { HttpModel } from '../../models/index.ts';
import { followedModelDetector } from '../model-detector.ts';
import type { RequestDetectorFactory } from '../detector.ts';
import { ModelReference } from '../model-reference.ts';
import { HTTP_REQUEST_DETECTOR, HttpRequestDetector } from './detector.ts';

export const HttpRequestConfig = z.strictObject({
  /**
   * The HTTP request model (`peregrine train http`): `models:/NAME@ALIAS`, `models:/NAME/VERSION` or a directory; ''
   * leaves the detector off. It scores server-side HTTP request events read from the spans topic.
   */
  model: ModelReference,
  /** The calibrated operating point: the share of normal requests allowed to alert (0.001 = 0.1%). */
  falsePositiveRate: z.number().gt(0).lt(1).default(0.001),
  reloadIntervalMs: z.number().int().min(1000).default(300_000),
});
export type HttpRequestConfig = z.infer<typeof HttpRequestConfig>;

export const httpRequestDetector: RequestDetectorFactory<HttpRequestConfig> = {
  id: HTTP_REQUEST_DETECTOR,
  input: 'request',
  config: HttpRequestConfig,
  deprecatedKey: 'httpRequest',
  async create(config, settings) {
    const followed = await followedModelDetector(HTTP_REQUEST_DETECTOR, config, settings, (dir) => HttpModel.load(dir),
      (loaded) => new HttpRequestDetector(loaded, { falsePositiveRate: config.falsePositiveRate }));
    return followed && { score: (events) => followed.detector.score(events), stop: followed.stop };
  },
};
