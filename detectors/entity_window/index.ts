/** `detectors.entity_window`: the entity-window autoencoder trained by `peregrine train window`, from MLflow or a directory. */
import { z } from 'zod';
import { loadWindowModel } from '../../models/index.ts';
import { followedModelDetector } from '../model-detector.ts';
import type { WindowDetectorFactory } from '../detector.ts';
import { ModelReference } from '../model-reference.ts';
import { ENTITY_WINDOW_DETECTOR, EntityWindowDetector } from './detector.ts';

export const EntityWindowConfig = z.strictObject({
  /**
   * The entity-window model: `models:/NAME@ALIAS` or `models:/NAME/VERSION` from MLflow, or a model package directory;
   * '' leaves the detector off. With an alias, a newly promoted version is picked up while running.
   */
  model: ModelReference,
  /** Calibrated score (0–100) that raises a finding; default: the one stored with the model. */
  alertScore: z.number().min(0).max(100).optional(),
  /** Windows with fewer requests are not judged. */
  minRequests: z.number().int().min(1).default(5),
  /** How often an alias is checked for a new version (ms). */
  reloadIntervalMs: z.number().int().min(1000).default(300_000),
});
export type EntityWindowConfig = z.infer<typeof EntityWindowConfig>;

export const entityWindowDetector: WindowDetectorFactory<EntityWindowConfig> = {
  id: ENTITY_WINDOW_DETECTOR,
  input: 'window',
  config: EntityWindowConfig,
  deprecatedKey: 'entityWindow',
  async create(config, settings) {
    const followed = await followedModelDetector(ENTITY_WINDOW_DETECTOR, config, settings, loadWindowModel,
      (loaded) => new EntityWindowDetector(loaded, { alertScore: config.alertScore, minRequests: config.minRequests }));
    return followed && { score: (v) => followed.detector.score(v), stop: followed.stop };
  },
};
