/** Shannon entropy helpers (bits). Pure. */

/** Entropy of a distribution given by counts: −Σ p·log2 p. */
export function entropyOfCounts(counts: Iterable<number>, total: number): number {
  if (total <= 0) return 0;
  let h = 0;
  for (const c of counts) if (c > 0) h -= (c / total) * Math.log2(c / total);
  return h;
}

/**
 * Entropy of a distribution of which a sample of items is counted exactly and the rest (`restCount` occurrences
 * over `restItems` distinct items) is only known in total: the rest is taken as spread evenly over its items.
 */
export function entropyWithRest(keptCounts: Iterable<number>, restCount: number, restItems: number, total: number): number {
  let h = entropyOfCounts(keptCounts, total);
  if (restCount > 0 && total > 0) {
    const p = restCount / total;
    h -= p * Math.log2(p / Math.max(1, restItems));
  }
  return h;
}

const charCounts = new Uint32Array(256);
const touched = new Uint8Array(256);

/**
 * Character entropy (bits per character) of the first `limit` characters of `s`; code units above 255 share one
 * bucket per low byte, which is plenty to tell encoded or random payloads from words.
 */
export function charEntropy(s: string, limit: number): number {
  const n = Math.min(s.length, limit);
  if (n === 0) return 0;
  const used: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i) & 0xff;
    if (touched[c] === 0) {
      touched[c] = 1;
      used.push(c);
    }
    charCounts[c]++;
  }
  let h = 0;
  for (const c of used) {
    const p = charCounts[c] / n;
    h -= p * Math.log2(p);
    charCounts[c] = 0;
    touched[c] = 0;
  }
  return h;
}
