/** What the window detectors' factories share: the common config keys and the entity-kind gate. */
import { z } from 'zod';
import type { FeatureVector } from '../schemas/feature-vector.ts';
import type { BaselineLearning } from './baseline.ts';
import type { WindowDetector } from './detector.ts';
import type { Finding } from '../findings/finding.ts';
import { entityKind } from './vector.ts';

/** Baselines learn over 10 windows, then with a time constant of 20 windows, values clipped at 4 spreads. */
export const DEFAULT_LEARNING: BaselineLearning = { warmupWindows: 10, alpha: 0.05, clip: 4 };

/** `enabled` (default true) and `entityKinds` (which entities the detector judges) with the detector's defaults. */
export function entityKindsConfig<K extends string>(allowed: readonly [K, ...K[]], defaults: K[]) {
  return {
    enabled: z.boolean().default(true),
    entityKinds: z.array(z.enum(allowed)).min(1).default(defaults),
  };
}

/** A detector that judges only enabled entity kinds. */
export function gatedDetector(config: { enabled: boolean; entityKinds: readonly string[] }, score: (v: FeatureVector) => Finding | undefined): WindowDetector {
  const kinds = new Set<string>(config.entityKinds);
  return { score: (v) => (config.enabled && kinds.has(entityKind(v)) ? score(v) : undefined) };
}
