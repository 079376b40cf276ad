/**
 * The collector's own decoder as a benchmark anchor: builds `bench/collector-decode` (Go, pdata pinned in its
 * go.mod) once per source change, runs it on request files, and times it in rounds on command, so a benchmark can
 * alternate it with Peregrine's decoder on the same bytes under the same machine load.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const MODULE_DIR = join(dirname(fileURLToPath(import.meta.url)), 'collector-decode');

/** `${XDG_CACHE_HOME:-~/.cache}/peregrine/bench`: Go's module and build caches and the built binaries. */
export function benchCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'peregrine', 'bench');
}

/** Builds a Go module of bench/ (pinned by its go.mod/go.sum) unless a binary of the same sources exists. */
export function buildGoTool(moduleDir: string, name: string): string {
  const hash = createHash('sha256');
  for (const f of ['go.mod', 'go.sum', 'main.go']) hash.update(readFileSync(join(moduleDir, f)));
  const cache = benchCacheDir();
  const binary = join(cache, 'bin', `${name}-${hash.digest('hex').slice(0, 12)}`);
  if (existsSync(binary)) return binary;
  mkdirSync(dirname(binary), { recursive: true });
  const go = join(cache, 'go');
  const built = spawnSync('go', ['build', '-trimpath', '-o', binary, '.'], {
    cwd: moduleDir,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, GOPATH: go, GOMODCACHE: join(go, 'mod'), GOCACHE: join(go, 'cache'), GOTOOLCHAIN: 'local', GOFLAGS: '-mod=readonly -buildvcs=false' },
  });
  if (built.error) throw new Error(`building ${name} needs Go on PATH (${built.error.message})`);
  if (built.status !== 0) throw new Error(`building ${name} in ${moduleDir} failed (exit ${built.status})`);
  return binary;
}

export interface DecodeRound {
  spans: number;
  cpuMicros: number;
  wallMicros: number;
}

export interface CollectorDecoder {
  /** `bare`: ptrace.ProtoUnmarshaler only; `read`: also reads every span's ids, name, times, status and attributes. */
  round(mode: 'bare' | 'read', ms: number): Promise<DecodeRound>;
  close(): void;
}

/** Starts the pdata decoder on `requests` (ExportTraceServiceRequest bytes), on one core (GOMAXPROCS=1). */
export function startCollectorDecoder(requests: Uint8Array[]): CollectorDecoder {
  const binary = buildGoTool(MODULE_DIR, 'collector-decode');
  const dir = mkdtempSync(join(tmpdir(), 'peregrine-collector-decode-'));
  const files = requests.map((r, i) => {
    const file = join(dir, `request-${i}.pb`);
    writeFileSync(file, r);
    return file;
  });
  const child: ChildProcessWithoutNullStreams = spawn(binary, files, { env: { ...process.env, GOMAXPROCS: '1' } });
  child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
  const lines = createInterface({ input: child.stdout });
  const waiting: Array<{ resolve(line: string): void; reject(e: Error): void }> = [];
  lines.on('line', (line) => waiting.shift()?.resolve(line));
  let exited: Error | undefined;
  child.on('exit', (code) => {
    exited = new Error(`collector-decode exited with ${code}`);
    rmSync(dir, { recursive: true, force: true });
    for (const w of waiting.splice(0)) w.reject(exited);
  });
  return {
    round(mode, ms) {
      if (exited) return Promise.reject(exited);
      return new Promise((resolve, reject) => {
        waiting.push({
          resolve: (line) => {
            const a = JSON.parse(line) as { spans: number; cpu_us: number; wall_us: number };
            resolve({ spans: a.spans, cpuMicros: a.cpu_us, wallMicros: a.wall_us });
          },
          reject,
        });
        child.stdin.write(`${mode} ${ms}\n`);
      });
    },
    close() {
      child.stdin.end();
    },
  };
}
