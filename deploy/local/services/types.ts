import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { StackPaths } from '../paths.ts';
import type { PidRecord } from '../proc.ts';

export const SERVICE_NAMES = ['kafka', 'elasticsearch', 'peregrine-receiver', 'jaeger-collector', 'jaeger-query', 'mlflow', 'console'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export interface Health { healthy: boolean; detail: string }

export interface StepContext {
  paths: StackPaths;
  /** Progress: the latest line of a long step. */
  progress: (line: string) => void;
  /** How long a start may take before it counts as failed. */
  timeoutMs: number;
}

/** One server of the stack: how to install it (idempotent), start it, and tell whether it is healthy. */
export interface Service {
  name: ServiceName;
  version: string;
  /** The port `stack status` shows. */
  port: number;
  url: string;
  dependsOn: readonly ServiceName[];
  /** Services sharing an install (both Jaeger roles use one binary) share this key. */
  installKey: string;
  /** What `stack logs <name>` shows. */
  logFile(paths: StackPaths): string;
  isInstalled(paths: StackPaths): boolean;
  install(ctx: StepContext): Promise<void>;
  /** Starts the service detached; resolves once its process runs (health is awaited by the caller). */
  start(ctx: StepContext): Promise<PidRecord>;
  health(): Promise<Health>;
}

/** Install markers: a JSON file saying what was installed, so a re-run with the same version skips. */
export function markerPath(home: string): string {
  return join(home, '.installed.json');
}

export function readMarker(home: string): Record<string, string> | undefined {
  try {
    return JSON.parse(readFileSync(markerPath(home), 'utf8')) as Record<string, string>;
  } catch {
    return undefined;
  }
}

export function markerMatches(home: string, expected: Record<string, string>): boolean {
  const marker = readMarker(home);
  return marker !== undefined && Object.entries(expected).every(([k, v]) => marker[k] === v);
}

export function writeMarker(home: string, value: Record<string, string>): void {
  mkdirSync(home, { recursive: true });
  writeFileSync(markerPath(home), `${JSON.stringify({ ...value, installedAt: new Date().toISOString() }, null, 2)}\n`);
}

export function ensureDirs(...dirs: string[]): void {
  for (const dir of dirs) mkdirSync(dir, { recursive: true });
}

export function writeIfChanged(file: string, content: string): void {
  if (existsSync(file) && readFileSync(file, 'utf8') === content) return;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
}

/** A child environment whose temp files and caches stay inside the stack dir. */
export function confinedEnv(paths: StackPaths, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, TMPDIR: paths.tmp, TMP: paths.tmp, TEMP: paths.tmp, ...extra };
}
