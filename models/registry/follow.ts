/**
 * Loads the model a detector's configuration names (MLflow `models:/…` or a directory) and follows
 * its alias: when another version becomes the champion, the next check loads it and hands it over
 * (the old one keeps scoring until the new one is ready; a failed check keeps the current model and
 * is logged). `peregrine_detector_model_info` shows which version each detector scores with.
 */
import path from 'node:path';
import { Gauge } from 'prom-client';
import { ConfigError, errorMessage, isRetryable } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { MetricsRegistry } from '../../core/metrics.ts';
import { MlflowClient } from '../../core/mlflow.ts';
import { readManifest } from '../package/index.ts';
import { downloadModelVersion, resolveModelDir, resolveModelVersion } from './artifacts.ts';
import { isModelUri, parseModelUri } from './uri.ts';

/** A loaded model and what findings call it. */
export interface LoadedModel<M> {
  model: M;
  name: string;
  version: string;
}

export interface FollowModelOptions<M extends { dispose(): void }> {
  /** Which detector (the metric's label, the log's). */
  detector: string;
  /** The configuration key holding `spec` (named in start-up errors). */
  configKey: string;
  spec: string;
  mlflowUrl: string;
  reloadIntervalMs: number;
  load(dir: string): Promise<M>;
  /** Called with each newly promoted version once it is loaded. */
  onChange(next: LoadedModel<M>): void;
  metrics: MetricsRegistry;
  log: Logger;
}

const INFO_METRIC = 'peregrine_detector_model_info';

function infoGauge(metrics: MetricsRegistry): Gauge {
  return (metrics.registry.getSingleMetric(INFO_METRIC) as Gauge | undefined) ?? new Gauge({
    name: INFO_METRIC,
    help: 'The model each model-based detector scores with (value 1)',
    labelNames: ['detector', 'model', 'version'],
    registers: [metrics.registry],
  });
}

async function loadSpec<M>(spec: string, client: MlflowClient, load: (dir: string) => Promise<M>): Promise<LoadedModel<M>> {
  const { dir, version } = await resolveModelDir(spec, () => client);
  const model = await load(dir);
  if (version) return { model, name: version.name, version: version.version };
  const manifest = await readManifest(dir);
  return { model, name: manifest.name ?? path.basename(path.resolve(dir)), version: manifest.createdAt };
}

/** Loads the configured model (a failure stops start-up, naming the key) and follows its alias until `stop()`. */
export async function followModel<M extends { dispose(): void }>(options: FollowModelOptions<M>): Promise<{ loaded: LoadedModel<M>; stop(): void }> {
  const { spec, log } = options;
  const client = new MlflowClient({ url: options.mlflowUrl });
  let current: LoadedModel<M>;
  try {
    current = await loadSpec(spec, client, options.load);
  } catch (e) {
    // MLflow away is an outage worth naming as such; anything else is the configuration's fault.
    if (isRetryable(e)) throw e;
    throw new ConfigError(`${options.configKey}: ${errorMessage(e)}`, options.configKey);
  }
  const info = infoGauge(options.metrics);
  const labels = (m: LoadedModel<M>) => ({ detector: options.detector, model: m.name, version: m.version });
  info.set(labels(current), 1);
  log.info({ detector: options.detector, model: current.name, version: current.version }, 'detector model loaded');

  let timer: NodeJS.Timeout | undefined;
  if (isModelUri(spec) && 'alias' in parseModelUri(spec)) {
    let checking = false;
    timer = setInterval(() => {
      if (checking) return;
      checking = true;
      void (async () => {
        const version = await resolveModelVersion(client, spec);
        if (version.version === current.version) return;
        const next: LoadedModel<M> = { model: await options.load(await downloadModelVersion(client, version)), name: version.name, version: version.version };
        const previous = current;
        current = next;
        options.onChange(next);
        info.remove(labels(previous));
        info.set(labels(next), 1);
        previous.model.dispose();
        log.info({ detector: options.detector, model: next.name, from: previous.version, to: next.version }, 'detector switched to the new champion');
      })()
        .catch((e: unknown) => log.warn({ detector: options.detector, err: errorMessage(e), model: spec }, 'could not check for a new model version; keeping the current one'))
        .finally(() => { checking = false; });
    }, options.reloadIntervalMs);
    timer.unref();
  }
  return {
    loaded: current,
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}
