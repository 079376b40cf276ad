/** `detectors.brute_force` — T1110 Brute Force: bursts of failed logins from a client, or across many identities against a service. */
export { bruteForce as bruteForceDetector, BruteForceConfig } from './detector.ts';
