/**
 * Latency fault: an operation's p95 latency far above its own baseline. An availability finding (ECS: a fault, no
 * ATT&CK technique), for the on-call engineer as much as the SOC; with a flood or an exfiltration on the same
 * window it is the impact that corroborates them (see detectors/triage).
 */
import { z } from 'zod';
import type { FeatureVector } from '../../schemas/feature-vector.ts';
import { baselineLearningConfig, farAboveConfig } from '../baseline.ts';
import type { WindowDetectorFactory } from '../detector.ts';
import { judgeAndLearn, type EntityState } from '../entity-state.ts';
import type { Finding } from '../../findings/finding.ts';
import { count, measured } from '../vector.ts';
import { DEFAULT_LEARNING, entityKindsConfig, gatedDetector } from '../window-detector.ts';
import { formatNumber, windowFinding } from '../window-finding.ts';

export const LATENCY_DETECTOR = 'latency';

export const LatencyConfig = z.strictObject({
  ...entityKindsConfig(['operation', 'service', 'edge'], ['operation']),
  /** p95 latency (ms) against the entity's baseline; not scaled by the window. */
  p95: farAboveConfig({ ratio: 3, z: 8, minDelta: 150, minimum: 0 }),
  /** Windows with fewer requests are neither judged nor learnt (a p95 of two requests is noise). */
  minRequests: z.number().int().min(1).default(5),
  baseline: baselineLearningConfig(DEFAULT_LEARNING),
});
export type LatencyConfig = z.infer<typeof LatencyConfig>;

const BASE_RISK = 0.4;

export const latency: WindowDetectorFactory<LatencyConfig> = {
  id: LATENCY_DETECTOR,
  input: 'window',
  config: LatencyConfig,
  create(config, settings) {
    const store = settings.store<EntityState>('entities');
    return gatedDetector(config, (v: FeatureVector): Finding | undefined => {
      const p95 = measured(v, 'latency_p95_ms');
      if (p95 === undefined || count(v, 'request_count') < config.minRequests) return undefined;
      const e = judgeAndLearn(store, v, { name: 'p95', value: p95, rule: config.p95 }, config.baseline);
      if (!e) return undefined;
      return windowFinding(v, {
        detector: LATENCY_DETECTOR,
        ruleName: 'Latency far above baseline',
        ruleDescription: 'The p95 latency of an operation rose far above its baseline',
        kind: 'fault',
        base: BASE_RISK,
        evidence: [{ ...e, feature: 'latency_p95_ms' }],
        message: `${v.service} ${v.operation ?? v.entityId}: p95 ${formatNumber(p95)} ms over ${formatNumber(count(v, 'request_count'))} requests (typically ${formatNumber(e.typical)} ms)`,
        preferExemplars: ['slowest'],
      });
    });
  },
};
