import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import type { KafkaAdapter } from './kafka/adapter.ts';
import type { Logger } from './log.ts';
import type { MetricsRegistry } from './metrics.ts';

/** What every stage gets from the runtime: dependencies are passed in, never looked up. */
export interface StageContext {
  config: Config;
  kafka: KafkaAdapter;
  metrics: MetricsRegistry;
  log: Logger;
  clock: Clock;
  signal: AbortSignal;
}

export interface RunningStage {
  name: string;
  /** Stops consuming; committed offsets let the next run continue where this one stopped. */
  stop(): Promise<void>;
}
