/**
 * A stage is a component: a folder named after its id (the config key under which users configure it), a factory
 * with its config schema and defaults, and `create` returning the running stage. The application's component list
 * (`app/components.ts`) names every stage once; `peregrine run <id>...` starts them.
 */
import type { z } from 'zod';
import type { Clock } from './clock.ts';
import type { PlatformConfig } from './config.ts';
import type { KafkaAdapter } from './kafka/adapter.ts';
import type { Logger } from './log.ts';
import type { MetricsRegistry } from './metrics.ts';

/** What every stage gets from the runtime: dependencies are passed in, never looked up. */
export interface StageSettings<C> {
  /** The stage's own section of the configuration. */
  config: C;
  /** The sections every process shares (Kafka, Elasticsearch, topics, Jaeger, MLflow, metrics). */
  platform: PlatformConfig;
  kafka: KafkaAdapter;
  metrics: MetricsRegistry;
  log: Logger;
  clock: Clock;
  /** Aborted when the process stops: retries give up, loops end. */
  signal: AbortSignal;
}

export interface RunningStage {
  name: string;
  /** Reported on /healthz. */
  healthy(): boolean;
  /** Stops consuming; committed offsets let the next run continue where this one stopped. */
  stop(): Promise<void>;
}

export interface StageFactory<C = unknown, H = unknown, S extends RunningStage = RunningStage, Id extends string = string> {
  /** lower_snake: the folder, the config key and the name `peregrine run` takes. */
  readonly id: Id;
  /** Strict, every key defaulted. */
  readonly config: z.ZodType<C>;
  /** Names `peregrine run` still accepts for one release, with a deprecation warning. */
  readonly deprecatedIds?: readonly string[];
  /** `peregrine run` without stage names starts it. */
  readonly runByDefault: boolean;
  /** `hooks` are the stage's own callbacks for tests and the demo (what was emitted, what was found). */
  create(settings: StageSettings<C>, hooks?: H): Promise<S>;
}
