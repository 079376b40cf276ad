/** `detectors.latency` — Latency fault: an operation's p95 latency far above its baseline (no technique). */
export { latency as latencyDetector, LatencyConfig } from './detector.ts';
