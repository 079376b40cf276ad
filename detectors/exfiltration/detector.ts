/**
 * T1041 Exfiltration Over C2 Channel: response bytes to a client far above what this client usually receives, or
 * a route answering far more bytes in one response than it ever does (a dump through an API, an injected query
 * returning a whole table).
 *
 * Two entities, two baselines: a client is judged on its bytes received per window against its own history, or,
 * while it has none (a scraper from a fresh address), against what clients receive in a window altogether (one
 * baseline over every client's windows); an operation is judged on its largest response against its usual p95
 * response size (so whoever asks, a response the route never gives stands out). The rule is the same for both
 * client baselines: 10× and 5 MB above the typical, so a crawler's busy minute is not a finding.
 */
import { z } from 'zod';
import type { FeatureVector } from '../../schemas/feature-vector.ts';
import { baselineLearningConfig, farAboveConfig, forWindow } from '../baseline.ts';
import type { WindowDetectorFactory } from '../detector.ts';
import { closeEntity, judge, openEntity, type EntityState } from '../entity-state.ts';
import type { Finding } from '../../findings/finding.ts';
import { TACTICS, TECHNIQUES } from '../../findings/threat.ts';
import { count, measured, windowSeconds } from '../vector.ts';
import { DEFAULT_LEARNING, entityKindsConfig, gatedDetector } from '../window-detector.ts';
import { formatBytes, formatNumber, windowFinding, type FeatureEvidence } from '../window-finding.ts';

export const EXFILTRATION_DETECTOR = 'exfiltration';

export const ExfiltrationConfig = z.strictObject({
  ...entityKindsConfig(['client', 'operation'], ['client', 'operation']),
  /** A client's response bytes per window against its own baseline; floors per 10 s. */
  clientBytes: farAboveConfig({ ratio: 10, z: 8, minDelta: 5 * 1024 * 1024, minimum: 0 }),
  /** An operation's largest response against its usual p95 response size (bytes; not scaled by the window). */
  routeResponse: farAboveConfig({ ratio: 10, z: 8, minDelta: 512 * 1024, minimum: 0 }),
  /** Windows with fewer requests do not teach an operation's baseline (one odd request is not a route's habit). */
  minRequests: z.number().int().min(1).default(3),
  baseline: baselineLearningConfig(DEFAULT_LEARNING),
});
export type ExfiltrationConfig = z.infer<typeof ExfiltrationConfig>;

const BASE_RISK = 0.5;
const ALL_CLIENTS = 'client:*';

export const exfiltration: WindowDetectorFactory<ExfiltrationConfig> = {
  id: EXFILTRATION_DETECTOR,
  input: 'window',
  config: ExfiltrationConfig,
  create(config, settings) {
    const store = settings.store<EntityState>('entities');
    /** Every client's windows together: the baseline of a client that has none of its own yet. */
    const population = settings.store<EntityState>('clients');
    function client(v: FeatureVector): FeatureEvidence | undefined {
      const bytes = count(v, 'response_bytes_sum');
      const rule = forWindow(config.clientBytes, windowSeconds(v));
      const opened = openEntity(store, v, () => ({}));
      const all = openEntity(population, { ...v, entityId: ALL_CLIENTS }, () => ({}));
      const own = judge(opened.state, 'bytes', bytes, rule, config.baseline);
      const e = own ?? judge(all.state, 'bytes', bytes, rule, config.baseline);
      const fired = e !== undefined && e.evidence >= 1;
      closeEntity(store, v, opened, config.baseline, fired ? undefined : { bytes });
      // Windows of several clients share one window end: the population learns them all (no replay guard by time).
      if (!fired && !opened.replay) closeEntity(population, { ...v, entityId: ALL_CLIENTS }, { ...all, replay: false }, config.baseline, { bytes });
      return fired ? { ...e, feature: 'response_bytes_sum' } : undefined;
    }
    function operation(v: FeatureVector): FeatureEvidence | undefined {
      const largest = measured(v, 'response_bytes_max');
      const p95 = measured(v, 'response_bytes_p95');
      if (largest === undefined || p95 === undefined) return undefined;
      // The largest response is judged against the route's usual p95; windows of a few requests do not teach it.
      const opened = openEntity(store, v, () => ({}));
      const e = judge(opened.state, 'p95', largest, config.routeResponse, config.baseline);
      const fired = e !== undefined && e.evidence >= 1;
      closeEntity(store, v, opened, config.baseline, fired || count(v, 'request_count') < config.minRequests ? undefined : { p95 });
      return fired ? { ...e, feature: 'response_bytes_max' } : undefined;
    }
    return gatedDetector(config, (v: FeatureVector): Finding | undefined => {
      const e = v.entityType === 'client' ? client(v) : operation(v);
      if (!e) return undefined;
      const isClient = v.entityType === 'client';
      return windowFinding(v, {
        detector: EXFILTRATION_DETECTOR,
        ruleName: isClient ? 'Client received far more data than usual' : 'Response far larger than the route ever gives',
        ruleDescription: 'Response bytes far above this client\'s or this route\'s baseline: data leaving through the application',
        kind: 'intrusion',
        threat: { tactic: TACTICS.exfiltration, technique: TECHNIQUES.exfiltrationOverC2 },
        base: BASE_RISK,
        evidence: [e],
        message: isClient
          ? `${v.entityId} received ${formatBytes(e.actual)} in ${formatNumber(windowSeconds(v))} s (typically ${formatBytes(e.typical)})`
          : `${v.service} ${v.operation ?? ''}: a ${formatBytes(e.actual)} response (typically at most ${formatBytes(e.typical)})`,
        preferExemplars: ['largest'],
      });
    });
  },
};
