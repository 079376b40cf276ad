/**
 * The daily load curve of a shop: quiet before dawn, a morning climb, a lunchtime bump and the evening peak. Time of
 * day is UTC of the simulated clock. A scenario's `rate` is its average over the scenario's own span, so the curve
 * shapes traffic without changing how much there is.
 */

const HOUR = 3_600_000;

/** Relative load at a time of day (mean 1 over a whole day). */
export function dailyFactor(timeMs: number): number {
  const h = (((timeMs % (24 * HOUR)) + 24 * HOUR) % (24 * HOUR)) / HOUR;
  return 1 + 0.55 * Math.cos((2 * Math.PI * (h - 20)) / 24) + 0.12 * Math.cos((2 * Math.PI * (h - 13)) / 12);
}

/** The curve's mean over [startMs, endMs) (numerically, one-minute steps). */
export function meanFactor(startMs: number, endMs: number): number {
  const step = 60_000;
  let sum = 0;
  let n = 0;
  for (let t = startMs; t < endMs; t += step) {
    sum += dailyFactor(t);
    n++;
  }
  return n === 0 ? dailyFactor(startMs) : sum / n;
}

/** Requests per second at `timeMs` for a scenario averaging `rate` over [startMs, endMs). */
export function rateCurve(rate: number, startMs: number, endMs: number): (timeMs: number) => number {
  const mean = meanFactor(startMs, endMs);
  return (t) => (rate * dailyFactor(t)) / mean;
}

/**
 * Where simulated time starts: 06:00 UTC of the most recent day on which the whole scenario (and a margin) lies in the
 * past, so event times are recent, repeatable in time of day, and never in the future.
 */
export function simulatedStart(nowMs: number, durationMs: number, marginMs = 10 * 60_000): number {
  const day = 24 * HOUR;
  let start = Math.floor(nowMs / day) * day + 6 * HOUR;
  while (start + durationMs + marginMs > nowMs) start -= day;
  return start;
}
