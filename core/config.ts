import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './errors.ts';
import { TOPICS } from './topics.ts';

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port');
const tls = z.strictObject({
  ca: z.string().optional().describe('path to a PEM CA bundle'),
  cert: z.string().optional(),
  key: z.string().optional(),
  rejectUnauthorized: z.boolean().default(true),
});

/** A server's own certificate and key (PEM file paths). */
const serverTls = z.strictObject({ cert: z.string(), key: z.string() });

export const KafkaConfig = z.strictObject({
  brokers: z.array(hostPort).min(1).default(['127.0.0.1:9092']),
  clientId: z.string().default('peregrine'),
  tls: tls.optional(),
  sasl: z.strictObject({
    mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
    username: z.string(),
    password: z.string(),
  }).optional(),
  /** How long start-up waits for the brokers before it gives up naming them. */
  connectTimeoutMs: z.number().int().positive().default(10_000),
});
export type KafkaConfig = z.infer<typeof KafkaConfig>;

export const ElasticsearchConfig = z.strictObject({
  url: z.url().default('http://127.0.0.1:9200'),
  username: z.string().optional(),
  password: z.string().optional(),
  apiKey: z.string().optional(),
  tls: tls.optional(),
  findingsAlias: z.string().default('peregrine-findings'),
  /** Analysts' verdicts on findings (`peregrine findings feedback`), one document per finding id. */
  feedbackIndex: z.string().default('peregrine-feedback'),
  requestTimeoutMs: z.number().int().positive().default(30_000),
});
export type ElasticsearchConfig = z.infer<typeof ElasticsearchConfig>;

/** Peregrine's own OTLP receivers (`peregrine run ingest`): OTLP/HTTP and OTLP/gRPC → Kafka, like a collector's kafka exporter. */
export const ReceiverConfig = z.strictObject({
  /** Bind address of both receivers. */
  host: z.string().default('127.0.0.1'),
  http: z.strictObject({ enabled: z.boolean().default(true), port: z.number().int().min(0).max(65535).default(4318) }).default({ enabled: true, port: 4318 }),
  grpc: z.strictObject({ enabled: z.boolean().default(true), port: z.number().int().min(0).max(65535).default(4317) }).default({ enabled: true, port: 4317 }),
  /** Largest request body as sent (compressed); bigger gets 413 / RESOURCE_EXHAUSTED. */
  maxRequestBytes: z.number().int().positive().default(8_388_608),
  /** Largest body after gzip decompression (a gzip bomb stops here). */
  maxDecompressedBytes: z.number().int().positive().default(33_554_432),
  /** Requests and decompressed bytes held until Kafka acknowledges them; more gets 429 / RESOURCE_EXHAUSTED. */
  maxInFlightRequests: z.number().int().positive().default(256),
  maxInFlightBytes: z.number().int().positive().default(268_435_456),
  /** Largest Kafka message written; bigger requests are split into several valid messages. */
  maxMessageBytes: z.number().int().min(1024).default(1_000_000),
  /** A request Kafka has not acknowledged by then gets 503 / UNAVAILABLE (the client retries). */
  kafkaTimeoutMs: z.number().int().positive().default(10_000),
  /** Retry-After (HTTP) and RetryInfo (gRPC) sent with retryable answers. */
  retryAfterSeconds: z.number().int().min(1).default(2),
  /**
   * `full`: every request is decoded as the pipeline will decode it, so a body malformed anywhere gets 400 (what a
   * collector does); `structure`: only the request/resource/scope framing is checked (cheaper).
   */
  validate: z.enum(['full', 'structure']).default('full'),
  /** One message per trace id, keyed by the trace id (the kafka exporter's partition_traces_by_id). */
  partitionTracesById: z.boolean().default(true),
  /** One message per resource, keyed by a hash of its attributes. */
  partitionMetricsByResourceAttributes: z.boolean().default(false),
  partitionLogsByResourceAttributes: z.boolean().default(false),
  /**
   * Requests per second each client address may send (a token bucket of `burst`); more get 429 / RESOURCE_EXHAUSTED
   * with Retry-After. SDKs and collectors batch, so honest clients stay far below it. 0 turns it off.
   */
  rateLimit: z.strictObject({
    requestsPerSecond: z.number().min(0).default(500),
    burst: z.number().int().min(1).default(1000),
    /** Client buckets kept; more addresses push out the least recently seen. */
    maxClients: z.number().int().min(1).default(10_000),
  }).default({ requestsPerSecond: 500, burst: 1000, maxClients: 10_000 }),
  /** When set, requests need `Authorization: Bearer <token>` (PEREGRINE__RECEIVER__AUTH_TOKEN). Never logged. */
  authToken: z.string().min(1).optional(),
  /** TLS on both receivers (PEM file paths). */
  tls: serverTls.optional(),
});
export type ReceiverConfig = z.infer<typeof ReceiverConfig>;

/** A model to load: a registry reference or a directory; '' = none. */
const ModelReference = z.string().default('').refine((s) => s === '' || !s.startsWith('models:') || /^models:\/[^@/]+(@[A-Za-z0-9_-]+|\/\d+)$/.test(s), {
  message: 'use models:/NAME@ALIAS, models:/NAME/VERSION or a directory',
});

const EntityWindowConfig = z.strictObject({
  /**
   * The entity-window model: `models:/NAME@ALIAS` or `models:/NAME/VERSION` from MLflow, or a model package directory;
   * '' leaves the detector off. With an alias, a newly promoted version is picked up while running.
   */
  model: ModelReference,
  /** Calibrated score (0–100) that raises a finding; default: the one stored with the model. */
  alertScore: z.number().min(0).max(100).optional(),
  /** Windows with fewer requests are not judged. */
  minRequests: z.number().int().min(1).default(5),
  /** How often an alias is checked for a new version (ms). */
  reloadIntervalMs: z.number().int().min(1000).default(300_000),
});

const HttpRequestConfig = z.strictObject({
  /**
   * The HTTP request model (`peregrine train http`): `models:/NAME@ALIAS`, `models:/NAME/VERSION` or a directory; ''
   * leaves the detector off. It scores server-side HTTP request events read from the spans topic.
   */
  model: ModelReference,
  /** The calibrated operating point: the share of normal requests allowed to alert (0.001 = 0.1%). */
  falsePositiveRate: z.number().gt(0).lt(1).default(0.001),
  /** Consumer group of the detector's own reading of the spans topic. */
  groupId: z.string().default('peregrine-detectors-requests'),
  reloadIntervalMs: z.number().int().min(1000).default(300_000),
});

const DetectorsConfig = z.strictObject({
  groupId: z.string().default('peregrine-detectors'),
  errorRatio: z.strictObject({
    /** Windows seen before an entity's baseline is trusted. */
    warmupWindows: z.number().int().min(1).default(3),
    minRequests: z.number().int().min(1).default(5),
    /** Error ratio above the baseline that raises a finding. */
    threshold: z.number().min(0).max(1).default(0.2),
  }).default({ warmupWindows: 3, minRequests: 5, threshold: 0.2 }),
  entityWindow: EntityWindowConfig.default(EntityWindowConfig.parse({})),
  httpRequest: HttpRequestConfig.default(HttpRequestConfig.parse({})),
});

export const Config = z.strictObject({
  kafka: KafkaConfig.default(KafkaConfig.parse({})),
  elasticsearch: ElasticsearchConfig.default(ElasticsearchConfig.parse({})),
  jaeger: z.strictObject({
    queryUrl: z.url().default('http://127.0.0.1:16686'),
    /** Base of the links written into findings (`<uiUrl>/trace/<id>`). */
    uiUrl: z.url().default('http://127.0.0.1:16686'),
  }).default({ queryUrl: 'http://127.0.0.1:16686', uiUrl: 'http://127.0.0.1:16686' }),
  mlflow: z.strictObject({ url: z.url().default('http://127.0.0.1:5000') }).default({ url: 'http://127.0.0.1:5000' }),
  topics: z.strictObject({
    spans: z.string().default(TOPICS.spans),
    metrics: z.string().default(TOPICS.metrics),
    logs: z.string().default(TOPICS.logs),
    features: z.string().default(TOPICS.features),
    findings: z.string().default(TOPICS.findings),
    deadLetter: z.string().default(TOPICS.deadLetter),
    partitions: z.number().int().min(1).max(1024).default(6),
  }).default({ spans: TOPICS.spans, metrics: TOPICS.metrics, logs: TOPICS.logs, features: TOPICS.features, findings: TOPICS.findings, deadLetter: TOPICS.deadLetter, partitions: 6 }),
  features: z.strictObject({
    groupId: z.string().default('peregrine-features'),
    windowMs: z.number().int().min(1000).default(10_000),
    /** Event time a window stays open after its end for late spans. */
    allowedLatenessMs: z.number().int().min(0).default(5_000),
    /** Windows of entities that stop sending close after this much wall time without data. */
    idleFlushMs: z.number().int().min(100).default(15_000),
  }).default({ groupId: 'peregrine-features', windowMs: 10_000, allowedLatenessMs: 5_000, idleFlushMs: 15_000 }),
  detectors: DetectorsConfig.default(DetectorsConfig.parse({})),
  receiver: ReceiverConfig.default(ReceiverConfig.parse({})),
  metrics: z.strictObject({
    host: z.string().default('127.0.0.1'),
    /** 0 picks a free port. */
    port: z.number().int().min(0).max(65535).default(9464),
    /** When set, /metrics wants `Authorization: Bearer <token>` (PEREGRINE__METRICS__AUTH_TOKEN). Never logged. */
    authToken: z.string().min(1).optional(),
    /** TLS for /metrics and /healthz (PEM file paths). */
    tls: serverTls.optional(),
  }).default({ host: '127.0.0.1', port: 9464 }),
  log: z.strictObject({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info') }).default({ level: 'info' }),
});
export type Config = z.infer<typeof Config>;

export const ENV_PREFIX = 'PEREGRINE__';

/**
 * Loads the YAML file (optional) and overlays environment variables
 * `PEREGRINE__SECTION__KEY=value` (segments match keys case-insensitively; values are YAML
 * scalars or flow lists). Validates once; the error names the bad key.
 */
export function loadConfig(options: { file?: string; env?: NodeJS.ProcessEnv; overrides?: Record<string, unknown> } = {}): Config {
  let raw: Record<string, unknown> = {};
  if (options.file) {
    let text: string;
    try {
      text = readFileSync(options.file, 'utf8');
    } catch (e) {
      throw new ConfigError(`cannot read config file ${options.file}: ${(e as Error).message}`);
    }
    try {
      raw = (parseYaml(text) as Record<string, unknown>) ?? {};
    } catch (e) {
      throw new ConfigError(`config file ${options.file} is not valid YAML: ${(e as Error).message}`);
    }
    if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`config file ${options.file} must be a YAML mapping`);
  }
  for (const [name, value] of Object.entries(options.env ?? process.env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue;
    setPath(raw, name.slice(ENV_PREFIX.length).split('__'), parseYaml(value), name);
  }
  for (const [path, value] of Object.entries(options.overrides ?? {})) setPath(raw, path.split('.'), value, path);
  return validateConfig(raw, options.file);
}

export function validateConfig(raw: unknown, source = 'configuration'): Config {
  const result = Config.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const key = [...issue.path, ...('keys' in issue ? [(issue.keys as string[])[0]] : [])].join('.');
  const what = issue.code === 'unrecognized_keys' ? 'unknown key' : issue.message;
  throw new ConfigError(`invalid ${source}: ${key || '(root)'}: ${what}`, key);
}

/** Finds the schema key a case-insensitive env segment stands for; unknown segments keep their spelling. */
function setPath(target: Record<string, unknown>, segments: string[], value: unknown, origin: string): void {
  let node = target;
  let shape: Record<string, z.ZodType> | undefined = Config.shape;
  segments.forEach((segment, i) => {
    const key = (shape && Object.keys(shape).find((k) => k.toLowerCase() === segment.toLowerCase().replaceAll('_', ''))) ?? segment;
    if (i === segments.length - 1) {
      node[key] = value;
      return;
    }
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
    shape = shape ? objectShape(shape[key]) : undefined;
  });
  void origin;
}

function objectShape(schema: z.ZodType | undefined): Record<string, z.ZodType> | undefined {
  let s: unknown = schema;
  while (s && typeof s === 'object') {
    if ('shape' in s && s.shape) return s.shape as Record<string, z.ZodType>;
    const def = (s as { def?: { innerType?: unknown } }).def;
    if (!def?.innerType) return undefined;
    s = def.innerType;
  }
  return undefined;
}
