/** Deterministic TUNE / HOLDOUT halves of a labelled set, by a hash of the row id (FNV-1a, 32 bit). */

export type Half = 'tune' | 'holdout';

export function halfOf(id: unknown): Half {
  const text = typeof id === 'string' ? id : JSON.stringify(id);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (h & 1) === 0 ? 'tune' : 'holdout';
}
