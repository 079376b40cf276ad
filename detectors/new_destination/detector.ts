/**
 * T1048 Exfiltration Over Alternative Protocol: a workload (pod, host or process) sends a real amount of data out
 * while talking to a destination it never used before (the sensor's connection records).
 *
 * A new destination alone is everyday life (a new API, a package mirror); a new destination in a window where the
 * workload also sends far more than it usually does is what data leaving looks like. "New" means something only
 * once the features stage's first-seen history is warm (`history_age_s`).
 */
import { z } from 'zod';
import type { FeatureVector } from '../../schemas/feature-vector.ts';
import { baselineLearningConfig, farAboveConfig, floorsOnly, forWindow } from '../baseline.ts';
import type { WindowDetectorFactory } from '../detector.ts';
import { judgeAndLearn, type EntityState } from '../entity-state.ts';
import type { Finding } from '../../findings/finding.ts';
import { TACTICS, TECHNIQUES } from '../../findings/threat.ts';
import { isInternalEndpoint } from '../context.ts';
import { count, examplesOf, historyAgeSeconds, windowSeconds } from '../vector.ts';
import { DEFAULT_LEARNING, entityKindsConfig, gatedDetector } from '../window-detector.ts';
import { formatBytes, formatNumber, windowFinding } from '../window-finding.ts';

export const NEW_DESTINATION_DETECTOR = 'new_destination';

export const NewDestinationConfig = z.strictObject({
  ...entityKindsConfig(['pod', 'host', 'process'], ['pod', 'host', 'process']),
  /**
   * Outbound bytes per window in a window with a new destination; floors per 10 s. What goes to the new destination
   * adds to the usual traffic, so the rule is additive (ratio 1): the usual bytes plus 256 KB and 4 spreads.
   */
  bytesOut: farAboveConfig({ ratio: 1, z: 4, minDelta: 256 * 1024, minimum: 256 * 1024 }),
  /** Event-time seconds the first-seen history must have learnt before a destination counts as new. */
  minHistoryAgeS: z.number().min(0).default(300),
  baseline: baselineLearningConfig(DEFAULT_LEARNING),
});
export type NewDestinationConfig = z.infer<typeof NewDestinationConfig>;

const BASE_RISK = 0.55;

export const newDestination: WindowDetectorFactory<NewDestinationConfig> = {
  id: NEW_DESTINATION_DETECTOR,
  input: 'window',
  config: NewDestinationConfig,
  create(config, settings) {
    const store = settings.store<EntityState>('workloads');
    return gatedDetector(config, (v: FeatureVector): Finding | undefined => {
      const bytesOut = count(v, 'bytes_out');
      const newDestinations = count(v, 'new_destination_count');
      const warmHistory = (historyAgeSeconds(v) ?? 0) >= config.minHistoryAgeS;
      const named = examplesOf(v, 'new_destinations');
      // Exfiltration leaves the deployment: new destinations that are all internal (a pool connecting to another
      // replica) are lateral_movement's business. Judged when the examples name every new destination.
      const allInternal = named.length >= newDestinations && named.every(isInternalEndpoint);
      const rule = forWindow(config.bytesOut, windowSeconds(v));
      // A workload without a byte baseline yet is judged on the floor alone: it is the destination that is new.
      const e = judgeAndLearn(store, v, { name: 'bytesOut', value: bytesOut, rule, cold: floorsOnly(rule), judged: warmHistory && newDestinations > 0 && !allInternal }, config.baseline);
      if (!e) return undefined;
      return windowFinding(v, {
        detector: NEW_DESTINATION_DETECTOR,
        ruleName: 'Data sent to a destination never used before',
        ruleDescription: 'A workload sent far more data than usual in a window where it talked to a destination absent from its history',
        kind: 'intrusion',
        threat: { tactic: TACTICS.exfiltration, technique: TECHNIQUES.exfiltrationOverAlternativeProtocol },
        base: BASE_RISK,
        evidence: [{ ...e, feature: 'bytes_out' }, { feature: 'new_destination_count', actual: newDestinations, typical: 0, evidence: 1 }],
        message: `${v.entityId} sent ${formatBytes(bytesOut)} in ${formatNumber(windowSeconds(v))} s (typically ${formatBytes(e.typical)}) `
          + `with ${formatNumber(newDestinations)} new destination${newDestinations === 1 ? '' : 's'}` + (named.length > 0 ? `: ${named.join(', ')}` : ''),
      });
    });
  },
};
