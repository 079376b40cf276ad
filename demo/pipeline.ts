/**
 * What the demo and the eval need from the pipeline wiring. `app/` passes its `startPipeline` in: the demo sits below
 * the wiring and never imports it.
 */
import type { PlatformConfig } from '../core/config.ts';
import type { Logger } from '../core/log.ts';
import type { FeaturesConfig } from '../features/config.ts';
import type { EncodedFinding } from '../findings/sinks/findings.ts';
import type { ReceiverConfig } from '../ingest/receiver/config.ts';
import type { FeatureVector } from '../schemas/feature-vector.ts';

/** What the demo and the eval read of the application's configuration (app/config.ts has all of it). */
export type DemoConfig = PlatformConfig & { receiver: ReceiverConfig; features: FeaturesConfig; detectors: Record<string, unknown> };

export interface PipelineHooks {
  onEmit?(vectors: FeatureVector[]): void;
  /** Every finding the alert feed acknowledged, as encoded (its ECS document). */
  onFinding?(finding: EncodedFinding): void;
}

export interface RunningPipeline {
  /** The stages started; the ingest stage reports the port its OTLP/HTTP receiver bound. */
  stages: ReadonlyArray<{ name: string; httpPort?: number }>;
  /** Where the stages' Prometheus metrics are served. */
  metricsPort?: number;
  stop(): Promise<void>;
}

export type StartPipeline = (config: DemoConfig, log: Logger, options: { stages?: string[]; hooks?: PipelineHooks }) => Promise<RunningPipeline>;

/** The port of the started ingest stage's OTLP/HTTP receiver. */
export function receiverPort(pipeline: RunningPipeline): number {
  const port = pipeline.stages.find((s) => s.httpPort !== undefined)?.httpPort;
  if (port === undefined) throw new Error('the pipeline was started without its ingest stage (no OTLP/HTTP receiver)');
  return port;
}

/**
 * What the stages dropped so far, by stage and reason (`peregrine_records_dropped_total` from their /metrics): late and
 * already-emitted events show whether the watermark kept up with a run.
 */
export async function pipelineDrops(pipeline: RunningPipeline, authToken?: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const { labels, value } of await pipelineMetric(pipeline, 'peregrine_records_dropped_total', authToken)) out[`${labels.stage}/${labels.reason}`] = value;
  return out;
}

/** Records the stages have not read yet (`peregrine_consumer_lag_records`: partition end minus the next record to handle). */
export async function pipelineLag(pipeline: RunningPipeline, authToken?: string): Promise<number> {
  return (await pipelineMetric(pipeline, 'peregrine_consumer_lag_records', authToken)).reduce((n, s) => n + Math.max(0, s.value), 0);
}

async function pipelineMetric(pipeline: RunningPipeline, name: string, authToken?: string): Promise<Array<{ labels: Record<string, string>; value: number }>> {
  if (pipeline.metricsPort === undefined) return [];
  const response = await fetch(`http://127.0.0.1:${pipeline.metricsPort}/metrics`, { headers: authToken ? { authorization: `Bearer ${authToken}` } : {} }).catch(() => undefined);
  if (!response?.ok) return [];
  const out: Array<{ labels: Record<string, string>; value: number }> = [];
  for (const m of (await response.text()).matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm'))) {
    out.push({ labels: Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!])), value: Number(m[2]) });
  }
  return out;
}
