/**
 * The import layers of the repository, checked by a unit test: `core/` is the ground floor and imports no other
 * top-level folder; detectors reach models only through `models/index.ts`; no two top-level folders import each
 * other, directly or through others. Tests, fixtures, `testing/` folders and benchmarks may cross layers.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g;
const SKIPPED_DIRS = new Set(['node_modules', '.git', 'build', 'dist', '.stack']);

/** Files that only tests and benchmarks use: they may import across layers. */
export function isTestOnly(relPath: string): boolean {
  const base = path.basename(relPath);
  return base.includes('.test.') || base.includes('.fixture.') || relPath.includes('/testing/') || relPath.includes('/testdata/') || relPath.startsWith('bench/');
}

/** Top-level folder → the top-level folders its production files import (relative imports only). */
export function folderEdges(files: ReadonlyMap<string, string>): { edges: Map<string, Set<string>>; problems: string[] } {
  const edges = new Map<string, Set<string>>();
  const problems: string[] = [];
  for (const [rel, source] of files) {
    if (isTestOnly(rel) || !rel.includes('/')) continue;
    const top = rel.split('/')[0]!;
    for (const match of source.matchAll(IMPORT)) {
      const spec = match[1] ?? match[2]!;
      if (!spec.startsWith('.')) continue;
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(rel), spec));
      if (!target.includes('/') || target.startsWith('..')) continue;
      const targetTop = target.split('/')[0]!;
      if (targetTop === top) continue;
      if (!edges.has(top)) edges.set(top, new Set());
      edges.get(top)!.add(targetTop);
      if (top === 'core') problems.push(`core imports ${targetTop}: ${rel} -> ${spec}`);
      if (top === 'detectors' && targetTop === 'models' && target !== 'models/index.ts') problems.push(`detectors reaches into models: ${rel} -> ${spec}`);
    }
  }
  return { edges, problems };
}

/** Cycles between top-level folders (each strongly connected group of more than one folder, once). */
export function folderCycles(edges: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  // Tarjan's strongly connected components.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1) out.push(group.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return out;
}

export function layerProblems(files: ReadonlyMap<string, string>): string[] {
  const { edges, problems } = folderEdges(files);
  return [...problems, ...folderCycles(edges).map((group) => `cycle between folders: ${group.join(', ')}`)];
}

/** Every TypeScript and JavaScript source of the checkout at `root`, by path relative to it. */
export function readSources(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) walk(rel);
      } else if (/\.(ts|mts|js|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) {
        files.set(rel, readFileSync(path.join(root, rel), 'utf8'));
      }
    }
  };
  walk('');
  return files;
}
