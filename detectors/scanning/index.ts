/** `detectors.scanning` — T1595 Active Scanning: many distinct missing paths, or a sweep of new routes, from one client. */
export { scanning as scanningDetector, ScanningConfig } from './detector.ts';
