/** `detectors.series` — The streaming series detector (models/series) on each entity's rate, error ratio, p95 latency and bytes. */
export { series as seriesDetector, SeriesConfig } from './detector.ts';
