/**
 * Per-entity state of a baseline detector in its KeyedStore: the baselines of the quantities it watches, when the
 * entity was first and last judged, and how many windows it had. A window at or before the last one judged is a
 * replay (a restart re-reading records after the store was persisted): it is judged again the same way, but never
 * learnt twice.
 */
import type { KeyedStore } from '../core/state/keyed-store.ts';
import type { FeatureVector } from '../schemas/feature-vector.ts';
import { evidence, isWarm, learn, newBaseline, requiredLevel, type Baseline, type BaselineLearning, type FarAbove } from './baseline.ts';
import type { FeatureEvidence } from './window-finding.ts';

export interface EntityState {
  firstEndMs: number;
  lastEndMs: number;
  windows: number;
  baselines: Record<string, Baseline>;
}

export interface OpenedEntity<S extends EntityState> {
  state: S;
  replay: boolean;
}

/** The entity's state (a fresh one for an entity never seen), and whether this window was judged before. */
export function openEntity<S extends EntityState>(store: KeyedStore<S>, v: FeatureVector, fresh: () => Omit<S, keyof EntityState>): OpenedEntity<S> {
  const state = store.get(v.entityId);
  if (state) return { state, replay: v.windowEndMs <= state.lastEndMs };
  return { state: { firstEndMs: v.windowEndMs, lastEndMs: -Infinity, windows: 0, baselines: {}, ...fresh() } as S, replay: false };
}

/**
 * Records the window: unless it is a replay, the entity's window count and last window move on and, when `values`
 * is given (the window raised no finding), each value is learnt into its baseline.
 */
export function closeEntity<S extends EntityState>(
  store: KeyedStore<S>, v: FeatureVector, opened: OpenedEntity<S>, learning: BaselineLearning, values?: Record<string, number | undefined>,
): void {
  const { state, replay } = opened;
  if (replay) return;
  state.windows++;
  state.lastEndMs = v.windowEndMs;
  if (values) {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) continue;
      learn((state.baselines[name] ??= newBaseline()), value, learning);
    }
  }
  store.set(v.entityId, state);
}

/**
 * How far a value is above the entity's baseline of it: the evidence (value / required level) against `rule` when
 * the baseline is warm, against `coldRule` (absolute floors only) when it is not; undefined when the baseline is
 * cold and there is no cold rule (the detector stays quiet on an entity it does not know yet).
 */
export function judge(state: EntityState, name: string, value: number, rule: FarAbove, learning: BaselineLearning, coldRule?: FarAbove): FeatureEvidence | undefined {
  const b = state.baselines[name];
  if (b && isWarm(b, learning)) return { feature: name, actual: value, typical: b.center, evidence: evidence(b, value, rule) };
  if (!coldRule) return undefined;
  const none = newBaseline();
  return { feature: name, actual: value, typical: b?.center ?? 0, evidence: value / requiredLevel(none, coldRule) };
}

export interface Signal {
  /** The baseline's name within the entity's state. */
  name: string;
  value: number;
  rule: FarAbove;
  /** The rule for an entity without a warm baseline; none: such an entity is not judged. */
  cold?: FarAbove;
  /** False: the window is not judged (a precondition failed), only learnt. */
  judged?: boolean;
  /** False: the window is not learnt either (too little evidence to teach the baseline). */
  learnt?: boolean;
}

/**
 * The common step of a one-quantity baseline detector: judge the value against the entity's baseline and, unless it
 * fired, learn it. Returns the evidence when it fired.
 */
export function judgeAndLearn(store: KeyedStore<EntityState>, v: FeatureVector, signal: Signal, learning: BaselineLearning): FeatureEvidence | undefined {
  const opened = openEntity(store, v, () => ({}));
  const e = signal.judged === false ? undefined : judge(opened.state, signal.name, signal.value, signal.rule, learning, signal.cold);
  const fired = e !== undefined && e.evidence >= 1;
  closeEntity(store, v, opened, learning, fired || signal.learnt === false ? undefined : { [signal.name]: signal.value });
  return fired ? e : undefined;
}
