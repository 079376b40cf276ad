/** `detectors.resource_hijacking` — T1496 Resource Hijacking: a CPU jump far above baseline together with a new binary. */
export { resourceHijacking as resourceHijackingDetector, ResourceHijackingConfig } from './detector.ts';
