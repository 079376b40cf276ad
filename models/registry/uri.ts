/** `models:/NAME@ALIAS` and `models:/NAME/VERSION` model references, and where MLflow and the model cache are. Pure. */
import { homedir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../core/errors.ts';

export type ModelRef = { name: string; alias: string } | { name: string; version: string };

export const DEFAULT_MLFLOW_URL = 'http://127.0.0.1:5000';
export const CHAMPION_ALIAS = 'champion';

export function isModelUri(spec: string): boolean {
  return spec.startsWith('models:/');
}

export function parseModelUri(spec: string): ModelRef {
  const m = /^models:\/([^@/]+)(?:@([A-Za-z0-9_-]+)|\/(\d+))$/.exec(spec);
  if (!m) throw new ConfigError(`"${spec}" is not a model URI: use models:/NAME@ALIAS or models:/NAME/VERSION`);
  const name = decodeURIComponent(m[1]);
  return m[2] ? { name, alias: m[2] } : { name, version: m[3] };
}

/** --mlflow URL, else $PEREGRINE_MLFLOW_URL, else an http(s) $MLFLOW_TRACKING_URI, else the local stack's. */
export function mlflowUrl(option?: string | boolean, env: NodeJS.ProcessEnv = process.env): string {
  if (typeof option === 'string' && option) return validUrl(option, '--mlflow');
  if (env.PEREGRINE_MLFLOW_URL) return validUrl(env.PEREGRINE_MLFLOW_URL, 'PEREGRINE_MLFLOW_URL');
  if (env.MLFLOW_TRACKING_URI && /^https?:\/\//.test(env.MLFLOW_TRACKING_URI)) return validUrl(env.MLFLOW_TRACKING_URI, 'MLFLOW_TRACKING_URI');
  return DEFAULT_MLFLOW_URL;
}

function validUrl(value: string, key: string): string {
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
    return value.replace(/\/+$/, '');
  } catch {
    throw new ConfigError(`${key}: "${value}" is not an http(s) URL`, key);
  }
}

/** Downloaded model packages: $PEREGRINE_MODEL_CACHE, else <user cache dir>/peregrine/models. */
export function modelCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PEREGRINE_MODEL_CACHE) return path.resolve(env.PEREGRINE_MODEL_CACHE);
  return path.resolve(env.XDG_CACHE_HOME || path.join(env.HOME || homedir(), '.cache'), 'peregrine', 'models');
}
