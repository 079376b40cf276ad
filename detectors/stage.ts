import type { Client } from '@elastic/elasticsearch';
import { bulkIndex, ensureRolloverAlias } from '../core/elasticsearch/client.ts';
import { DecodeError, errorMessage } from '../core/errors.ts';
import type { OutgoingMessage, RecordBatch } from '../core/kafka/adapter.ts';
import { deadLetter } from '../core/kafka/dead-letter.ts';
import { retryUntilDone, SerialQueue } from '../core/retry.ts';
import type { RunningStage, StageContext } from '../core/stage.ts';
import { findingsIndexTemplate } from '../schemas/elasticsearch/findings.ts';
import { decodeFeatureVector, FEATURE_SCHEMA_FINGERPRINT, FINGERPRINT_HEADER } from '../schemas/feature-vector.ts';
import { encodeEcsFinding, findingId } from './ecs/encode.ts';
import { ErrorRatioDetector } from './error_ratio/detector.ts';
import type { Finding } from './finding.ts';

export const DETECTORS_STAGE = 'detectors';

export interface DetectorsStageOptions {
  elasticsearch: Client;
  /** Called with every finding after Elasticsearch and Kafka acknowledged it. */
  onFinding?(finding: Finding, doc: Record<string, unknown>): void;
}

/**
 * peregrine.features.v1 → detectors → findings in Elasticsearch (alias peregrine-findings, id from entity, detector
 * and window) and on peregrine.findings.v1. Offsets are committed after both sinks acknowledged; a sink outage is
 * retried until it ends, so findings are delayed, never lost, and re-sent ids never duplicate.
 */
export async function startDetectorsStage(ctx: StageContext, options: DetectorsStageOptions): Promise<RunningStage> {
  const { config, kafka, metrics } = ctx;
  const log = ctx.log.child({ stage: DETECTORS_STAGE });
  const m = metrics.stage;
  const stage = DETECTORS_STAGE;
  const topics = config.topics;
  const alias = config.elasticsearch.findingsAlias;
  const es = options.elasticsearch;
  await ensureRolloverAlias(es, { alias, templateName: alias, template: findingsIndexTemplate(alias) });
  await kafka.ensureTopics([
    { topic: topics.features, partitions: topics.partitions },
    { topic: topics.findings, partitions: topics.partitions },
    { topic: topics.deadLetter, partitions: 1 },
  ]);
  const producer = await kafka.producer();
  const detector = new ErrorRatioDetector(config.detectors.errorRatio);
  const queue = new SerialQueue();
  let consuming = true;
  metrics.addHealthCheck(stage, () => consuming);

  const retrying = <T>(what: string, batch: RecordBatch, fn: () => Promise<T>) =>
    retryUntilDone(fn, {
      signal: ctx.signal,
      onRetry: async (e, attempt) => {
        m.errors.inc({ stage, kind: what });
        log.warn({ attempt, err: errorMessage(e) }, `retrying ${what}`);
        await batch.heartbeat().catch(() => undefined);
      },
    });

  async function handle(batch: RecordBatch): Promise<void> {
    const started = performance.now();
    const findings: Array<{ finding: Finding; id: string; doc: Record<string, unknown> }> = [];
    const dead: OutgoingMessage[] = [];
    for (const record of batch.records) {
      m.recordsIn.inc({ stage });
      const fingerprint = record.headers[FINGERPRINT_HEADER]?.toString();
      if (fingerprint !== undefined && fingerprint !== FEATURE_SCHEMA_FINGERPRINT) {
        dead.push(deadLetter(record, `feature schema ${fingerprint} is not the running one (${FEATURE_SCHEMA_FINGERPRINT})`, stage));
        continue;
      }
      try {
        const finding = detector.score(decodeFeatureVector(record.value));
        if (finding) findings.push({ finding, id: findingId(finding), doc: encodeEcsFinding(finding, { jaegerUiUrl: config.jaeger.uiUrl }) });
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        dead.push(deadLetter(record, e.message, stage));
      }
    }
    if (findings.length > 0) {
      await retrying('elasticsearch', batch, () => bulkIndex(es, alias, findings.map((f) => ({ id: f.id, doc: f.doc }))));
      await retrying('produce', batch, () => producer.send(topics.findings, findings.map((f) => ({
        key: f.finding.entityId, value: Buffer.from(JSON.stringify(f.doc)), headers: { 'peregrine-finding-id': f.id },
      }))));
      m.recordsOut.inc({ stage }, findings.length);
      for (const f of findings) options.onFinding?.(f.finding, f.doc);
    }
    if (dead.length > 0) {
      await retrying('produce', batch, () => producer.send(topics.deadLetter, dead));
      m.recordsDropped.inc({ stage, reason: 'undecodable' }, dead.length);
    }
    const last = batch.records.at(-1);
    if (last) {
      const next = BigInt(last.offset) + 1n;
      await batch.commit(next.toString());
      m.consumerLag.set({ stage, topic: batch.topic, partition: String(batch.partition) }, Number(BigInt(batch.highWatermark) - next));
    }
    m.processingLatency.observe({ stage }, (performance.now() - started) / 1000);
  }

  const consumer = await kafka.consume({
    groupId: config.detectors.groupId,
    topics: [topics.features],
    fromBeginning: true,
    onBatch: (batch) => queue.run(() => handle(batch)),
  });
  log.info({ topic: topics.features, alias }, 'detectors stage consuming');
  return {
    name: stage,
    async stop() {
      consuming = false;
      await consumer.stop();
      await queue.run(async () => {});
      await producer.close();
    },
  };
}
