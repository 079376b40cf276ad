/**
 * Loads the entity-window model the configuration names (MLflow `models:/…` or a directory) for the
 * detectors stage, and follows its alias: when another version becomes the champion, the next check
 * loads it and the detector scores with it from then on (the old one keeps scoring until the new one
 * is ready; a failed check keeps the current model and is logged).
 */
import path from 'node:path';
import { Gauge } from 'prom-client';
import type { Config } from '../../core/config.ts';
import { ConfigError, errorMessage, isRetryable } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { MetricsRegistry } from '../../core/metrics.ts';
import { MlflowClient } from '../../core/mlflow.ts';
import { readManifest } from '../../models/package/index.ts';
import { downloadModelVersion, resolveModelDir, resolveModelVersion } from '../../models/registry/artifacts.ts';
import { isModelUri, parseModelUri } from '../../models/registry/uri.ts';
import { WindowModel } from '../../models/window/model.ts';
import { ENTITY_WINDOW_DETECTOR, EntityWindowDetector, type LoadedWindowModel } from './detector.ts';

const CONFIG_KEY = 'detectors.entityWindow.model';

export interface RunningEntityWindow {
  detector: EntityWindowDetector;
  stop(): void;
}

async function load(spec: string, client: MlflowClient): Promise<LoadedWindowModel> {
  const { dir, version } = await resolveModelDir(spec, () => client);
  const model = await WindowModel.load(dir);
  if (version) return { model, name: version.name, version: version.version };
  const manifest = await readManifest(dir);
  return { model, name: manifest.name ?? path.basename(path.resolve(dir)), version: manifest.createdAt };
}

/** The detector, or undefined when no model is configured. A model that cannot be loaded stops start-up. */
export async function startEntityWindowDetector(config: Config, metrics: MetricsRegistry, log: Logger): Promise<RunningEntityWindow | undefined> {
  const settings = config.detectors.entityWindow;
  const spec = settings.model;
  if (spec === '') return undefined;
  const client = new MlflowClient({ url: config.mlflow.url });
  let loaded: LoadedWindowModel;
  try {
    loaded = await load(spec, client);
  } catch (e) {
    // MLflow away is an outage worth naming as such; anything else is the configuration's fault.
    if (isRetryable(e)) throw e;
    throw new ConfigError(`${CONFIG_KEY}: ${errorMessage(e)}`, CONFIG_KEY);
  }
  const info = new Gauge({
    name: 'peregrine_detector_model_info',
    help: 'The model each model-based detector scores with (value 1)',
    labelNames: ['detector', 'model', 'version'],
    registers: [metrics.registry],
  });
  const show = (m: LoadedWindowModel) => {
    info.reset();
    info.set({ detector: ENTITY_WINDOW_DETECTOR, model: m.name, version: m.version }, 1);
  };
  show(loaded);
  const detector = new EntityWindowDetector(loaded, { alertScore: settings.alertScore, minRequests: settings.minRequests });
  log.info({ model: loaded.name, version: loaded.version, alertScore: settings.alertScore ?? loaded.model.alertScore }, 'entity-window detector scoring');

  let timer: NodeJS.Timeout | undefined;
  if (isModelUri(spec) && 'alias' in parseModelUri(spec)) {
    let checking = false;
    timer = setInterval(() => {
      if (checking) return;
      checking = true;
      void (async () => {
        const version = await resolveModelVersion(client, spec);
        if (version.version === detector.model.version) return;
        const next: LoadedWindowModel = { model: await WindowModel.load(await downloadModelVersion(client, version)), name: version.name, version: version.version };
        const previous = detector.model;
        detector.useModel(next);
        show(next);
        previous.model.dispose();
        log.info({ model: next.name, from: previous.version, to: next.version }, 'entity-window detector switched to the new champion');
      })()
        .catch((e: unknown) => log.warn({ err: errorMessage(e), model: spec }, 'could not check for a new entity-window model; keeping the current one'))
        .finally(() => { checking = false; });
    }, settings.reloadIntervalMs);
    timer.unref();
  }
  return {
    detector,
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}
