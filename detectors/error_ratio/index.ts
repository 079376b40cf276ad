/** `detectors.error_ratio`: the error-ratio baseline of each operation (an availability fault detector). */
import { z } from 'zod';
import type { WindowDetectorFactory } from '../detector.ts';
import { ERROR_RATIO_DETECTOR, ErrorRatioDetector, type Baseline } from './detector.ts';

export const ErrorRatioConfig = z.strictObject({
  /** Windows seen before an entity's baseline is trusted. */
  warmupWindows: z.number().int().min(1).default(3),
  minRequests: z.number().int().min(1).default(5),
  /** Error ratio above the baseline that raises a finding. */
  threshold: z.number().min(0).max(1).default(0.2),
});
export type ErrorRatioConfig = z.infer<typeof ErrorRatioConfig>;

export const errorRatioDetector: WindowDetectorFactory<ErrorRatioConfig> = {
  id: ERROR_RATIO_DETECTOR,
  input: 'window',
  config: ErrorRatioConfig,
  deprecatedKey: 'errorRatio',
  create: (config, settings) => new ErrorRatioDetector(config, settings.store<Baseline>('baseline')),
};
