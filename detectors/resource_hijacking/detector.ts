/**
 * T1496 Resource Hijacking: CPU far above the entity's baseline in a pod, host or process where a binary never run
 * before started in the same window or shortly before (a miner dropped and launched).
 *
 * Busy is not hijacked: a load peak raises CPU too, so the default needs the new binary as well (`requireNewBinary`);
 * with that corroboration the CPU rise needed is moderate (1.5× and half a core above the baseline), and it fires on
 * the first window with both, so a miner is reported within one window of starting. `sustainWindows` > 1 waits for a
 * longer run instead. A process entity of a new binary (the features stage marks its first window) has no baseline
 * yet, so its CPU is judged on the floor alone (half a core).
 */
import { z } from 'zod';
import type { FeatureVector } from '../../schemas/feature-vector.ts';
import { baselineLearningConfig, farAboveConfig, forWindow, floorsOnly } from '../baseline.ts';
import type { WindowDetectorFactory } from '../detector.ts';
import { closeEntity, judge, openEntity, type EntityState } from '../entity-state.ts';
import type { Finding } from '../../findings/finding.ts';
import { TACTICS, TECHNIQUES } from '../../findings/threat.ts';
import { count, entityKind, examplesOf, historyAgeSeconds, measured, windowSeconds } from '../vector.ts';
import { DEFAULT_LEARNING, entityKindsConfig, gatedDetector } from '../window-detector.ts';
import { formatNumber, windowFinding } from '../window-finding.ts';

export const RESOURCE_HIJACKING_DETECTOR = 'resource_hijacking';

export const ResourceHijackingConfig = z.strictObject({
  ...entityKindsConfig(['pod', 'host', 'process'], ['pod', 'host', 'process']),
  /** CPU seconds per window; floors per 10 s (5 CPU-seconds per 10 s = half a core). */
  cpu: farAboveConfig({ ratio: 1.5, z: 6, minDelta: 5, minimum: 5 }),
  /** Consecutive windows CPU must stay far above the baseline (1: the first window fires). */
  sustainWindows: z.number().int().min(1).default(1),
  requireNewBinary: z.boolean().default(true),
  /** How long before the high CPU began a new binary may have started (event-time seconds). */
  newBinaryLookbackS: z.number().min(0).default(900),
  /** Event-time seconds the first-seen history must have learnt before a binary counts as new. */
  minHistoryAgeS: z.number().min(0).default(300),
  baseline: baselineLearningConfig(DEFAULT_LEARNING),
});
export type ResourceHijackingConfig = z.infer<typeof ResourceHijackingConfig>;

interface HijackState extends EntityState {
  /** End of the last window with a new binary (event time), or -Infinity. */
  newBinaryAtMs: number;
  newBinaries: string[];
  /** Consecutive windows far above the baseline, and when the run began. */
  streak: number;
  streakStartMs: number;
}

const BASE_RISK = 0.6;

export const resourceHijacking: WindowDetectorFactory<ResourceHijackingConfig> = {
  id: RESOURCE_HIJACKING_DETECTOR,
  input: 'window',
  config: ResourceHijackingConfig,
  create(config, settings) {
    const store = settings.store<HijackState>('workloads');
    return gatedDetector(config, (v: FeatureVector): Finding | undefined => {
      const cpu = measured(v, 'cpu_seconds');
      const opened = openEntity<HijackState>(store, v, () => ({ newBinaryAtMs: -Infinity, newBinaries: [], streak: 0, streakStartMs: 0 }));
      const { state, replay } = opened;
      const historyWarm = (historyAgeSeconds(v) ?? 0) >= config.minHistoryAgeS;
      if (!replay && historyWarm && count(v, 'new_binary_count') > 0) {
        state.newBinaryAtMs = v.windowEndMs;
        state.newBinaries = [...examplesOf(v, 'new_binaries')].slice(0, 5);
      }
      if (cpu === undefined) {
        closeEntity(store, v, opened, config.baseline);
        return undefined;
      }
      const rule = forWindow(config.cpu, windowSeconds(v));
      const recentNewBinary = v.windowEndMs - state.newBinaryAtMs <= config.newBinaryLookbackS * 1000 + (v.windowEndMs - v.windowStartMs) * config.sustainWindows;
      // No baseline yet: only a fresh binary's CPU can be judged, on the floor alone.
      const e = judge(state, 'cpu', cpu, rule, config.baseline, recentNewBinary ? floorsOnly(rule) : undefined);
      const high = e !== undefined && e.evidence >= 1;
      const streak = high ? (state.streak > 0 && !replay ? state.streak + 1 : replay ? state.streak : 1) : 0;
      const streakStartMs = high && streak === 1 ? v.windowStartMs : state.streakStartMs;
      const fires = high && streak >= config.sustainWindows && (!config.requireNewBinary || state.newBinaryAtMs >= streakStartMs - config.newBinaryLookbackS * 1000);
      if (!replay) {
        state.streak = streak;
        state.streakStartMs = streakStartMs;
      }
      closeEntity(store, v, opened, config.baseline, high ? undefined : { cpu });
      if (!fires) return undefined;
      const cores = cpu / windowSeconds(v);
      const named = state.newBinaries;
      return windowFinding(v, {
        detector: RESOURCE_HIJACKING_DETECTOR,
        ruleName: 'Sustained CPU with a new binary',
        ruleDescription: 'CPU far above this workload\'s baseline for several windows after a binary never run before started: resource hijacking (a miner)',
        kind: 'intrusion',
        threat: { tactic: TACTICS.impact, technique: TECHNIQUES.resourceHijacking },
        base: BASE_RISK,
        evidence: [{ ...e!, feature: 'cpu_seconds' }],
        message: `${v.entityId}: ${formatNumber(cores)} cores for ${streak} windows (typically ${formatNumber(e!.typical / windowSeconds(v))})`
          + (state.newBinaryAtMs > -Infinity ? ` after a new binary started` + (named.length > 0 ? ` (${named.join(', ')})` : '') : ''),
      });
    });
  },
};
