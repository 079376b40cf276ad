/** JSON for fitted profiles: Maps and Sets survive the round trip (tagged), numbers stay exact. Pure. */
import type { RequestProfiles } from './profile.ts';

export function profilesToJson(profiles: RequestProfiles): string {
  return JSON.stringify(profiles, (_key, value: unknown) => {
    if (value instanceof Map) return { $map: [...value.entries()] };
    if (value instanceof Set) return { $set: [...value.values()] };
    return value;
  });
}

export function profilesFromJson(text: string): RequestProfiles {
  const parsed = JSON.parse(text, (_key, value: unknown) => {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const v = value as { $map?: Array<[unknown, unknown]>; $set?: unknown[] };
      if (Array.isArray(v.$map)) return new Map(v.$map);
      if (Array.isArray(v.$set)) return new Set(v.$set);
    }
    return value;
  }) as RequestProfiles;
  for (const key of ['methods', 'paths', 'routes', 'params', 'headerNames', 'headerSets', 'headers'] as const) {
    if (parsed?.[key] === undefined) throw new Error(`profiles lack "${key}"`);
  }
  return parsed;
}
