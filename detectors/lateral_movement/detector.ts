/**
 * T1021 Remote Services: a caller → callee edge never seen in the learned history (a compromised service reaching
 * into one it never talked to, or a workload opening SSH to a neighbour).
 *
 * The features stage marks an edge's first window (`new_edge`) once its history is warm (`history_age_s`); this
 * detector also remembers every edge it was shown, so an edge the features stage forgot (its history evicted or
 * restarted) is not news twice. A caller seen for the first time recently is starting up, not moving laterally (a
 * checkout service that first runs at the first order calls payment, email and shipping at once): only a caller
 * known for `minCallerAgeS` raises new edges. A callee on a remote-administration port names the sub-technique and
 * weighs more.
 */
import { z } from 'zod';
import type { FeatureVector } from '../../schemas/feature-vector.ts';
import type { WindowDetectorFactory } from '../detector.ts';
import type { Finding } from '../../findings/finding.ts';
import { TACTICS, TECHNIQUES, type AttackEntry } from '../../findings/threat.ts';
import { contextOf, isInternalAddress } from '../context.ts';
import { count, historyAgeSeconds } from '../vector.ts';
import { formatNumber, windowFinding } from '../window-finding.ts';
import { entityKindsConfig, gatedDetector } from '../window-detector.ts';

export const LATERAL_MOVEMENT_DETECTOR = 'lateral_movement';

export const LateralMovementConfig = z.strictObject({
  ...entityKindsConfig(['edge'], ['edge']),
  /** Event-time seconds the first-seen history must have learnt before an edge counts as new. */
  minHistoryAgeS: z.number().min(0).default(300),
  /**
   * The same for an edge the sensor saw only as connections (an executable to an address and port), unless it reaches
   * a remote-administration port. Services talk through keep-alive pools: a pool renews its connections now and then,
   * so such an edge shows up for the first time long after its service-level edge (spans) was known.
   */
  minConnectionHistoryAgeS: z.number().min(0).default(3600),
  /** Event-time seconds a caller must have been calling before its new edges count. */
  minCallerAgeS: z.number().min(0).default(300),
  /** Edges remembered at most (least recently seen forgotten first). */
  maxEdges: z.number().int().min(1).default(200_000),
});
export type LateralMovementConfig = z.infer<typeof LateralMovementConfig>;

/** Remote-administration ports and the sub-technique they mean. */
const REMOTE_SERVICE_PORTS = new Map<number, AttackEntry | undefined>([
  [22, TECHNIQUES.ssh], [23, undefined], [139, TECHNIQUES.smbWindowsAdminShares], [445, TECHNIQUES.smbWindowsAdminShares],
  [3389, TECHNIQUES.remoteDesktopProtocol], [5900, TECHNIQUES.vnc], [5901, TECHNIQUES.vnc], [5985, TECHNIQUES.windowsRemoteManagement],
  [5986, TECHNIQUES.windowsRemoteManagement],
]);

const BASE_RISK = 0.45;
const REMOTE_SERVICE_RISK = 0.7;

export const lateralMovement: WindowDetectorFactory<LateralMovementConfig> = {
  id: LATERAL_MOVEMENT_DETECTOR,
  input: 'window',
  config: LateralMovementConfig,
  create(config, settings) {
    /** Edge id → event time it was first shown to this detector. */
    const seen = settings.store<number>('edges', { maxKeys: config.maxEdges });
    /** Caller → event time of its first window. */
    const callers = settings.store<number>('callers', { maxKeys: config.maxEdges });
    return gatedDetector(config, (v: FeatureVector): Finding | undefined => {
      const [caller, callee] = v.entityId.slice('edge:'.length).split('->');
      const firstShown = seen.get(v.entityId);
      if (firstShown === undefined) seen.set(v.entityId, v.windowStartMs);
      const callerSince = callers.get(caller);
      if (callerSince === undefined) callers.set(caller, v.windowStartMs);
      const callerSettled = callerSince !== undefined && v.windowStartMs - callerSince >= config.minCallerAgeS * 1000;
      const isNew = count(v, 'new_edge') >= 1;
      // A replayed first window (shown before at this very window) is judged again the same way.
      if (!isNew || !callerSettled || (firstShown !== undefined && firstShown < v.windowStartMs)) return undefined;
      const context = contextOf(v);
      const destination = context.destination;
      // Lateral means inside: a connection to an outside address is the business of new_destination (T1048).
      if (destination?.ip !== undefined && !isInternalAddress(destination.ip)) return undefined;
      const port = destination?.port;
      const remote = port !== undefined && REMOTE_SERVICE_PORTS.has(port);
      const connectionOnly = context.process !== undefined && !remote;
      if ((historyAgeSeconds(v) ?? 0) < (connectionOnly ? config.minConnectionHistoryAgeS : config.minHistoryAgeS)) return undefined;
      const subtechnique = remote ? REMOTE_SERVICE_PORTS.get(port) : undefined;
      return windowFinding(v, {
        detector: LATERAL_MOVEMENT_DETECTOR,
        ruleName: remote ? 'New connection to a remote-administration service' : 'New service-to-service edge',
        ruleDescription: 'A caller reached a callee it had never reached in the learned history',
        kind: 'intrusion',
        threat: { tactic: TACTICS.lateralMovement, technique: TECHNIQUES.remoteServices, ...(subtechnique ? { subtechnique } : {}) },
        base: remote ? REMOTE_SERVICE_RISK : BASE_RISK,
        evidence: [{ feature: 'new_edge', actual: 1, typical: 0, evidence: 1 }],
        message: `${caller} called ${callee} for the first time` + (count(v, 'request_count') > 0 ? ` (${formatNumber(count(v, 'request_count'))} requests in this window)` : '')
          + (remote ? `: port ${port} is a remote-administration service` : ''),
      });
    });
  },
};
