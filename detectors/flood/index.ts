/** `detectors.flood` — T1499 Endpoint Denial of Service: a request rate far above the service's or the client's baseline. */
export { flood as floodDetector, FloodConfig } from './detector.ts';
