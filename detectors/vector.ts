/**
 * Reading what a feature vector says about its entity, for detectors. The features stage adds `attributes` (ECS
 * context: source.ip, user.name, host.name, k8s.pod.name...) and `examples` (≤ 5 named things per feature:
 * new_binaries, shell_execs, new_destinations...) to vectors; older vectors lack them, which reads as "not known".
 */
import { feature, type FeatureVector } from '../schemas/feature-vector.ts';

type WithContext = FeatureVector & { attributes?: Record<string, string>; examples?: Record<string, string[]> };

export function attributesOf(v: FeatureVector): Readonly<Record<string, string>> {
  return (v as WithContext).attributes ?? {};
}

/** The named examples a feature carries (e.g. `new_binaries`), at most what the features stage kept. */
export function examplesOf(v: FeatureVector, name: string): readonly string[] {
  return (v as WithContext).examples?.[name] ?? [];
}

/** Every example list the vector carries (for the finding's `peregrine.evidence`). */
export function allExamplesOf(v: FeatureVector): Readonly<Record<string, string[]>> {
  return (v as WithContext).examples ?? {};
}

/** The entity kind (`service`, `operation`, `edge`, `client`, `host`, `pod`, `process`). */
export function entityKind(v: FeatureVector): string {
  return v.entityType;
}

/** A feature's value, 0 when the vector does not measure it (counts the sensor never saw are none). */
export function count(v: FeatureVector, name: string): number {
  const x = feature(v, name);
  return x !== undefined && Number.isFinite(x) ? x : 0;
}

/** A feature's value when it is measured and finite. */
export function measured(v: FeatureVector, name: string): number | undefined {
  const x = feature(v, name);
  return x !== undefined && Number.isFinite(x) ? x : undefined;
}

export function windowSeconds(v: FeatureVector): number {
  return Math.max(1e-3, (v.windowEndMs - v.windowStartMs) / 1000);
}

/**
 * Event-time seconds the features stage's first-seen history has been learning for this entity kind; `new_*`
 * features mean nothing before it is warm. Undefined when the vector does not say.
 */
export function historyAgeSeconds(v: FeatureVector): number | undefined {
  return measured(v, 'history_age_s');
}
