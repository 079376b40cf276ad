/**
 * T1110 Brute Force: a burst of failed logins or 401/403 answers from one client (password guessing), or failures
 * across many identities (password spraying, credential stuffing) from one client or against one service.
 *
 * A client is one actor: a burst past the absolute floor is enough even for a client never seen before, and a client
 * with a history (a NAT gateway, an office proxy) must also go far above its own usual failures. A service or
 * operation gathers every user's typos, so it is judged only against its own warm baseline.
 */
import { z } from 'zod';
import type { FeatureVector } from '../../schemas/feature-vector.ts';
import { baselineLearningConfig, farAboveConfig, floorsOnly, forWindow } from '../baseline.ts';
import type { WindowDetectorFactory } from '../detector.ts';
import { closeEntity, judge, openEntity, type EntityState } from '../entity-state.ts';
import type { Finding } from '../../findings/finding.ts';
import { TACTICS, TECHNIQUES, type Threat } from '../../findings/threat.ts';
import { count, entityKind, examplesOf, windowSeconds } from '../vector.ts';
import { DEFAULT_LEARNING, entityKindsConfig, gatedDetector } from '../window-detector.ts';
import { formatNumber, windowFinding, type FeatureEvidence } from '../window-finding.ts';

export const BRUTE_FORCE_DETECTOR = 'brute_force';

const SINGLE_ACTOR = new Set(['client']);

export const BruteForceConfig = z.strictObject({
  ...entityKindsConfig(['client', 'service', 'operation'], ['client', 'service', 'operation']),
  /** A client's failed logins (or 401/403 answers, whichever is larger) per window; floors per 10 s. */
  failures: farAboveConfig({ ratio: 4, z: 6, minDelta: 5, minimum: 10 }),
  /**
   * The same for a service or operation (every client together): against its own baseline of typos, with a floor of 5
   * per 10 s, so a spray of one attempt a second from rotating addresses shows in its first window.
   */
  serviceFailures: farAboveConfig({ ratio: 4, z: 6, minDelta: 4, minimum: 5 }),
  /** Distinct identities tried per window, judged when at least `identities.minimum` attempts failed. */
  identities: farAboveConfig({ ratio: 3, z: 6, minDelta: 3, minimum: 5 }),
  baseline: baselineLearningConfig(DEFAULT_LEARNING),
});
export type BruteForceConfig = z.infer<typeof BruteForceConfig>;

/** Risk of a finding just at the threshold. */
const BASE_RISK = 0.5;

export const bruteForce: WindowDetectorFactory<BruteForceConfig> = {
  id: BRUTE_FORCE_DETECTOR,
  input: 'window',
  config: BruteForceConfig,
  create(config, settings) {
    const store = settings.store<EntityState>('entities');
    return gatedDetector(config, (v: FeatureVector): Finding | undefined => {
      const seconds = windowSeconds(v);
      const failures = Math.max(count(v, 'failed_login_count'), count(v, 'auth_failure_count'));
      const identities = count(v, 'distinct_identities');
      const opened = openEntity(store, v, () => ({}));
      const single = SINGLE_ACTOR.has(entityKind(v));
      const failureRule = forWindow(single ? config.failures : config.serviceFailures, seconds);
      const identityRule = forWindow(config.identities, seconds);
      const evidence: FeatureEvidence[] = [];
      const byFailures = judge(opened.state, 'failures', failures, failureRule, config.baseline, single ? floorsOnly(failureRule) : undefined);
      if (byFailures) evidence.push({ ...byFailures, feature: 'failed_login_count' });
      if (failures >= identityRule.minimum) {
        const byIdentities = judge(opened.state, 'identities', identities, identityRule, config.baseline, single ? floorsOnly(identityRule) : undefined);
        if (byIdentities) evidence.push({ ...byIdentities, feature: 'distinct_identities' });
      }
      if (!evidence.some((e) => e.evidence >= 1)) {
        closeEntity(store, v, opened, config.baseline, { failures, identities });
        return undefined;
      }
      closeEntity(store, v, opened, config.baseline);
      const spraying = identities >= identityRule.minimum;
      const threat: Threat = {
        tactic: TACTICS.credentialAccess,
        technique: TECHNIQUES.bruteForce,
        ...(identities <= 1 ? { subtechnique: TECHNIQUES.passwordGuessing } : {}),
      };
      const tried = examplesOf(v, 'identities');
      const typical = evidence[0].typical;
      return windowFinding(v, {
        detector: BRUTE_FORCE_DETECTOR,
        ruleName: spraying ? 'Failed logins across many identities' : 'Burst of failed logins',
        ruleDescription: 'Failed logins or 401/403 answers far above the usual for this entity: password guessing, spraying or credential stuffing',
        kind: 'intrusion',
        threat,
        base: BASE_RISK,
        evidence,
        message: `${v.entityId}: ${formatNumber(failures)} failed logins in ${formatNumber(seconds)} s`
          + (identities > 0 ? ` across ${formatNumber(identities)} identities` : '')
          + ` (typically ${formatNumber(typical)})`
          + (spraying ? ': password spraying or credential stuffing' : '')
          + (tried.length > 0 ? `; tried: ${tried.join(', ')}` : ''),
        preferExemplars: ['error'],
      });
    });
  },
};
