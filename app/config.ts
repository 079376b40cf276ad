/** The application's configuration: the platform sections and one section per component of app/components.ts. */
import type { z } from 'zod';
import { configSchema, loadConfig, type DeprecatedKey, type LoadConfigOptions } from '../core/config.ts';
import { logger } from '../core/log.ts';
import { deprecatedDetectorKeys } from '../detectors/config.ts';
import { DETECTORS, SERVERS, STAGES } from './components.ts';

export const AppConfig = configSchema({
  ...Object.fromEntries(STAGES.map((s) => [s.id, s.config])) as { [S in (typeof STAGES)[number] as S['id']]: S['config'] },
  ...SERVERS,
});
export type AppConfig = z.infer<typeof AppConfig>;

export const DEPRECATED_KEYS: readonly DeprecatedKey[] = deprecatedDetectorKeys(DETECTORS);

const warned = new Set<string>();

/** Loads and validates the configuration once; each deprecated key in use is warned about once per process. */
export function loadAppConfig(options: LoadConfigOptions = {}): AppConfig {
  return loadConfig({
    schema: AppConfig,
    deprecated: DEPRECATED_KEYS,
    onDeprecated: (key) => {
      if (warned.has(key.from)) return;
      warned.add(key.from);
      logger().warn({ key: key.from, use: key.to }, `configuration key ${key.from} is deprecated and will be removed in the next release: use ${key.to}`);
    },
  }, options);
}
