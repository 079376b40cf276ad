/**
 * Each scenario run is isolated: its own topics, consumer groups (every `groupId` in the configuration, whatever stage
 * or detector it belongs to), findings alias and receiver port, all named after a run id; afterwards they are deleted
 * (topics, groups, indices, template), so nothing leaks between runs and nothing of anyone else's is touched.
 */
import type { Client } from '@elastic/elasticsearch';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { errorMessage } from '../../core/errors.ts';
import { waitForLeaders } from '../../core/kafka/kafkajs.ts';
import { kafkaClientTls } from '../../core/kafka/tls.ts';
import { MlflowClient } from '../../core/mlflow.ts';
import type { Logger } from '../../core/log.ts';
import type { DemoConfig } from '../pipeline.ts';

export const RUN_PREFIX = 'peregrine-eval';

/** A run id: the scenario's name and a unique suffix (Kafka and Elasticsearch names allow [a-z0-9-]). */
export function runId(scenario: string, now = Date.now()): string {
  return `${scenario}-${now.toString(36)}${Math.floor(Math.random() * 1296).toString(36).padStart(2, '0')}`;
}

/** A name of the run's own (topics, alias, groups). */
export function runName(id: string, what: string): string {
  return `${RUN_PREFIX}-${id}-${what}`;
}

/** Every consumer group (`groupId`, `…GroupId`) anywhere in a configuration object gets the run's prefix. */
function isolateGroups(value: unknown, id: string): void {
  if (!value || typeof value !== 'object') return;
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if ((key === 'groupId' || key.endsWith('GroupId')) && typeof v === 'string') (value as Record<string, unknown>)[key] = runName(id, v);
    else isolateGroups(v, id);
  }
}

/** `models:/NAME@ALIAS`: a model reference a detector follows, and learns into when `learn` is on. */
const LEARNED_MODEL = /^models:\/([^@/]+)@(.+)$/;

/**
 * Detectors that learn their model from live traffic (`learn: true`, `model: models:/NAME@ALIAS`) learn into the run's
 * own registered model and experiment: a run starts from nothing, as its baselines do, and never promotes what it
 * learnt from the shop over the model everyone else on the stack follows.
 */
function isolateLearnedModels(detectors: Record<string, any>, id: string): void {
  for (const section of Object.values(detectors)) {
    if (!section || typeof section !== 'object' || section.learn !== true || typeof section.model !== 'string') continue;
    const m = LEARNED_MODEL.exec(section.model);
    if (!m) continue;
    const name = runName(id, m[1]!);
    section.model = `models:/${name}@${m[2]}`;
    if (typeof section.experiment === 'string') section.experiment = runName(id, section.experiment);
  }
}

/** Deletes the registered models and experiments a run's learning detectors wrote to (only the run's own). */
export async function deleteRunModels(config: DemoConfig, id: string, log: Logger): Promise<void> {
  const mlflow = new MlflowClient({ url: config.mlflow.url });
  for (const section of Object.values(config.detectors as Record<string, any>)) {
    const m = section && typeof section === 'object' && section.learn === true && typeof section.model === 'string' ? LEARNED_MODEL.exec(section.model) : null;
    if (!m || !belongsToRun(m[1]!, id)) continue;
    await mlflow.deleteRegisteredModel(m[1]!).catch((e: unknown) => log.debug({ model: m[1], err: errorMessage(e) }, 'no registered model to delete'));
    const experiment = typeof section.experiment === 'string' && belongsToRun(section.experiment, id)
      ? await mlflow.getExperimentByName(section.experiment).catch(() => undefined) : undefined;
    if (experiment) await mlflow.deleteExperiment(experiment.experiment_id).catch((e: unknown) => log.warn({ experiment: section.experiment, err: errorMessage(e) }, 'could not delete the run\'s experiment'));
  }
}

/**
 * The run's configuration: the user's, with the run's topics, groups, alias, learned models, a receiver on a free port
 * and metrics on one too. `sharedFindings` keeps the configured findings alias and alert topic (the demo shows its
 * findings where Kibana and the console look; finding ids never collide across runs) and the models the stack follows.
 */
export function isolateConfig<C extends DemoConfig>(base: C, id: string, options: { sharedFindings?: boolean } = {}): C {
  const raw = structuredClone(base) as unknown as Record<string, any>;
  const name = (what: string) => runName(id, what);
  for (const key of Object.keys(raw.topics)) if (key !== 'partitions' && !(options.sharedFindings && key === 'findings')) raw.topics[key] = name(key);
  isolateGroups(raw, id);
  if (!options.sharedFindings) {
    raw.elasticsearch.findingsAlias = name('findings');
    raw.elasticsearch.feedbackIndex = name('feedback');
    isolateLearnedModels(raw.detectors, id);
  }
  raw.receiver = { ...raw.receiver, host: '127.0.0.1', http: { enabled: true, port: 0 }, grpc: { enabled: false, port: 0 } };
  raw.metrics = { ...raw.metrics, port: 0 };
  return raw as unknown as C;
}

/** Names a run created, for clean-up: everything carrying the run's prefix. */
export function belongsToRun(name: string, id: string): boolean {
  return name.includes(runName(id, ''));
}

export class RunAdmin {
  private admin?: Admin;

  constructor(private readonly config: DemoConfig, private readonly id: string, private readonly log: Logger) {}

  private async connect(): Promise<Admin> {
    if (!this.admin) {
      const k = this.config.kafka;
      const kafka = new Kafka({
        clientId: `${k.clientId}-eval`, brokers: k.brokers, logLevel: logLevel.NOTHING,
        ssl: kafkaClientTls(k.tls),
        sasl: k.sasl as never,
      });
      const admin = kafka.admin();
      await admin.connect();
      this.admin = admin;
    }
    return this.admin;
  }

  /**
   * Creates the run's topics before the stages start (they would create them too, but kafkajs' wait for new leaders can
   * throw outside any caller on a loaded broker): no waiting inside createTopics, then polling until leaders exist.
   */
  async createTopics(): Promise<void> {
    const admin = await this.connect();
    const t = this.config.topics;
    const specs = [t.spans, t.metrics, t.logs, t.features, t.findings].filter((topic) => belongsToRun(topic, this.id)).map((topic) => ({ topic, numPartitions: t.partitions, replicationFactor: 1 }));
    if (belongsToRun(t.deadLetter, this.id)) specs.push({ topic: t.deadLetter, numPartitions: 1, replicationFactor: 1 });
    const existing = new Set(await admin.listTopics());
    const missing = specs.filter((s) => !existing.has(s.topic));
    if (missing.length) await admin.createTopics({ topics: missing, waitForLeaders: false });
    await waitForLeaders(admin, specs.map((s) => s.topic));
  }

  /** Records not yet committed by the run's consumer groups, over the topics they have committed on; -1 if a group has not committed at all yet. */
  async lag(): Promise<number> {
    const id = this.id;
    const admin = await this.connect();
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => belongsToRun(g, id));
    let total = 0;
    for (const groupId of groups) {
      const committed = await admin.fetchOffsets({ groupId });
      for (const t of committed) {
        const ends = await admin.fetchTopicOffsets(t.topic);
        for (const p of t.partitions) {
          const end = Number(ends.find((e) => e.partition === p.partition)?.high ?? 0);
          const at = Number(p.offset);
          total += at < 0 ? end : Math.max(0, end - at);
        }
      }
    }
    return total;
  }

  /** Deletes the run's topics and consumer groups. */
  async deleteRun(): Promise<void> {
    const id = this.id;
    try {
      const admin = await this.connect();
      const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => belongsToRun(g, id));
      if (groups.length) await admin.deleteGroups(groups).catch((e: unknown) => this.log.warn({ groups, err: errorMessage(e) }, 'could not delete the run\'s consumer groups'));
      const topics = (await admin.listTopics()).filter((t) => belongsToRun(t, id));
      if (topics.length) await admin.deleteTopics({ topics, timeout: 30_000 });
    } catch (e) {
      this.log.warn({ run: id, err: errorMessage(e) }, 'clean-up of the run\'s topics and groups failed');
    }
  }

  async close(): Promise<void> {
    await this.admin?.disconnect().catch(() => undefined);
    this.admin = undefined;
  }
}

/** Deletes a run's findings indices, their template and the feedback index (the cluster refuses wildcard deletes, so by name). */
export async function deleteRunIndices(es: Client, config: DemoConfig): Promise<void> {
  const alias = config.elasticsearch.findingsAlias;
  const names = Object.keys(await es.indices.get({ index: `${alias}-*`, ignore_unavailable: true, allow_no_indices: true }).catch(() => ({})));
  const feedback = config.elasticsearch.feedbackIndex;
  if (await es.indices.exists({ index: feedback }).catch(() => false)) names.push(feedback);
  if (names.length) await es.indices.delete({ index: names }).catch(() => undefined);
  await es.indices.deleteIndexTemplate({ name: alias }).catch(() => undefined);
}
