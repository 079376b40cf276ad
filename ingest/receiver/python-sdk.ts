/** The OpenTelemetry Python SDK for the interoperability tests: a venv inside the stack dir, made once (pinned). */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stackDir } from '../../deploy/local/paths.ts';

export const PYTHON_OTEL_PACKAGES = ['opentelemetry-sdk==1.45.2', 'opentelemetry-exporter-otlp==1.45.2'];

/** Returns the venv's python, creating the venv and installing the pinned packages when they are missing. */
export async function ensurePythonSdk(root = stackDir()): Promise<string> {
  const home = join(root, 'otel-python');
  const python = join(home, 'venv', 'bin', 'python');
  const marker = join(home, 'installed.txt');
  const wanted = PYTHON_OTEL_PACKAGES.join('\n');
  if (existsSync(python) && existsSync(marker) && readFileSync(marker, 'utf8') === wanted) return python;
  mkdirSync(home, { recursive: true });
  const env = { ...process.env, PIP_CACHE_DIR: join(root, 'pip-cache'), TMPDIR: join(root, 'tmp') };
  mkdirSync(env.TMPDIR, { recursive: true });
  if (!existsSync(python)) execFileSync('python3', ['-m', 'venv', join(home, 'venv')], { env, stdio: 'pipe' });
  execFileSync(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...PYTHON_OTEL_PACKAGES], { env, stdio: 'pipe', timeout: 600_000 });
  writeFileSync(marker, wanted);
  return python;
}
