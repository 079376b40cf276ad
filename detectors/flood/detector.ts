/**
 * T1499 Endpoint Denial of Service (T1499.002 Service Exhaustion Flood): a request rate far above the entity's own
 * baseline, for a service (many sources) or one client.
 *
 * A service is judged only against its warm baseline (its daily curve is learnt, a launch-day peak of 2–3× is not a
 * flood: the ratio is 5× by default and the rise must also be far outside the service's own noise). A client never
 * seen before has no baseline; it is judged on an absolute floor (`newClientMinRequests`, 100 requests/s by default),
 * which no human and few legitimate machines reach.
 */
import { z } from 'zod';
import type { FeatureVector } from '../../schemas/feature-vector.ts';
import { baselineLearningConfig, farAboveConfig, forWindow } from '../baseline.ts';
import type { WindowDetectorFactory } from '../detector.ts';
import { judgeAndLearn, type EntityState } from '../entity-state.ts';
import type { Finding } from '../../findings/finding.ts';
import { TACTICS, TECHNIQUES } from '../../findings/threat.ts';
import { count, windowSeconds } from '../vector.ts';
import { DEFAULT_LEARNING, entityKindsConfig, gatedDetector } from '../window-detector.ts';
import { formatNumber, windowFinding } from '../window-finding.ts';

export const FLOOD_DETECTOR = 'flood';

export const FloodConfig = z.strictObject({
  ...entityKindsConfig(['service', 'operation', 'client'], ['service', 'client']),
  /** Requests per window against the entity's baseline; floors per 10 s. */
  requests: farAboveConfig({ ratio: 5, z: 8, minDelta: 200, minimum: 0 }),
  /** Requests per 10 s a client without a baseline must reach. */
  newClientMinRequests: z.number().int().min(1).default(1000),
  baseline: baselineLearningConfig(DEFAULT_LEARNING),
});
export type FloodConfig = z.infer<typeof FloodConfig>;

const BASE_RISK = 0.5;

export const flood: WindowDetectorFactory<FloodConfig> = {
  id: FLOOD_DETECTOR,
  input: 'window',
  config: FloodConfig,
  create(config, settings) {
    const store = settings.store<EntityState>('entities');
    return gatedDetector(config, (v: FeatureVector): Finding | undefined => {
      const seconds = windowSeconds(v);
      const requests = count(v, 'request_count');
      const rule = forWindow(config.requests, seconds);
      const cold = v.entityType === 'client' ? { ratio: 1, z: 0, minDelta: 0, minimum: (config.newClientMinRequests * seconds) / 10 } : undefined;
      const e = judgeAndLearn(store, v, { name: 'requests', value: requests, rule, cold }, config.baseline);
      if (!e) return undefined;
      const rate = requests / seconds;
      return windowFinding(v, {
        detector: FLOOD_DETECTOR,
        ruleName: 'Request flood',
        ruleDescription: 'Request rate far above this entity\'s baseline: endpoint denial of service',
        kind: 'intrusion',
        threat: { tactic: TACTICS.impact, technique: TECHNIQUES.endpointDenialOfService, subtechnique: TECHNIQUES.serviceExhaustionFlood },
        base: BASE_RISK,
        evidence: [{ ...e, feature: 'request_count' }],
        message: `${v.entityId}: ${formatNumber(rate)} requests/s (typically ${formatNumber(e.typical / seconds)})`
          + (count(v, 'error_ratio') > 0 ? `, ${formatNumber(count(v, 'error_ratio') * 100)}% failing` : ''),
        preferExemplars: ['error', 'slowest'],
      });
    });
  },
};
