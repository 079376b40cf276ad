/**
 * The fixed tune / held-out split of NAB files used to choose the detector's hyper-parameters: within each category,
 * files ordered by the FNV-1a hash of their relative path, the first half (rounded up) to tune on, the rest held out.
 * Deterministic and independent of file contents, so it cannot be bent towards good-looking results.
 */

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export function splitByCategory(names: readonly string[]): { tune: string[]; heldOut: string[] } {
  const byCategory = new Map<string, string[]>();
  for (const name of names) {
    const category = name.includes('/') ? name.slice(0, name.indexOf('/')) : '';
    byCategory.set(category, [...(byCategory.get(category) ?? []), name]);
  }
  const tune: string[] = [];
  const heldOut: string[] = [];
  for (const category of [...byCategory.keys()].sort()) {
    const files = byCategory.get(category)!.sort((a, b) => fnv1a(a) - fnv1a(b) || (a < b ? -1 : 1));
    const half = Math.ceil(files.length / 2);
    tune.push(...files.slice(0, half));
    heldOut.push(...files.slice(half));
  }
  return { tune: tune.sort(), heldOut: heldOut.sort() };
}
