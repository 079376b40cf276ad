/**
 * What the demo and the eval need from the pipeline wiring. `app/` passes its `startPipeline` in: the demo sits below
 * the wiring and never imports it.
 */
import type { Config } from '../core/config.ts';
import type { Logger } from '../core/log.ts';
import type { Finding } from '../findings/finding.ts';
import type { FeatureVector } from '../schemas/feature-vector.ts';

export interface PipelineHooks {
  onEmit?(vectors: FeatureVector[]): void;
  onFinding?(finding: Finding, doc: Record<string, unknown>): void;
}

export interface RunningPipeline {
  /** The stages started; the ingest stage reports the port its OTLP/HTTP receiver bound. */
  stages: ReadonlyArray<{ name: string; httpPort?: number }>;
  stop(): Promise<void>;
}

export type StartPipeline = (config: Config, log: Logger, options: { stages?: string[]; hooks?: PipelineHooks }) => Promise<RunningPipeline>;

/** The port of the started ingest stage's OTLP/HTTP receiver. */
export function receiverPort(pipeline: RunningPipeline): number {
  const port = pipeline.stages.find((s) => s.httpPort !== undefined)?.httpPort;
  if (port === undefined) throw new Error('the pipeline was started without its ingest stage (no OTLP/HTTP receiver)');
  return port;
}
