/**
 * Every component of this build, in one list: the stages `peregrine run` starts and the detectors the detectors stage
 * runs. A new detector is its folder under detectors/ plus one line here; its configuration section
 * (`detectors.<id>`) and its defaults come from its factory.
 */
import type { DetectorFactory } from '../detectors/detector.ts';
import { entityWindowDetector } from '../detectors/entity_window/index.ts';
import { errorRatioDetector } from '../detectors/error_ratio/index.ts';
import { httpRequestDetector } from '../detectors/http_request/index.ts';
import { detectorsStage } from '../detectors/stage.ts';
import { featuresStage } from '../features/stage.ts';
import { findingsStage } from '../findings/stage.ts';
import { receiverStage } from '../ingest/receiver/stage.ts';
import { ConsoleConfig } from '../console/config.ts';

export const DETECTORS: readonly DetectorFactory[] = [
  errorRatioDetector as DetectorFactory,
  entityWindowDetector as DetectorFactory,
  httpRequestDetector as DetectorFactory,
];

/** In the order they start (and stop in reverse): what produces before what consumes. */
export const STAGES = [receiverStage, featuresStage, detectorsStage(DETECTORS), findingsStage] as const;

/** Servers that are not Kafka stages, each with its configuration section: `peregrine console`. */
export const SERVERS = { console: ConsoleConfig } as const;
