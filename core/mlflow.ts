/**
 * A small typed client for the MLflow 2.0 REST API (tracking, artifact proxy, model registry), on fetch.
 * Unreachable server -> UnavailableError naming the URL; an MLflow error answer -> MlflowError with its error_code.
 */
import { systemClock, type Clock } from './clock.ts';
import { PeregrineError, UnavailableError, errorMessage } from './errors.ts';

export interface MlflowTag { key: string; value: string }
export interface MlflowMetric { key: string; value: number; timestamp: number; step?: number }
export interface MlflowParam { key: string; value: string }

export interface Experiment {
  experiment_id: string;
  name: string;
  artifact_location?: string;
  lifecycle_stage?: string;
  tags?: MlflowTag[];
}

export type RunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';

export interface RunInfo {
  run_id: string;
  run_name?: string;
  experiment_id: string;
  status: RunStatus;
  start_time?: number;
  end_time?: number;
  artifact_uri: string;
  lifecycle_stage?: string;
}

export interface Run {
  info: RunInfo;
  data: { metrics?: MlflowMetric[]; params?: MlflowParam[]; tags?: MlflowTag[] };
}

export interface RegisteredModel {
  name: string;
  creation_timestamp?: number;
  last_updated_timestamp?: number;
  description?: string;
  latest_versions?: ModelVersion[];
  tags?: MlflowTag[];
  aliases?: Array<{ alias: string; version: string }>;
}

export interface ModelVersion {
  name: string;
  version: string;
  source: string;
  run_id?: string;
  status?: string;
  description?: string;
  creation_timestamp?: number;
  tags?: MlflowTag[];
  aliases?: string[];
}

export interface ArtifactFile { path: string; is_dir?: boolean; file_size?: string | number }

/** An error answer from MLflow: `{error_code, message}`. */
export class MlflowError extends PeregrineError {
  constructor(readonly status: number, readonly errorCode: string, message: string, readonly url: string) {
    // 429 and 5xx may pass; a 4xx answer will not change on retry.
    super(`mlflow ${errorCode} (${status}) from ${url}: ${message}`, { retryable: status === 429 || status >= 500 });
  }
}

/** MLflow's per-request limits for runs/log-batch. */
export const LOG_BATCH_LIMITS = { metrics: 1000, params: 100, tags: 100, total: 1000 } as const;
/** Longer values are silently truncated by the server; we refuse them instead. */
export const VALUE_LIMITS = { paramValue: 6000, tagValue: 8000, key: 250 } as const;

export interface LogBatch { metrics?: MlflowMetric[]; params?: MlflowParam[]; tags?: MlflowTag[] }

/** Splits a batch into requests that each respect LOG_BATCH_LIMITS, keeping the given order. Pure. */
export function chunkLogBatch(batch: LogBatch, limits = LOG_BATCH_LIMITS): Required<LogBatch>[] {
  const metrics = [...(batch.metrics ?? [])];
  const params = [...(batch.params ?? [])];
  const tags = [...(batch.tags ?? [])];
  const chunks: Required<LogBatch>[] = [];
  while (metrics.length + params.length + tags.length > 0) {
    // Params and tags first (they are few), then metrics up to the total.
    const p = params.splice(0, Math.min(limits.params, limits.total));
    const t = tags.splice(0, Math.min(limits.tags, limits.total - p.length));
    const m = metrics.splice(0, Math.min(limits.metrics, limits.total - p.length - t.length));
    chunks.push({ metrics: m, params: p, tags: t });
  }
  return chunks;
}

/** Throws a PeregrineError naming the first key or value MLflow would reject or truncate. Pure. */
export function validateLogBatch(batch: LogBatch): void {
  const check = (kind: string, key: string, value: string | undefined, max: number) => {
    if (key.length === 0 || key.length > VALUE_LIMITS.key) throw new PeregrineError(`mlflow: ${kind} key "${key.slice(0, 40)}" must be 1-${VALUE_LIMITS.key} characters`);
    if (value !== undefined && value.length > max) throw new PeregrineError(`mlflow: ${kind} "${key}" is ${value.length} characters; MLflow keeps at most ${max}`);
  };
  for (const p of batch.params ?? []) check('param', p.key, p.value, VALUE_LIMITS.paramValue);
  for (const t of batch.tags ?? []) check('tag', t.key, t.value, VALUE_LIMITS.tagValue);
  for (const m of batch.metrics ?? []) {
    check('metric', m.key, undefined, 0);
    if (typeof m.value !== 'number' || Number.isNaN(m.value)) throw new PeregrineError(`mlflow: metric "${m.key}" has no numeric value`);
  }
}

/** `mlflow-artifacts:/<exp>/<run>/artifacts` + `model/x.bin` -> `<exp>/<run>/artifacts/model/x.bin`. Pure. */
export function artifactProxyPath(artifactUri: string, relativePath = ''): string {
  const m = /^mlflow-artifacts:(?:\/\/[^/]*)?\/(.*)$/.exec(artifactUri);
  if (!m) throw new PeregrineError(`mlflow: artifact URI "${artifactUri}" is not served by the artifact proxy (start the server with --serve-artifacts)`);
  const base = m[1].replace(/\/+$/, '');
  const rel = relativePath.replace(/^\/+/, '');
  if (rel.split('/').includes('..')) throw new PeregrineError(`mlflow: artifact path "${relativePath}" must not contain ".."`);
  return rel ? `${base}/${rel}` : base;
}

const encodePath = (path: string) => path.split('/').map(encodeURIComponent).join('/');

export interface MlflowClientOptions {
  /** e.g. http://127.0.0.1:5000 */
  url: string;
  timeoutMs?: number;
  clock?: Clock;
  fetch?: typeof fetch;
}

export class MlflowClient {
  readonly url: string;
  private readonly timeoutMs: number;
  private readonly clock: Clock;
  private readonly fetchImpl: typeof fetch;

  constructor(options: MlflowClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.clock = options.clock ?? systemClock;
    this.fetchImpl = options.fetch ?? fetch;
  }

  // ---- experiments

  async createExperiment(name: string, options: { artifactLocation?: string; tags?: MlflowTag[] } = {}): Promise<string> {
    const r = await this.post<{ experiment_id: string }>('mlflow/experiments/create', { name, artifact_location: options.artifactLocation, tags: options.tags });
    return r.experiment_id;
  }

  /** undefined when no experiment has that name. */
  async getExperimentByName(name: string): Promise<Experiment | undefined> {
    const r = await this.getOrMissing<{ experiment: Experiment }>('mlflow/experiments/get-by-name', { experiment_name: name });
    return r?.experiment;
  }

  async getOrCreateExperiment(name: string): Promise<Experiment> {
    const found = await this.getExperimentByName(name);
    if (found) return found;
    try {
      await this.createExperiment(name);
    } catch (error) {
      // Another process created it meanwhile.
      if (!(error instanceof MlflowError && error.errorCode === 'RESOURCE_ALREADY_EXISTS')) throw error;
    }
    const created = await this.getExperimentByName(name);
    if (!created) throw new PeregrineError(`mlflow: experiment "${name}" vanished right after creation`);
    return created;
  }

  /** Marks an experiment deleted (MLflow keeps it, with its runs, until garbage collection). */
  async deleteExperiment(experimentId: string): Promise<void> {
    await this.post('mlflow/experiments/delete', { experiment_id: experimentId });
  }

  async restoreExperiment(experimentId: string): Promise<void> {
    await this.post('mlflow/experiments/restore', { experiment_id: experimentId });
  }

  // ---- runs

  async createRun(options: { experimentId: string; runName?: string; startTime?: number; tags?: MlflowTag[] }): Promise<Run> {
    const r = await this.post<{ run: Run }>('mlflow/runs/create', {
      experiment_id: options.experimentId, run_name: options.runName, start_time: options.startTime ?? this.clock.now(), tags: options.tags,
    });
    return r.run;
  }

  async getRun(runId: string): Promise<Run> {
    return (await this.get<{ run: Run }>('mlflow/runs/get', { run_id: runId })).run;
  }

  /** Logs metrics, params and tags, split into as many requests as MLflow's limits need. */
  async logBatch(runId: string, batch: LogBatch): Promise<void> {
    validateLogBatch(batch);
    for (const chunk of chunkLogBatch(batch)) await this.post('mlflow/runs/log-batch', { run_id: runId, ...chunk });
  }

  async logMetric(runId: string, key: string, value: number, options: { step?: number; timestamp?: number } = {}): Promise<void> {
    await this.logBatch(runId, { metrics: [{ key, value, step: options.step ?? 0, timestamp: options.timestamp ?? this.clock.now() }] });
  }

  async logParams(runId: string, params: Record<string, string | number | boolean>): Promise<void> {
    await this.logBatch(runId, { params: Object.entries(params).map(([key, value]) => ({ key, value: String(value) })) });
  }

  async setTag(runId: string, key: string, value: string): Promise<void> {
    validateLogBatch({ tags: [{ key, value }] });
    await this.post('mlflow/runs/set-tag', { run_id: runId, key, value });
  }

  async updateRun(runId: string, options: { status?: RunStatus; endTime?: number; runName?: string }): Promise<RunInfo> {
    const r = await this.post<{ run_info: RunInfo }>('mlflow/runs/update', { run_id: runId, status: options.status, end_time: options.endTime, run_name: options.runName });
    return r.run_info;
  }

  /** Marks a run finished (or failed/killed) now. */
  async finishRun(runId: string, status: 'FINISHED' | 'FAILED' | 'KILLED' = 'FINISHED'): Promise<RunInfo> {
    return this.updateRun(runId, { status, endTime: this.clock.now() });
  }

  // ---- artifacts, through the server's artifact proxy (--serve-artifacts)

  async uploadArtifact(run: Run | RunInfo, relativePath: string, body: Uint8Array | string, contentType = 'application/octet-stream'): Promise<void> {
    const url = this.artifactUrl(run, relativePath);
    await this.request('PUT', url, { body: typeof body === 'string' ? new TextEncoder().encode(body) : body, headers: { 'content-type': contentType } });
  }

  async downloadArtifact(run: Run | RunInfo, relativePath: string): Promise<Uint8Array> {
    const response = await this.request('GET', this.artifactUrl(run, relativePath));
    return new Uint8Array(await response.arrayBuffer());
  }

  async listArtifacts(run: Run | RunInfo, relativePath = ''): Promise<ArtifactFile[]> {
    const path = artifactProxyPath(info(run).artifact_uri, relativePath);
    const r = await this.get<{ files?: ArtifactFile[] }>('mlflow-artifacts/artifacts', { path });
    return r.files ?? [];
  }

  /** Lists artifacts under any `mlflow-artifacts:` URI, e.g. a model version's source. */
  async listArtifactsAt(artifactUri: string, relativePath = ''): Promise<ArtifactFile[]> {
    const r = await this.get<{ files?: ArtifactFile[] }>('mlflow-artifacts/artifacts', { path: artifactProxyPath(artifactUri, relativePath) });
    return r.files ?? [];
  }

  /** Downloads one artifact under any `mlflow-artifacts:` URI, e.g. a model version's source. */
  async downloadArtifactAt(artifactUri: string, relativePath: string): Promise<Uint8Array> {
    if (!relativePath) throw new PeregrineError('mlflow: an artifact needs a path');
    const response = await this.request('GET', `${this.url}/api/2.0/mlflow-artifacts/artifacts/${encodePath(artifactProxyPath(artifactUri, relativePath))}`);
    return new Uint8Array(await response.arrayBuffer());
  }

  private artifactUrl(run: Run | RunInfo, relativePath: string): string {
    if (!relativePath) throw new PeregrineError('mlflow: an artifact needs a path');
    return `${this.url}/api/2.0/mlflow-artifacts/artifacts/${encodePath(artifactProxyPath(info(run).artifact_uri, relativePath))}`;
  }

  // ---- model registry

  async createRegisteredModel(name: string, options: { description?: string; tags?: MlflowTag[] } = {}): Promise<RegisteredModel> {
    return (await this.post<{ registered_model: RegisteredModel }>('mlflow/registered-models/create', { name, ...options })).registered_model;
  }

  async getRegisteredModel(name: string): Promise<RegisteredModel | undefined> {
    return (await this.getOrMissing<{ registered_model: RegisteredModel }>('mlflow/registered-models/get', { name }))?.registered_model;
  }

  /** All registered models (follows page tokens). */
  async searchRegisteredModels(options: { filter?: string; pageSize?: number } = {}): Promise<RegisteredModel[]> {
    const models: RegisteredModel[] = [];
    let pageToken: string | undefined;
    do {
      const query: Record<string, string> = { max_results: String(options.pageSize ?? 100) };
      if (options.filter) query.filter = options.filter;
      if (pageToken) query.page_token = pageToken;
      const r = await this.get<{ registered_models?: RegisteredModel[]; next_page_token?: string }>('mlflow/registered-models/search', query);
      models.push(...(r.registered_models ?? []));
      pageToken = r.next_page_token || undefined;
    } while (pageToken);
    return models;
  }

  /** Deletes a registered model with all its versions (the runs and their artifacts stay). */
  async deleteRegisteredModel(name: string): Promise<void> {
    await this.requestJson('DELETE', `${this.url}/api/2.0/mlflow/registered-models/delete`, { name });
  }

  async getOrCreateRegisteredModel(name: string, options: { description?: string } = {}): Promise<RegisteredModel> {
    const found = await this.getRegisteredModel(name);
    if (found) return found;
    try {
      return await this.createRegisteredModel(name, options);
    } catch (error) {
      if (!(error instanceof MlflowError && error.errorCode === 'RESOURCE_ALREADY_EXISTS')) throw error;
      const raced = await this.getRegisteredModel(name);
      if (!raced) throw error;
      return raced;
    }
  }

  /**
   * `source` is where the model's files are, e.g. `${run.info.artifact_uri}/model`; MLflow requires the
   * matching run id with it.
   */
  async createModelVersion(options: { name: string; source: string; runId: string; description?: string; tags?: MlflowTag[] }): Promise<ModelVersion> {
    const r = await this.post<{ model_version: ModelVersion }>('mlflow/model-versions/create', {
      name: options.name, source: options.source, run_id: options.runId, description: options.description, tags: options.tags,
    });
    return r.model_version;
  }

  async getModelVersion(name: string, version: string): Promise<ModelVersion | undefined> {
    return (await this.getOrMissing<{ model_version: ModelVersion }>('mlflow/model-versions/get', { name, version }))?.model_version;
  }

  async searchModelVersions(name: string, maxResults = 1000): Promise<ModelVersion[]> {
    const filter = `name='${name.replace(/'/g, "\\'")}'`;
    const r = await this.get<{ model_versions?: ModelVersion[] }>('mlflow/model-versions/search', { filter, max_results: String(maxResults) });
    return r.model_versions ?? [];
  }

  async setModelVersionTag(name: string, version: string, key: string, value: string): Promise<void> {
    await this.post('mlflow/model-versions/set-tag', { name, version, key, value });
  }

  async setAlias(name: string, alias: string, version: string): Promise<void> {
    await this.post('mlflow/registered-models/alias', { name, alias, version });
  }

  /** The version an alias points at; undefined when the alias is not set (MLflow answers 400 for that). */
  async getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion | undefined> {
    try {
      return (await this.get<{ model_version: ModelVersion }>('mlflow/registered-models/alias', { name, alias })).model_version;
    } catch (error) {
      if (error instanceof MlflowError && (error.status === 404 || (error.status === 400 && /alias/i.test(error.message)))) return undefined;
      throw error;
    }
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    // MLflow reads DELETE parameters from a JSON body, not the query.
    await this.requestJson('DELETE', `${this.url}/api/2.0/mlflow/registered-models/alias`, { name, alias });
  }

  // ---- transport

  private async get<T>(path: string, query: Record<string, string>): Promise<T> {
    return this.requestJson<T>('GET', `${this.url}/api/2.0/${path}?${new URLSearchParams(query)}`);
  }

  private async getOrMissing<T>(path: string, query: Record<string, string>): Promise<T | undefined> {
    try {
      return await this.get<T>(path, query);
    } catch (error) {
      if (error instanceof MlflowError && error.errorCode === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      throw error;
    }
  }

  private async post<T = unknown>(path: string, body: unknown): Promise<T> {
    return this.requestJson<T>('POST', `${this.url}/api/2.0/${path}`, body);
  }

  private async requestJson<T>(method: string, url: string, body?: unknown): Promise<T> {
    const response = await this.request(method, url, body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    const text = await response.text();
    return (text ? JSON.parse(text) : {}) as T;
  }

  private async request(method: string, url: string, init: { body?: Uint8Array | string; headers?: Record<string, string> } = {}): Promise<Response> {
    let response: Response;
    try {
      response = await this.fetchImpl(url, { method, ...init, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (error) {
      const code = (error as { cause?: { code?: string } }).cause?.code;
      throw new UnavailableError('mlflow', `${this.url} unreachable (${code ?? errorMessage(error)})`, { cause: error });
    }
    if (response.ok) return response;
    const text = await response.text().catch(() => '');
    if (response.status === 502 || response.status === 503 || response.status === 504) {
      throw new UnavailableError('mlflow', `${this.url} answered ${response.status} for ${method} ${stripQuery(url)}`);
    }
    let errorCode = `HTTP_${response.status}`;
    let message = text.slice(0, 300);
    try {
      const parsed = JSON.parse(text) as { error_code?: string; message?: string };
      errorCode = parsed.error_code ?? errorCode;
      message = parsed.message ?? message;
    } catch {
      // Unknown routes answer HTML.
    }
    throw new MlflowError(response.status, errorCode, message, `${method} ${stripQuery(url)}`);
  }
}

function info(run: Run | RunInfo): RunInfo {
  return 'info' in run ? run.info : run;
}

function stripQuery(url: string): string {
  const i = url.indexOf('?');
  return i < 0 ? url : url.slice(0, i);
}
