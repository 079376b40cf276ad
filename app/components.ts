/**
 * Every component of this build, in one list: the stages `peregrine run` starts and the detectors the detectors stage
 * runs. A new detector is its folder under detectors/ plus one line here; its configuration section
 * (`detectors.<id>`) and its defaults come from its factory.
 */
import type { DetectorFactory } from '../detectors/detector.ts';
import { entityWindowDetector } from '../detectors/entity_window/index.ts';
import { errorRatioDetector } from '../detectors/error_ratio/index.ts';
import { httpRequestDetector } from '../detectors/http_request/index.ts';
import { bruteForceDetector } from '../detectors/brute_force/index.ts';
import { commandInterpreterDetector } from '../detectors/command_interpreter/index.ts';
import { exfiltrationDetector } from '../detectors/exfiltration/index.ts';
import { floodDetector } from '../detectors/flood/index.ts';
import { latencyDetector } from '../detectors/latency/index.ts';
import { lateralMovementDetector } from '../detectors/lateral_movement/index.ts';
import { newDestinationDetector } from '../detectors/new_destination/index.ts';
import { resourceHijackingDetector } from '../detectors/resource_hijacking/index.ts';
import { scanningDetector } from '../detectors/scanning/index.ts';
import { seriesDetector } from '../detectors/series/index.ts';
import { detectorsStage } from '../detectors/stage.ts';
import { featuresStage } from '../features/stage.ts';
import { findingsStage } from '../findings/stage.ts';
import { receiverStage } from '../ingest/receiver/stage.ts';
import { ConsoleConfig } from '../console/config.ts';

export const DETECTORS: readonly DetectorFactory[] = [
  errorRatioDetector as DetectorFactory,
  entityWindowDetector as DetectorFactory,
  httpRequestDetector as DetectorFactory,
  bruteForceDetector as DetectorFactory,
  scanningDetector as DetectorFactory,
  exfiltrationDetector as DetectorFactory,
  newDestinationDetector as DetectorFactory,
  lateralMovementDetector as DetectorFactory,
  commandInterpreterDetector as DetectorFactory,
  resourceHijackingDetector as DetectorFactory,
  floodDetector as DetectorFactory,
  latencyDetector as DetectorFactory,
  seriesDetector as DetectorFactory,
];

/** In the order they start (and stop in reverse): what produces before what consumes. */
export const STAGES = [receiverStage, featuresStage, detectorsStage(DETECTORS), findingsStage] as const;

/** Servers that are not Kafka stages, each with its configuration section: `peregrine console`. */
export const SERVERS = { console: ConsoleConfig } as const;
