/**
 * What the rest of Peregrine may use of models/: the models that score live data, how to load and follow a registered
 * model, and how requests are parsed the way the request model sees them. Detectors import models only from here.
 */
export { WindowModel } from './window/model.ts';
export { HttpModel } from './http/model.ts';
export { parseHttpRow, type HttpRequest } from './http/request.ts';
export { followModel, type LoadedModel, type FollowModelOptions } from './registry/follow.ts';
