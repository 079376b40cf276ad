/** `detectors.lateral_movement` — T1021 Remote Services: an internal caller → callee edge never seen in the learned history. */
export { lateralMovement as lateralMovementDetector, LateralMovementConfig } from './detector.ts';
