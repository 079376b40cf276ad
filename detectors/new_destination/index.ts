/** `detectors.new_destination` — T1048 Exfiltration Over Alternative Protocol: outbound bytes with a destination the workload never used. */
export { newDestination as newDestinationDetector, NewDestinationConfig } from './detector.ts';
