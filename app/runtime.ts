import { systemClock, type Clock } from '../core/clock.ts';
import type { Config } from '../core/config.ts';
import { checkElasticsearch, createElasticsearchClient } from '../core/elasticsearch/client.ts';
import { ConfigError } from '../core/errors.ts';
import { createKafkaAdapter } from '../core/kafka/kafkajs.ts';
import type { Logger } from '../core/log.ts';
import { MetricsRegistry } from '../core/metrics.ts';
import type { RunningStage, StageContext } from '../core/stage.ts';
import { startFeaturesStage, FEATURES_STAGE, type FeaturesStageOptions } from '../features/stage.ts';
import { startDetectorsStage, DETECTORS_STAGE, type DetectorsStageOptions } from '../detectors/stage.ts';
import { decodeSpansRecord } from '../ingest/otlp/record.ts';
import { startIngestStage, INGEST_STAGE } from '../ingest/receiver/stage.ts';

export const STAGES = [INGEST_STAGE, FEATURES_STAGE, DETECTORS_STAGE] as const;
/** What `peregrine run` starts without stage names. `ingest` binds 4317/4318, which the stack's collector holds by default. */
export const DEFAULT_STAGES: readonly StageName[] = [FEATURES_STAGE, DETECTORS_STAGE];
export type StageName = (typeof STAGES)[number];

export interface PipelineHooks {
  onEmit?: FeaturesStageOptions['onEmit'];
  onFinding?: DetectorsStageOptions['onFinding'];
}

export interface Pipeline {
  stages: RunningStage[];
  metricsPort: number;
  stop(): Promise<void>;
}

/**
 * The one place where real clients are built and stages wired. Peers are checked before any stage starts, so an
 * unreachable broker or cluster stops start-up with a message naming it.
 */
export async function startPipeline(config: Config, log: Logger, options: { stages?: string[]; clock?: Clock; hooks?: PipelineHooks } = {}): Promise<Pipeline> {
  const names = options.stages?.length ? options.stages : [...DEFAULT_STAGES];
  const unknown = names.filter((n) => !(STAGES as readonly string[]).includes(n));
  if (unknown.length) throw new ConfigError(`unknown stage ${unknown.join(', ')} (stages: ${STAGES.join(', ')})`, 'stages');
  const metrics = new MetricsRegistry();
  const controller = new AbortController();
  const kafka = createKafkaAdapter(config.kafka, log);
  await kafka.checkReachable();
  const elasticsearch = names.includes(DETECTORS_STAGE) ? createElasticsearchClient(config.elasticsearch) : undefined;
  if (elasticsearch) await checkElasticsearch(elasticsearch, config.elasticsearch.url);
  const ctx: StageContext = { config, kafka, metrics, log, clock: options.clock ?? systemClock, signal: controller.signal };
  const served = await metrics.serve(config.metrics);
  const scheme = config.metrics.tls ? 'https' : 'http';
  log.info({ url: `${scheme}://${config.metrics.host}:${served.port}/metrics`, auth: Boolean(config.metrics.authToken) }, 'metrics and /healthz served');
  const stages: RunningStage[] = [];
  const stop = async () => {
    controller.abort();
    for (const s of stages.reverse()) await s.stop().catch((e) => log.error({ err: (e as Error).message, stage: s.name }, 'stop failed'));
    await kafka.close();
    await elasticsearch?.close();
    await new Promise((resolve) => served.server.close(resolve));
  };
  try {
    if (names.includes(INGEST_STAGE)) stages.push(await startIngestStage(ctx));
    if (names.includes(FEATURES_STAGE)) stages.push(await startFeaturesStage(ctx, { decode: decodeSpansRecord, onEmit: options.hooks?.onEmit }));
    if (elasticsearch) stages.push(await startDetectorsStage(ctx, { elasticsearch, onFinding: options.hooks?.onFinding }));
  } catch (e) {
    await stop();
    throw e;
  }
  return { stages, metricsPort: served.port, stop };
}
