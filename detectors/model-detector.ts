import { followModel, type LoadedModel } from '../models/index.ts';
import type { DetectorSettings } from './detector.ts';

/** A detector scoring with a model it can swap for a newly promoted one. */
interface ModelScorer<M> {
  useModel(loaded: LoadedModel<M>): void;
}

/**
 * Loads the model a model detector's configuration names and follows its alias: the detector `make` builds scores with
 * it, and each newly promoted version is handed to it. Undefined when no model is named (the detector is off).
 */
export async function followedModelDetector<M extends { dispose(): void }, D extends ModelScorer<M>>(
  id: string, config: { model: string; reloadIntervalMs: number }, settings: DetectorSettings, load: (dir: string) => Promise<M>, make: (loaded: LoadedModel<M>) => D,
): Promise<{ detector: D; stop(): void } | undefined> {
  if (config.model === '') return undefined;
  let detector: D | undefined;
  const followed = await followModel({
    detector: id, configKey: `${settings.configKey}.model`, spec: config.model, mlflowUrl: settings.mlflowUrl,
    reloadIntervalMs: config.reloadIntervalMs, load, onChange: (next) => detector?.useModel(next), metrics: settings.metrics, log: settings.log,
  });
  detector = make(followed.loaded);
  return { detector, stop: followed.stop };
}
