/**
 * T1595 Active Scanning: one client asking for many distinct paths that do not exist (a wordlist: T1595.003), or
 * sweeping far more distinct routes than it ever did (a route sweep).
 *
 * What a scan looks like and a crawler or health check does not: a crawler's requests mostly succeed and its misses
 * are few (robots.txt, a favicon); a health check repeats one route. So the missing-path rule needs both many
 * distinct missing paths and a high share of 404 answers; the route sweep needs the features stage's first-seen
 * history to be warm and the client to go far above its own usual number of new routes.
 */
import { z } from 'zod';
import type { FeatureVector } from '../../schemas/feature-vector.ts';
import { baselineLearningConfig, farAboveConfig, floorsOnly, forWindow } from '../baseline.ts';
import type { WindowDetectorFactory } from '../detector.ts';
import { closeEntity, judge, openEntity, type EntityState } from '../entity-state.ts';
import type { Finding } from '../../findings/finding.ts';
import { TACTICS, TECHNIQUES } from '../../findings/threat.ts';
import { count, examplesOf, historyAgeSeconds, windowSeconds } from '../vector.ts';
import { DEFAULT_LEARNING, entityKindsConfig, gatedDetector } from '../window-detector.ts';
import { formatNumber, windowFinding, type FeatureEvidence } from '../window-finding.ts';

export const SCANNING_DETECTOR = 'scanning';

export const ScanningConfig = z.strictObject({
  ...entityKindsConfig(['client'], ['client']),
  /** Distinct paths answered 404 per window; floors per 10 s. */
  missingRoutes: farAboveConfig({ ratio: 3, z: 6, minDelta: 5, minimum: 10 }),
  /** Share of the window's requests answered 404 the missing-path rule also needs. */
  minNotFoundRatio: z.number().min(0).max(1).default(0.3),
  /** Routes new to this client per window (a route sweep); floors per 10 s. */
  newRoutes: farAboveConfig({ ratio: 4, z: 6, minDelta: 10, minimum: 25 }),
  /** Event-time seconds the first-seen history must have learnt before new routes mean anything. */
  minHistoryAgeS: z.number().min(0).default(300),
  baseline: baselineLearningConfig(DEFAULT_LEARNING),
});
export type ScanningConfig = z.infer<typeof ScanningConfig>;

const BASE_RISK = 0.35;

export const scanning: WindowDetectorFactory<ScanningConfig> = {
  id: SCANNING_DETECTOR,
  input: 'window',
  config: ScanningConfig,
  create(config, settings) {
    const store = settings.store<EntityState>('clients');
    return gatedDetector(config, (v: FeatureVector): Finding | undefined => {
      const seconds = windowSeconds(v);
      const missing = count(v, 'distinct_missing_routes');
      const notFoundRatio = count(v, 'not_found_ratio');
      const newRoutes = count(v, 'new_route_count');
      const opened = openEntity(store, v, () => ({}));
      const evidence: FeatureEvidence[] = [];
      const missingRule = forWindow(config.missingRoutes, seconds);
      if (notFoundRatio >= config.minNotFoundRatio) {
        const e = judge(opened.state, 'missing', missing, missingRule, config.baseline, floorsOnly(missingRule));
        if (e) evidence.push({ ...e, feature: 'distinct_missing_routes' });
      }
      if ((historyAgeSeconds(v) ?? 0) >= config.minHistoryAgeS) {
        // A client never seen before has only new routes: its sweep is judged on the floors alone.
        const newRule = forWindow(config.newRoutes, seconds);
        const e = judge(opened.state, 'newRoutes', newRoutes, newRule, config.baseline, floorsOnly(newRule));
        if (e) evidence.push({ ...e, feature: 'new_route_count' });
      }
      if (!evidence.some((e) => e.evidence >= 1)) {
        closeEntity(store, v, opened, config.baseline, { missing, newRoutes });
        return undefined;
      }
      closeEntity(store, v, opened, config.baseline);
      const wordlist = evidence.some((e) => e.feature === 'distinct_missing_routes' && e.evidence >= 1);
      const named = [...examplesOf(v, 'missing_routes'), ...examplesOf(v, 'new_routes')].slice(0, 5);
      return windowFinding(v, {
        detector: SCANNING_DETECTOR,
        ruleName: wordlist ? 'Many missing paths from one client' : 'Route sweep from one client',
        ruleDescription: 'One client asked for far more distinct missing paths or new routes than usual: active scanning',
        kind: 'intrusion',
        threat: { tactic: TACTICS.reconnaissance, technique: TECHNIQUES.activeScanning, ...(wordlist ? { subtechnique: TECHNIQUES.wordlistScanning } : {}) },
        base: BASE_RISK,
        evidence,
        message: `${v.entityId}: ${formatNumber(missing)} distinct missing paths (${formatNumber(notFoundRatio * 100)}% of ${formatNumber(count(v, 'request_count'))} requests answered 404)`
          + (newRoutes > 0 ? `, ${formatNumber(newRoutes)} routes new to it` : '')
          + ` in ${formatNumber(seconds)} s` + (named.length > 0 ? `; e.g. ${named.join(', ')}` : ''),
      });
    });
  },
};
