import { mulberry32 } from '../../core/random.ts';

/** A small seeded random source (mulberry32) so training splits, initial weights and test data repeat exactly. Pure. */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Standard normal (Box-Muller). */
  normal(): number;
  /** An integer seed for TF.js initializers. */
  seed(): number;
}

export function seededRandom(seed: number): Random {
  const next = mulberry32(seed);
  return {
    next,
    normal: () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()),
    seed: () => Math.floor(next() * 2 ** 31),
  };
}

/** Fisher-Yates in place with the given random source. */
export function shuffleInPlace<T>(items: T[], random: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random.next() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}
