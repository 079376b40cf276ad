/**
 * What the rest of Peregrine may use of models/: the models that score live data, how to load and follow a registered
 * model, and how requests are parsed the way the request model sees them. Detectors import models only from here.
 */
export { WindowModel } from './window/model.ts';
export { HttpModel, type Calibration } from './http/model.ts';
export { parseHttpRow, type HttpRequest, type HttpRow } from './http/request.ts';
export { maskedRow, modelView } from './http/view.ts';
export type { Contribution } from './http/profile.ts';
export { assessRequests, type AssessedRequest, type RequestInput } from './http/assess.ts';
export type { RiskContribution } from './http/risk.ts';
export { followModel, type LoadedModel, type FollowModelOptions } from './registry/follow.ts';
export { isModelUri, parseModelUri, CHAMPION_ALIAS } from './registry/uri.ts';
export { trainHttpInChildProcess, type HttpTrainingJobFile, type HttpTrainingOutcome } from './registry/http-train-process.ts';
