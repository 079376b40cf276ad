import { z } from 'zod';
import type { DeprecatedKey } from '../core/config.ts';
import type { DetectorFactory } from './detector.ts';

/** `detectors:` — the stage's own keys and one section per detector (`detectors.<id>`), each with its defaults. */
export function detectorsConfig(factories: readonly DetectorFactory[]) {
  return z.strictObject({
    /** Consumer group of the feature-vector scoring. */
    groupId: z.string().default('peregrine-detectors'),
    /** Consumer group of the request detectors' reading of the spans topic. */
    requestsGroupId: z.string().default('peregrine-detectors-requests'),
    /** Keys each detector store keeps at most (entities × what it learns about them); the least recently used go. */
    maxStateKeys: z.number().int().min(100).default(200_000),
    ...Object.fromEntries(factories.map((f) => [f.id, f.config.default(f.config.parse({}) as never)])),
  });
}

export type DetectorsConfig = { groupId: string; requestsGroupId: string; maxStateKeys: number } & Record<string, unknown>;

/** Keys of earlier releases, still read with a warning naming the new key. */
export function deprecatedDetectorKeys(factories: readonly DetectorFactory[]): DeprecatedKey[] {
  return [
    { from: 'detectors.httpRequest.groupId', to: 'detectors.requestsGroupId' },
    ...factories.filter((f) => f.deprecatedKey).map((f) => ({ from: `detectors.${f.deprecatedKey}`, to: `detectors.${f.id}` })),
  ];
}
