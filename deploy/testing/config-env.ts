/**
 * Checking deployment files against the configuration schema: the PEREGRINE__SECTION__KEY variables a process gets
 * are loaded exactly as the process would load them (app/config.ts: the platform sections and every component's), so an unknown key or a bad value fails naming
 * the key, whatever the schema looks like after a rename.
 */
import { AppConfig, loadAppConfig } from '../../app/config.ts';
import { ENV_PREFIX } from '../../core/config.ts';

/**
 * Sections deployments configure for a process whose schema this checkout may not have yet: the console's (console/
 * defines it; the top-level schema takes it in when merged). Only while the schema lacks a section are its
 * variables set aside, reported as pending; once it has it, they are checked like every other.
 */
export const PENDING_SECTIONS = ['console'] as const;

export interface CheckedEnv {
  config: AppConfig;
  /** Variables of a pending section the schema does not have yet. */
  pending: string[];
}

export function sectionOf(variable: string): string {
  return variable.slice(ENV_PREFIX.length).split('__')[0]!.toLowerCase();
}

export function schemaHasSection(section: string): boolean {
  return Object.keys(AppConfig.shape).some((k) => k.toLowerCase() === section.toLowerCase());
}

/** Loads the configuration a process with this environment (and optional file) would run with; throws like start-up. */
export function configForEnv(env: Record<string, string>, file?: string): CheckedEnv {
  const pending: string[] = [];
  const peregrine: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX)) continue;
    const section = sectionOf(name);
    if ((PENDING_SECTIONS as readonly string[]).includes(section) && !schemaHasSection(section)) pending.push(name);
    else peregrine[name] = value;
  }
  return { config: loadAppConfig({ env: peregrine, file }), pending };
}
