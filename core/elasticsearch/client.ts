import { readFileSync } from 'node:fs';
import { Client, errors } from '@elastic/elasticsearch';
import type { ElasticsearchConfig } from '../config.ts';
import { PartlyRejectedError, PeregrineError, UnavailableError } from '../errors.ts';

export function createElasticsearchClient(config: ElasticsearchConfig): Client {
  return new Client({
    node: config.url,
    auth: config.apiKey ? { apiKey: config.apiKey } : config.username ? { username: config.username, password: config.password ?? '' } : undefined,
    tls: config.tls
      ? { ca: config.tls.ca ? readFileSync(config.tls.ca, 'utf8') : undefined, rejectUnauthorized: config.tls.rejectUnauthorized }
      : undefined,
    requestTimeout: config.requestTimeoutMs,
    maxRetries: 2,
  });
}

/** For one-shot commands: runs `use` with a client of the configured cluster, then closes it. */
export async function withElasticsearch<T>(elasticsearch: ElasticsearchConfig, use: (es: Client, config: ElasticsearchConfig) => Promise<T>): Promise<T> {
  const es = createElasticsearchClient(elasticsearch);
  try {
    return await use(es, elasticsearch);
  } finally {
    await es.close();
  }
}

/** Optional cluster features: the integration-test distribution lacks them, a full cluster has them. */
export interface ClusterFeatures {
  ilm: boolean;
  ingestPipelines: boolean;
}

/** Health via `_cluster/health` (the test distribution answers 405 to `GET /`, so `ping()` and `info()` fail there). */
export async function checkElasticsearch(client: Client, url: string): Promise<void> {
  try {
    const health = await client.cluster.health({ timeout: '5s' });
    if (health.status === 'red') throw new UnavailableError('elasticsearch', `cluster at ${url} is red`);
  } catch (e) {
    if (e instanceof PeregrineError) throw e;
    throw new UnavailableError('elasticsearch', `${url} unreachable: ${(e as Error).message}`, { cause: e });
  }
}

export async function detectFeatures(client: Client): Promise<ClusterFeatures> {
  const works = async (call: () => Promise<unknown>) => call().then(() => true, () => false);
  return {
    ilm: await works(() => client.ilm.getStatus()),
    ingestPipelines: await works(() => client.ingest.getPipeline()),
  };
}

/** Creates (or updates) the template and, if the alias is missing, its first index as the write index. */
/**
 * Installs the template and makes sure the write alias exists. Indices behind an existing alias get the template's
 * fields added; when an index maps a field otherwise (a conflict only a reindex can fix), that is returned, not thrown:
 * documents the index refuses then go to the dead-letter topic.
 */
export async function ensureRolloverAlias(client: Client, options: { alias: string; templateName: string; template: Record<string, unknown> }): Promise<{ mappingConflict?: string }> {
  try {
    await client.indices.putIndexTemplate({ name: options.templateName, ...options.template } as never);
  } catch (e) {
    throw new PeregrineError(`elasticsearch: cannot install index template ${options.templateName}: ${responseReason(e)}`, { retryable: !(e instanceof errors.ResponseError), cause: e });
  }
  if (await client.indices.existsAlias({ name: options.alias })) {
    // Indices made by an older template get the fields added since (adding fields is always allowed).
    const mappings = (options.template as { template?: { mappings?: { properties?: Record<string, unknown> } } }).template?.mappings;
    if (mappings?.properties) {
      try {
        await client.indices.putMapping({ index: options.alias, properties: mappings.properties } as never);
      } catch (e) {
        if (e instanceof errors.ResponseError && e.body?.error?.type === 'illegal_argument_exception') return { mappingConflict: responseReason(e) };
        throw e;
      }
    }
    return {};
  }
  try {
    await client.indices.create({ index: `${options.alias}-000001`, aliases: { [options.alias]: { is_write_index: true } } });
  } catch (e) {
    // Another instance created it first.
    if (!(e instanceof errors.ResponseError && e.body?.error?.type === 'resource_already_exists_exception')) throw e;
  }
  return {};
}

function responseReason(e: unknown): string {
  if (e instanceof errors.ResponseError) return e.body?.error?.reason ?? e.message;
  return (e as Error).message;
}

export interface BulkDocument {
  id: string;
  doc: Record<string, unknown>;
}

/**
 * Indexes documents under explicit ids, so re-sending a batch updates instead of duplicating. Throws a retryable
 * error if any item failed for a reason worth retrying; a permanently rejected item throws a non-retryable one.
 */
export async function bulkIndex(client: Client, index: string, docs: BulkDocument[]): Promise<void> {
  if (docs.length === 0) return;
  let response;
  try {
    response = await client.bulk({ operations: docs.flatMap((d) => [{ index: { _index: index, _id: d.id } }, d.doc]) });
  } catch (e) {
    throw new UnavailableError('elasticsearch', `bulk to ${index} failed: ${(e as Error).message}`, { cause: e });
  }
  if (!response.errors) return;
  const failed = response.items.map((item, i) => ({ i, result: item.index })).filter(({ result }) => result?.error);
  const first = failed[0]!.result!;
  const message = `elasticsearch: ${failed.length} of ${docs.length} documents rejected by ${index}: ${first.error!.type}: ${first.error!.reason}`;
  // Overload or a shard away: send the batch again (ids make that idempotent). Otherwise only the refused ones failed.
  if (failed.some(({ result }) => result!.status === 429 || result!.status >= 500)) throw new PeregrineError(message, { retryable: true });
  throw new PartlyRejectedError(message, failed.map(({ i }) => i));
}
