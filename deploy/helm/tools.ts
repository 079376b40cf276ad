/**
 * The tools the chart's test needs, built once with Go into the stack dir and reused: Helm v4 (from the Go module
 * proxy, like the stack's Jaeger) and validate-k8s (./validate: strict decoding into the Kubernetes API types).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { stackPaths, type StackPaths } from '../local/paths.ts';
import { go } from '../local/prereqs.ts';
import { runLogged } from '../local/proc.ts';
import { goEnv } from '../local/services/jaeger.ts';

export const HELM_VERSION = '4.3.2';
const VALIDATOR_DIR = new URL('./validate/', import.meta.url).pathname;
const BUILD_TIMEOUT_MS = 45 * 60_000;

function toolsDir(paths: StackPaths): string {
  const dir = join(paths.root, 'tools');
  mkdirSync(dir, { recursive: true });
  mkdirSync(paths.tmp, { recursive: true });
  return dir;
}

/** Builds into a fresh folder and renames into place, so a build cut short never leaves a half-written binary. */
async function buildInto(target: string, what: string, build: (outDir: string) => Promise<void>): Promise<string> {
  if (existsSync(target)) return target;
  const paths = stackPaths();
  const out = mkdtempSync(join(paths.tmp, 'tool-build-'));
  try {
    await build(out);
    mkdirSync(join(target, '..'), { recursive: true });
    renameSync(join(out, 'bin'), target);
  } catch (e) {
    throw new Error(`${what}: ${(e as Error).message}`, { cause: e });
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  return target;
}

/** `helm` v4, `go install`ed once (a few minutes cold; the module cache is the stack's). */
export async function helmBinary(progress: (line: string) => void = () => {}): Promise<string> {
  const paths = stackPaths();
  const target = join(toolsDir(paths), `helm-${HELM_VERSION}`, 'helm');
  return buildInto(target, `building helm v${HELM_VERSION}`, async (out) => {
    progress(`go install helm.sh/helm/v4/cmd/helm@v${HELM_VERSION} (several minutes when cold)`);
    await runLogged(go(), ['install', '-trimpath', '-ldflags', '-s -w', `helm.sh/helm/v4/cmd/helm@v${HELM_VERSION}`], {
      env: { ...goEnv(paths), GOFLAGS: '-buildvcs=false', GOBIN: join(out, 'bin-dir') },
      cwd: out, logFile: join(paths.logs, 'install-helm.log'), onLine: progress, what: 'go install helm', timeoutMs: BUILD_TIMEOUT_MS,
    });
    renameSync(join(out, 'bin-dir', 'helm'), join(out, 'bin'));
  });
}

/** validate-k8s, rebuilt whenever its sources change (the binary's name carries their hash). */
export async function k8sValidator(progress: (line: string) => void = () => {}): Promise<string> {
  const paths = stackPaths();
  const hash = createHash('sha256');
  for (const f of ['main.go', 'go.mod', 'go.sum']) hash.update(readFileSync(join(VALIDATOR_DIR, f)));
  const target = join(toolsDir(paths), `validate-k8s-${hash.digest('hex').slice(0, 12)}`);
  return buildInto(target, 'building deploy/helm/validate', async (out) => {
    progress('go build deploy/helm/validate (k8s.io/api; a few minutes when cold)');
    await runLogged(go(), ['build', '-trimpath', '-o', join(out, 'bin'), '.'], {
      env: goEnv(paths), cwd: VALIDATOR_DIR, logFile: join(paths.logs, 'install-validate-k8s.log'), onLine: progress, what: 'go build validate-k8s', timeoutMs: BUILD_TIMEOUT_MS,
    });
  });
}
