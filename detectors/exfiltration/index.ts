/** `detectors.exfiltration` — T1041 Exfiltration Over C2 Channel: response bytes far above the client's or the route's baseline. */
export { exfiltration as exfiltrationDetector, ExfiltrationConfig } from './detector.ts';
