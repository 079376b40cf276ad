import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const repoRoot = resolve(import.meta.dirname, '../..');

/**
 * The public labelled data sets (CSIC 2010, NAB) live beside the repository in `../shared/data`, not in it. A clone
 * elsewhere finds them through $PEREGRINE_SHARED_DATA or the workplace's own copy.
 */
export function sharedDataDir(): string {
  const candidates = [process.env.PEREGRINE_SHARED_DATA, resolve(repoRoot, '../shared/data'), '/work/shared/data'];
  for (const dir of candidates) if (dir && existsSync(dir)) return dir;
  throw new Error(`the shared data sets were not found in ${candidates.filter(Boolean).join(' or ')}; set PEREGRINE_SHARED_DATA`);
}

export function sharedDataPath(...parts: string[]): string {
  return resolve(sharedDataDir(), ...parts);
}
