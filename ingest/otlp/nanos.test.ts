import { describe, expect, it } from 'vitest';
import { bigNanosDiffMs, bigNanosToMs, nanosToMs } from './nanos.ts';

describe('unix nanos to milliseconds', () => {
  it('keeps the integer milliseconds exact and rounds the fraction once', () => {
    const cases = [0n, 1n, 999_999n, 1_000_000n, 1_764_547_200_123_456_789n, 0xffffffffffffffffn, 4_102_444_800_000_000_001n];
    for (const ns of cases) {
      const ms = bigNanosToMs(ns);
      expect(Math.floor(ms)).toBe(Number(ns / 1_000_000n));
      expect(ms).toBe(Number(ns / 1_000_000n) + Number(ns % 1_000_000n) / 1e6);
      expect(nanosToMs(Number(ns & 0xffffffffn), Number(ns >> 32n))).toBe(ms);
    }
    // Converting the 64-bit value to a double first would lose the microseconds.
    expect(bigNanosToMs(1_764_547_200_123_456_789n)).toBe(1764547200123.4568);
    const ns = 1_764_547_200_123_528_060n;
    expect(bigNanosToMs(ns)).toBe(1764547200123.528);
    expect(Number(ns) / 1e6).toBe(1764547200123.5278); // the naive conversion is off by 0.2 µs
  });

  it('computes durations from the exact difference', () => {
    expect(bigNanosDiffMs(1_764_547_200_000_000_000n, 1_764_547_200_000_000_001n)).toBe(0.000001);
    expect(bigNanosDiffMs(1_764_547_200_000_000_000n, 1_764_547_201_500_000_000n)).toBe(1500);
  });
});
