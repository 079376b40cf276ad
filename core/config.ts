/**
 * Configuration: one YAML file overlaid by environment variables `PEREGRINE__SECTION__KEY=value`, validated once at
 * start-up against one schema; an error names the key. The platform sections (Kafka, Elasticsearch, Jaeger, MLflow,
 * topics, metrics, logging) are defined here; each component (stage, detector) defines its own section in its own
 * folder, and `app/config.ts` composes them into the application's schema.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './errors.ts';
import { TOPIC_TABLE, type TopicId } from './topics.ts';

/** A section whose every key has a default: absent from the file, it is its defaults. */
export function section<S extends z.ZodType>(schema: S): z.ZodDefault<S> {
  return schema.default(schema.parse({}) as never);
}

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port');
export const ClientTls = z.strictObject({
  ca: z.string().optional().describe('path to a PEM CA bundle'),
  cert: z.string().optional(),
  key: z.string().optional(),
  rejectUnauthorized: z.boolean().default(true),
});

/** A server's own certificate and key (PEM file paths). */
export const ServerTls = z.strictObject({ cert: z.string(), key: z.string() });

export const KafkaConfig = z.strictObject({
  brokers: z.array(hostPort).min(1).default(['127.0.0.1:9092']),
  clientId: z.string().default('peregrine'),
  tls: ClientTls.optional(),
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
  tls: ClientTls.optional(),
  findingsAlias: z.string().default('peregrine-findings'),
  /** Analysts' verdicts on findings (`peregrine findings feedback`), one document per finding id. */
  feedbackIndex: z.string().default('peregrine-feedback'),
  requestTimeoutMs: z.number().int().positive().default(30_000),
});
export type ElasticsearchConfig = z.infer<typeof ElasticsearchConfig>;

/** Topic names by table id (core/topics.ts), and the partitions of the pipeline's topics. */
export const TopicsConfig = z.strictObject({
  ...Object.fromEntries(TOPIC_TABLE.map((t) => [t.id, z.string().min(1).default(t.name)])) as Record<TopicId, z.ZodDefault<z.ZodString>>,
  /** Partitions of every topic keyed by entity or trace (the most instances of a stage that share the work). */
  partitions: z.number().int().min(1).max(1024).default(6),
});
export type TopicsConfig = z.infer<typeof TopicsConfig>;

export const MetricsConfig = z.strictObject({
  host: z.string().default('127.0.0.1'),
  /** 0 picks a free port. */
  port: z.number().int().min(0).max(65535).default(9464),
  /** When set, /metrics wants `Authorization: Bearer <token>` (PEREGRINE__METRICS__AUTH_TOKEN). Never logged. */
  authToken: z.string().min(1).optional(),
  /** TLS for /metrics and /healthz (PEM file paths). */
  tls: ServerTls.optional(),
});

/** The sections every process shares, whatever components it runs. */
export const PLATFORM_SECTIONS = {
  kafka: section(KafkaConfig),
  elasticsearch: section(ElasticsearchConfig),
  jaeger: section(z.strictObject({
    queryUrl: z.url().default('http://127.0.0.1:16686'),
    /** Base of the links written into findings (`<uiUrl>/trace/<id>`). */
    uiUrl: z.url().default('http://127.0.0.1:16686'),
  })),
  mlflow: section(z.strictObject({ url: z.url().default('http://127.0.0.1:5000') })),
  topics: section(TopicsConfig),
  metrics: section(MetricsConfig),
  log: section(z.strictObject({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info') })),
};

export const PlatformConfig = z.strictObject(PLATFORM_SECTIONS);
export type PlatformConfig = z.infer<typeof PlatformConfig>;

/** The application's schema: the platform sections and one section per component, each defaulted. */
export function configSchema<S extends Record<string, z.ZodType>>(components: S) {
  const sections = Object.fromEntries(Object.entries(components).map(([key, schema]) => [key, section(schema)])) as { [K in keyof S]: z.ZodDefault<S[K]> };
  return z.strictObject({ ...PLATFORM_SECTIONS, ...sections });
}

/** A key that moved: still read for one release, with a warning naming the new key. Paths are dotted. */
export interface DeprecatedKey {
  from: string;
  to: string;
}

export const ENV_PREFIX = 'PEREGRINE__';

export interface LoadConfigOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Dotted paths → values, applied last (tests). */
  overrides?: Record<string, unknown>;
}

export interface ConfigSource<C> {
  schema: z.ZodType<C>;
  deprecated?: readonly DeprecatedKey[];
  /** Told about each deprecated key in use (the CLI logs it as a warning). */
  onDeprecated?(key: DeprecatedKey): void;
}

/** What a command needs to read the configuration: the application passes its own loader in. */
export type LoadConfig<C extends PlatformConfig = PlatformConfig> = (options?: LoadConfigOptions) => C;

/**
 * Loads the YAML file (optional) and overlays environment variables `PEREGRINE__SECTION__KEY=value` (segments match
 * keys case-insensitively, underscores ignored; values are YAML scalars or flow lists). Validates once; the error
 * names the bad key.
 */
export function loadConfig<C>(source: ConfigSource<C>, options: LoadConfigOptions = {}): C {
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
    setPath(raw, name.slice(ENV_PREFIX.length).split('__'), parseYaml(value), source.schema);
  }
  for (const [path, value] of Object.entries(options.overrides ?? {})) setPath(raw, path.split('.'), value, source.schema);
  moveDeprecatedKeys(raw, source.deprecated ?? [], source.onDeprecated);
  return validateConfig(source.schema, raw, options.file);
}

export function validateConfig<C>(schema: z.ZodType<C>, raw: unknown, source = 'configuration'): C {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const key = [...issue.path, ...('keys' in issue ? [(issue.keys as string[])[0]] : [])].join('.');
  const what = issue.code === 'unrecognized_keys' ? 'unknown key' : issue.message;
  throw new ConfigError(`invalid ${source}: ${key || '(root)'}: ${what}`, key);
}

/** Moves each deprecated key to its new place (the new key wins when both are given) and reports it. */
export function moveDeprecatedKeys(raw: Record<string, unknown>, deprecated: readonly DeprecatedKey[], onDeprecated?: (key: DeprecatedKey) => void): void {
  for (const key of deprecated) {
    const from = key.from.split('.');
    const parent = walk(raw, from.slice(0, -1), false);
    const last = from.at(-1)!;
    if (!parent || !(last in parent)) continue;
    const value = parent[last];
    delete parent[last];
    const to = key.to.split('.');
    const target = walk(raw, to.slice(0, -1), true)!;
    const name = to.at(-1)!;
    target[name] = isPlainObject(value) && isPlainObject(target[name]) ? { ...value, ...target[name] } : target[name] ?? value;
    onDeprecated?.(key);
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function walk(raw: Record<string, unknown>, path: string[], create: boolean): Record<string, unknown> | undefined {
  let node = raw;
  for (const segment of path) {
    if (!isPlainObject(node[segment])) {
      if (!create) return undefined;
      node[segment] = {};
    }
    node = node[segment] as Record<string, unknown>;
  }
  return node;
}

const normalize = (key: string) => key.toLowerCase().replaceAll('_', '');

/** Finds the schema key a case-insensitive segment stands for; unknown segments keep their spelling. */
function setPath(target: Record<string, unknown>, segments: string[], value: unknown, schema: z.ZodType): void {
  let node = target;
  let shape = objectShape(schema);
  segments.forEach((segment, i) => {
    const key = (shape && Object.keys(shape).find((k) => normalize(k) === normalize(segment))) ?? segment;
    if (i === segments.length - 1) {
      node[key] = value;
      return;
    }
    if (!isPlainObject(node[key])) node[key] = {};
    node = node[key] as Record<string, unknown>;
    shape = shape ? objectShape(shape[key]) : undefined;
  });
}

function objectShape(schema: unknown): Record<string, z.ZodType> | undefined {
  let s: unknown = schema;
  while (s && typeof s === 'object') {
    if ('shape' in s && s.shape) return s.shape as Record<string, z.ZodType>;
    const def = (s as { def?: { innerType?: unknown } }).def;
    if (!def?.innerType) return undefined;
    s = def.innerType;
  }
  return undefined;
}
