/**
 * What the rest of Peregrine may use of models/: the models that score live data, how to load and follow a registered
 * model, and how requests are parsed the way the request model sees them. Detectors import models only from here.
 * TF.js takes seconds to load, so everything that needs it is loaded on first use: a process that runs no model (or a
 * command that only reads its configuration) never pays for it.
 */
import type { FollowModelOptions, LoadedModel } from './registry/follow.ts';
import type { HttpModel } from './http/model.ts';
import type { WindowModel } from './window/model.ts';

export { parseHttpRow, type HttpRequest, type HttpRow } from './http/request.ts';
export type { FollowModelOptions, HttpModel, LoadedModel, WindowModel };
export type { Calibration } from './http/model.ts';
export type { Contribution } from './http/profile.ts';
// The request scorer (signatures + the model's masked view + risk) and the live detector's training: no TF.js here.
export { maskedRow, modelView } from './http/view.ts';
export { assessRequests, type AssessedRequest, type RequestInput } from './http/assess.ts';
export type { RiskContribution } from './http/risk.ts';
export { isModelUri, parseModelUri, CHAMPION_ALIAS } from './registry/uri.ts';
export { trainHttpInChildProcess, type HttpTrainingJobFile, type HttpTrainingOutcome } from './registry/http-train-process.ts';

export async function loadWindowModel(dir: string): Promise<WindowModel> {
  return (await import('./window/model.ts')).WindowModel.load(dir);
}

export async function loadHttpModel(dir: string): Promise<HttpModel> {
  return (await import('./http/model.ts')).HttpModel.load(dir);
}

/** Loads the model a detector's configuration names and follows its alias (registry/follow.ts). */
export async function followModel<M extends { dispose(): void }>(options: FollowModelOptions<M>): Promise<{ loaded: LoadedModel<M>; stop(): void }> {
  return (await import('./registry/follow.ts')).followModel(options);
}
export { SeriesDetector, DEFAULT_SERIES_DETECTOR, type SeriesDetectorOptions, type SeriesDetectorState } from './series/detector.ts';
