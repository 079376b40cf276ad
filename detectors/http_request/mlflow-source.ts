/**
 * The request detector's MLflow side: the configured model loaded and followed (a newly promoted champion takes over),
 * or — when the alias has no usable version yet and learning is on — nothing at first, a look for a champion every
 * `reloadIntervalMs` (another instance may have trained one), and training in a child process that registers into the
 * alias. I/O.
 */
import type { Clock } from '../../core/clock.ts';
import { errorMessage, PeregrineError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { MetricsRegistry } from '../../core/metrics.ts';
import { CHAMPION_ALIAS, followModel, isModelUri, loadHttpModel, parseModelUri, trainHttpInChildProcess } from '../../models/index.ts';
import type { LoadedHttpModel, ModelSource } from './live.ts';
import { HTTP_REQUEST_DETECTOR } from './live.ts';

export interface MlflowSourceOptions {
  /** `models:/NAME@ALIAS`, `models:/NAME/VERSION`, a directory, or '' (signatures only). */
  spec: string;
  learn: boolean;
  experiment: string;
  mlflowUrl: string;
  configKey: string;
  reloadIntervalMs: number;
  metrics: MetricsRegistry;
  log: Logger;
  clock: Clock;
  /** Called with every model that starts scoring after start-up. */
  onModel(model: LoadedHttpModel): void;
}

export async function mlflowModelSource(o: MlflowSourceOptions): Promise<ModelSource> {
  const ref = isModelUri(o.spec) ? parseModelUri(o.spec) : undefined;
  const alias = ref && 'alias' in ref ? ref.alias : undefined;
  const canLearn = o.learn && ref !== undefined && alias !== undefined;
  let follower: { stop(): void } | undefined;
  let stopped = false;
  // A training in progress is killed when the detector stops.
  const training = new AbortController();
  let lookTimer: NodeJS.Timeout | undefined;

  const follow = async () => {
    const followed = await followModel({
      detector: HTTP_REQUEST_DETECTOR, configKey: `${o.configKey}.model`, spec: o.spec, mlflowUrl: o.mlflowUrl, reloadIntervalMs: o.reloadIntervalMs,
      load: loadHttpModel, onChange: (next) => o.onModel(next), metrics: o.metrics, log: o.log,
    });
    follower?.stop();
    follower = followed;
    if (stopped) followed.stop();
    return followed.loaded;
  };

  let initial: LoadedHttpModel | undefined;
  if (o.spec !== '') {
    try {
      initial = await follow();
    } catch (e) {
      // Without an alias to learn into, a model that does not load stops start-up (naming the key), as before.
      if (!canLearn) throw e;
      o.log.info({ model: o.spec, reason: errorMessage(e) }, 'no usable request model yet: signatures judge requests while the detector learns from live traffic');
    }
  }

  const refresh = async () => {
    if (stopped) return;
    o.onModel(await follow());
    if (lookTimer) clearInterval(lookTimer);
    lookTimer = undefined;
  };
  if (canLearn && !initial) {
    lookTimer = setInterval(() => {
      refresh().catch(() => undefined); // still none: keep learning
    }, o.reloadIntervalMs);
    lookTimer.unref();
  }

  return {
    initial,
    canLearn,
    async train(rows, reason) {
      if (!ref || !alias) throw new PeregrineError('the request detector can only learn into a models:/NAME@ALIAS model');
      const outcome = await trainHttpInChildProcess({
        train: rows.train, evaluation: rows.evaluation, registerAs: ref.name, alias: alias ?? CHAMPION_ALIAS, experiment: o.experiment,
        mlflowUrl: o.mlflowUrl, runName: `live-${reason}-${new Date(o.clock.now()).toISOString()}`, source: `live traffic (${reason})`,
        createdAt: new Date(o.clock.now()).toISOString(),
        params: { training_reason: reason, evaluation_anomalies: rows.evaluation.filter((r) => r.label === 'anomalous').length },
      }, { signal: training.signal });
      return { decision: outcome.decision, version: outcome.version, reason: outcome.reason };
    },
    refresh,
    stop() {
      stopped = true;
      training.abort();
      follower?.stop();
      if (lookTimer) clearInterval(lookTimer);
    },
  };
}
