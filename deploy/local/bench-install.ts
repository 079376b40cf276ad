/**
 * Cold install timings: installs the chosen services into a scratch stack dir (default: kafka, elasticsearch,
 * mlflow; add jaeger with `--with-jaeger`, which downloads ~1.3 GB and builds for minutes) under the stack dir's
 * tmp/ and prints one JSON
 * object on the last line. Does not start anything, so it runs beside a live stack.
 *   node --import tsx deploy/local/bench-install.ts [--with-jaeger] [--keep]
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { stackDir, stackPaths } from './paths.ts';
import { SERVICES } from './stack.ts';
import type { ServiceName } from './services/types.ts';

const withJaeger = process.argv.includes('--with-jaeger');
const keep = process.argv.includes('--keep');
// Inside the real stack dir's tmp/, so nothing lands outside the stack dir.
const scratchParent = stackPaths(stackDir()).tmp;
mkdirSync(scratchParent, { recursive: true });
const root = mkdtempSync(join(scratchParent, 'bench-install-'));
const paths = stackPaths(root);
const names: ServiceName[] = ['kafka', 'elasticsearch', 'mlflow', ...(withJaeger ? (['jaeger-query'] as const) : [])];
const seconds: Record<string, number> = {};
try {
  for (const name of names) {
    const t0 = performance.now();
    await SERVICES[name].install({ paths, progress: () => undefined, timeoutMs: 3_600_000 });
    seconds[SERVICES[name].installKey] = Math.round((performance.now() - t0) / 100) / 10;
    process.stdout.write(`${SERVICES[name].installKey}: ${seconds[SERVICES[name].installKey]} s\n`);
  }
} finally {
  if (!keep) rmSync(root, { recursive: true, force: true });
}
process.stdout.write(`${JSON.stringify({ bench: 'stack-cold-install', seconds, load_avg_1m: (await import('node:os')).loadavg()[0] })}\n`);
