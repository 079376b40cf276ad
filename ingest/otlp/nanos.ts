/** OTLP timestamps (unsigned 64-bit unix nanoseconds) to the milliseconds events carry, exactly. */

const TWO_POW_32 = 4294967296;

/**
 * Unix nanoseconds (as 32-bit halves of an unsigned 64-bit value) to milliseconds. The integer part of
 * the milliseconds is exact; only the sub-millisecond fraction is rounded, once. Splitting 2^32 as
 * 4294 * 10^6 + 967296 keeps every intermediate below 2^53.
 */
export function nanosToMs(lo: number, hi: number): number {
  const low = hi * 967296 + lo;
  const whole = hi * 4294 + Math.floor(low / 1e6);
  return whole + (low % 1e6) / 1e6;
}

/** Difference of two unix-nano timestamps in ms; exact while the difference is below 2^53 ns. */
export function nanosDiffMs(startLo: number, startHi: number, endLo: number, endHi: number): number {
  return ((endHi - startHi) * TWO_POW_32 + (endLo - startLo)) / 1e6;
}

/** The same conversion for a BigInt (JSON strings, protobufjs Longs): identical results by construction. */
export function bigNanosToMs(nanos: bigint): number {
  const unsigned = BigInt.asUintN(64, nanos);
  return nanosToMs(Number(unsigned & 0xffffffffn), Number(unsigned >> 32n));
}

export function bigNanosDiffMs(start: bigint, end: bigint): number {
  const s = BigInt.asUintN(64, start);
  const e = BigInt.asUintN(64, end);
  return nanosDiffMs(Number(s & 0xffffffffn), Number(s >> 32n), Number(e & 0xffffffffn), Number(e >> 32n));
}
