/** What the static checks of deploy/compose need: Compose's variable interpolation, .dockerignore matching, and the
 * set of files the `peregrine` command loads (which the image must contain). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

/**
 * Compose interpolation of one value: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`,
 * `${VAR?error}`, `$$` (a literal `$`). A required variable that is missing throws with Compose's message.
 */
export function interpolate(value: string, vars: Record<string, string | undefined>): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, braced, colon, op, arg, bare) => {
    if (whole === '$$') return '$';
    const name = (braced ?? bare) as string;
    const v = vars[name];
    const unset = v === undefined || (colon === ':' && v === '');
    if (op === '-') return unset ? interpolate(arg as string, vars) : v!;
    if (op === '?') {
      if (unset) throw new Error(`required variable ${name} is missing a value: ${arg}`);
      return v!;
    }
    return v ?? '';
  });
}

/** Interpolates every string in a parsed Compose document. */
export function interpolateAll<T>(node: T, vars: Record<string, string | undefined>): T {
  if (typeof node === 'string') return interpolate(node, vars) as T;
  if (Array.isArray(node)) return node.map((n) => interpolateAll(n, vars)) as T;
  if (node && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateAll(v, vars)])) as T;
  return node;
}

/** A .dockerignore's patterns as one predicate over paths relative to the context (negations are refused). */
export function dockerignore(text: string): (path: string) => boolean {
  const patterns = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const negated = patterns.find((p) => p.startsWith('!'));
  if (negated) throw new Error(`negated .dockerignore patterns are not supported here: ${negated}`);
  const regexes = patterns.map((p) => {
    const body = normalize(p).replace(/^\/+/, '').split(/(\*\*\/|\*\*|\*|\?)/).map((part) => {
      if (part === '**/') return '(?:.*/)?';
      if (part === '**') return '.*';
      if (part === '*') return '[^/]*';
      if (part === '?') return '[^/]';
      return part.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }).join('');
    return new RegExp(`^${body}$`);
  });
  // A path is left out when it or one of the folders it is in matches.
  return (path) => {
    const parts = normalize(path).split('/');
    return parts.some((_, i) => regexes.some((r) => r.test(parts.slice(0, i + 1).join('/'))));
  };
}

const IMPORTS = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]|(?:^|[\s;])import\s*\(?\s*['"](\.[^'"]+)['"]|new URL\(\s*['"](\.[^'"]+)['"]\s*,\s*import\.meta\.url\s*\)/g;

/**
 * Every file the entry loads through relative imports (static and literal dynamic ones), and the files it names with
 * `new URL('./x', import.meta.url)`, relative to `root`. Test files are followed too if imported: the caller sees them.
 */
export function loadedFiles(root: string, entry: string): Set<string> {
  const seen = new Set<string>();
  const queue = [join(root, entry)];
  while (queue.length) {
    const file = queue.pop()!;
    const rel = relative(root, file);
    if (seen.has(rel)) continue;
    seen.add(rel);
    if (!/\.(ts|js|mjs)$/.test(file) || !existsSync(file)) continue;
    const source = readFileSync(file, 'utf8');
    for (const m of source.matchAll(IMPORTS)) {
      const spec = (m[1] ?? m[2] ?? m[3])!;
      const target = join(dirname(file), spec);
      if (!spec.endsWith('/')) queue.push(target);
    }
  }
  return seen;
}
