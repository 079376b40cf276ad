/**
 * The one place where real clients are built and stages wired. Kafka is checked before any stage starts, so an
 * unreachable broker stops start-up with a message naming it; each stage checks its own peers (Elasticsearch) before
 * it opens anything.
 */
import { systemClock, type Clock } from '../core/clock.ts';
import { ConfigError } from '../core/errors.ts';
import { createKafkaAdapter } from '../core/kafka/kafkajs.ts';
import type { Logger } from '../core/log.ts';
import { MetricsRegistry } from '../core/metrics.ts';
import type { RunningStage, StageFactory } from '../core/stage.ts';
import type { DetectorsHooks } from '../detectors/stage.ts';
import type { FeaturesHooks } from '../features/stage.ts';
import type { FindingsHooks } from '../findings/stage.ts';
import { STAGES } from './components.ts';
import type { AppConfig } from './config.ts';

export const STAGE_IDS = STAGES.map((s) => s.id);
/** What `peregrine run` starts without stage names. */
export const DEFAULT_STAGES = STAGES.filter((s) => s.runByDefault).map((s) => s.id);

/** Every stage's callbacks (tests and the demo watch what the pipeline emits, finds and indexes). */
export type PipelineHooks = FeaturesHooks & DetectorsHooks & FindingsHooks;

export interface Pipeline {
  stages: RunningStage[];
  metricsPort: number;
  stop(): Promise<void>;
}

/** The stage factory a name means, following deprecated names (with a warning). */
export function resolveStages(names: readonly string[], log: Logger): Array<(typeof STAGES)[number]> {
  return names.map((name) => {
    const stage = STAGES.find((s) => s.id === name) ?? STAGES.find((s) => (s as StageFactory).deprecatedIds?.includes(name));
    if (!stage) throw new ConfigError(`unknown stage ${name} (stages: ${STAGE_IDS.join(', ')})`, 'stages');
    if (stage.id !== name) log.warn({ stage: name, use: stage.id }, `stage name ${name} is deprecated and will be removed in the next release: use ${stage.id}`);
    return stage;
  });
}

export async function startPipeline(config: AppConfig, log: Logger, options: { stages?: string[]; clock?: Clock; hooks?: PipelineHooks } = {}): Promise<Pipeline> {
  const selected = resolveStages(options.stages?.length ? options.stages : DEFAULT_STAGES, log);
  // In the component list's order, whatever order they were named in.
  const factories = STAGES.filter((s) => selected.includes(s));
  const metrics = new MetricsRegistry();
  const controller = new AbortController();
  const kafka = createKafkaAdapter(config.kafka, log);
  await kafka.checkReachable();
  const served = await metrics.serve(config.metrics);
  const scheme = config.metrics.tls ? 'https' : 'http';
  log.info({ url: `${scheme}://${config.metrics.host}:${served.port}/metrics`, auth: Boolean(config.metrics.authToken) }, 'metrics and /healthz served');
  const stages: RunningStage[] = [];
  const stop = async () => {
    controller.abort();
    for (const s of [...stages].reverse()) await s.stop().catch((e) => log.error({ err: (e as Error).message, stage: s.name }, 'stop failed'));
    await kafka.close();
    await new Promise((resolve) => served.server.close(resolve));
  };
  try {
    for (const factory of factories) {
      const stage = await (factory as StageFactory<unknown, PipelineHooks>).create({
        config: config[factory.id], platform: config, kafka, metrics, log, clock: options.clock ?? systemClock, signal: controller.signal,
      }, options.hooks);
      stages.push(stage);
      metrics.addHealthCheck(stage.name, () => stage.healthy());
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { stages, metricsPort: served.port, stop };
}
