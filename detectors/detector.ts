/**
 * The contract every detector follows. A detector is a component: a folder `detectors/<id>/` holding its factory
 * (id, config schema with defaults, `create`), its pure scoring logic and its tests; the one component list
 * (`app/components.ts`) names it once, and the user configures it under `detectors.<id>` in the YAML file.
 */
import type { z } from 'zod';
import type { Clock } from '../core/clock.ts';
import type { RequestEvent } from '../core/events.ts';
import type { Logger } from '../core/log.ts';
import type { MetricsRegistry } from '../core/metrics.ts';
import type { KeyedStore } from '../core/state/keyed-store.ts';
import type { FeatureVector } from '../schemas/feature-vector.ts';
import type { LabelledRequestRow } from '../findings/feedback/store.ts';
import type { Finding } from '../findings/finding.ts';

/** What the detectors stage provides to every detector it creates: dependencies are passed in, never looked up. */
export interface DetectorSettings {
  log: Logger;
  metrics: MetricsRegistry;
  clock: Clock;
  mlflowUrl: string;
  /** `detectors.<id>`: named in start-up errors about this detector's configuration. */
  configKey: string;
  /**
   * A per-key store that survives restarts and rebalances (baselines, learned history). `name` is unique within the
   * detector; values must be JSON-serialisable; the stage persists changes before it commits offsets, so after a crash
   * the last windows may be scored again on restored state: keep what you learn idempotent per window (remember the
   * last window end you learned from, as error_ratio does).
   */
  store<T>(name: string, options?: { maxKeys?: number }): KeyedStore<T>;
  /** Analysts' verdicts on this detector's request findings as labelled rows (retraining reads them); absent without Elasticsearch. */
  feedback?: { labelledRequests(): Promise<LabelledRequestRow[]> };
}

/** Judges closed windows of one entity (feature vectors from `peregrine.features.v1`). */
export interface WindowDetector {
  /** Pure apart from its state: no I/O, no clock (time is the window's). Undefined when nothing is wrong. */
  score(v: FeatureVector): Finding | undefined;
  /** Reported on /healthz with the stage (a model detector whose model cannot be used says so here). */
  healthy?(): boolean;
  stop?(): void;
}

/** Judges server requests (request events decoded from `otlp_spans`), a batch at a time. */
export interface RequestDetector {
  score(events: RequestEvent[]): Finding[];
  healthy?(): boolean;
  stop?(): void;
}

interface FactoryBase<C> {
  /** lower_snake; the same word is the folder name, the config key under `detectors:`, and `rule.id` (`peregrine.<id>`). */
  readonly id: string;
  /** Strict (unknown keys refused), every key defaulted: `config.parse({})` is the default configuration. */
  readonly config: z.ZodType<C>;
  /** An earlier config key for the same detector, still read for one release with a deprecation warning. */
  readonly deprecatedKey?: string;
}

export interface WindowDetectorFactory<C = unknown> extends FactoryBase<C> {
  readonly input: 'window';
  /** Undefined: the configuration turns it off (a model detector with no model named). */
  create(config: C, settings: DetectorSettings): WindowDetector | undefined | Promise<WindowDetector | undefined>;
}

export interface RequestDetectorFactory<C = unknown> extends FactoryBase<C> {
  readonly input: 'request';
  create(config: C, settings: DetectorSettings): RequestDetector | undefined | Promise<RequestDetector | undefined>;
}

export type DetectorFactory<C = unknown> = WindowDetectorFactory<C> | RequestDetectorFactory<C>;
