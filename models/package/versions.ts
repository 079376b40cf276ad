/** Versions of what produced a model, recorded in its manifest. */
import { createRequire } from 'node:module';
import { tf } from '../tf.ts';

const require = createRequire(import.meta.url);

function packageVersion(name: string): string | undefined {
  try {
    return (require(`${name}/package.json`) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

export function libraryVersions(): Record<string, string> {
  const versions: Record<string, string> = { node: process.versions.node, 'tfjs-backend': tf.getBackend() || 'none' };
  for (const name of ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-node']) {
    const v = packageVersion(name);
    if (v) versions[name] = v;
  }
  try {
    versions.peregrine = (require('../../package.json') as { version: string }).version;
  } catch {
    // running from somewhere without the project's package.json: nothing to record
  }
  return versions;
}
