import type { Client } from '@elastic/elasticsearch';
import { deliver, processRecords, type Processor } from '../core/component.ts';
import { ensureRolloverAlias } from '../core/elasticsearch/client.ts';
import { DecodeError, errorMessage } from '../core/errors.ts';
import type { IncomingRecord, RecordBatch } from '../core/kafka/adapter.ts';
import { SerialQueue } from '../core/retry.ts';
import { kafkaTopicSink } from '../core/kafka/sink.ts';
import type { RunningStage, StageContext } from '../core/stage.ts';
import { findingsIndexTemplate } from '../schemas/elasticsearch/findings.ts';
import { decodeFeatureVector, FEATURE_SCHEMA_FINGERPRINT, FINGERPRINT_HEADER, type FeatureVector } from '../schemas/feature-vector.ts';
import { encodeEcsFinding, findingId } from '../findings/ecs/encode.ts';
import { ERROR_RATIO_DETECTOR, ErrorRatioDetector } from './error_ratio/detector.ts';
import { ENTITY_WINDOW_DETECTOR, EntityWindowDetector } from './entity_window/detector.ts';
import { HTTP_REQUEST_DETECTOR, HttpRequestDetector } from './http_request/detector.ts';
import { decodeSpansRecord } from '../ingest/otlp/record.ts';
import type { RequestEvent } from '../core/events.ts';
import type { Finding } from '../findings/finding.ts';
import { elasticsearchFindingsSink, findingDeadLetter, kafkaFindingsSink, type EncodedFinding } from '../findings/sinks/findings.ts';
import { followModel, WindowModel, HttpModel } from '../models/index.ts';

export const DETECTORS_STAGE = 'detectors';

export interface DetectorsStageOptions {
  elasticsearch: Client;
  /** Called with every finding after Elasticsearch and Kafka acknowledged it. */
  onFinding?(finding: Finding, doc: Record<string, unknown>): void;
}

/** A feature vector record → the vector; a record of another schema or garbage is dead-lettered. */
export const decodeFeatures: Processor<IncomingRecord, FeatureVector> = {
  name: 'decode_features',
  process(record) {
    const fingerprint = record.headers[FINGERPRINT_HEADER]?.toString();
    if (fingerprint !== undefined && fingerprint !== FEATURE_SCHEMA_FINGERPRINT) {
      throw new DecodeError(`feature schema ${fingerprint} is not the running one (${FEATURE_SCHEMA_FINGERPRINT})`);
    }
    return [decodeFeatureVector(record.value)];
  },
};

/** Request events of a spans record; the features stage dead-letters what does not decode. */
const decodeRequests: Processor<IncomingRecord, RequestEvent> = { name: 'decode_spans', process: decodeSpansRecord };

/**
 * peregrine.features.v1 → detectors → findings in Elasticsearch (alias peregrine-findings, id from entity, detector
 * and window) and on peregrine.findings.v1; with an HTTP request model configured, otlp_spans → request detector →
 * the same sinks (its own consumer group). Offsets are committed after both sinks acknowledged; a sink outage is
 * retried until it ends, so findings are delayed, never lost, and re-sent ids never duplicate.
 */
export async function startDetectorsStage(ctx: StageContext, options: DetectorsStageOptions): Promise<RunningStage> {
  const { config, kafka, metrics } = ctx;
  const log = ctx.log.child({ stage: DETECTORS_STAGE });
  const m = metrics.stage;
  const stage = DETECTORS_STAGE;
  const topics = config.topics;
  const alias = config.elasticsearch.findingsAlias;
  // Models first: a configured model that does not load stops start-up before anything is opened.
  const settings = config.detectors;
  let windowDetector: EntityWindowDetector | undefined;
  const windowModel = settings.entityWindow.model === '' ? undefined : await followModel({
    detector: ENTITY_WINDOW_DETECTOR, configKey: 'detectors.entityWindow.model', spec: settings.entityWindow.model, mlflowUrl: config.mlflow.url,
    reloadIntervalMs: settings.entityWindow.reloadIntervalMs, load: (dir) => WindowModel.load(dir), onChange: (next) => windowDetector?.useModel(next), metrics, log,
  });
  if (windowModel) windowDetector = new EntityWindowDetector(windowModel.loaded, { alertScore: settings.entityWindow.alertScore, minRequests: settings.entityWindow.minRequests });
  let requestDetector: HttpRequestDetector | undefined;
  const requestModel = settings.httpRequest.model === '' ? undefined : await followModel({
    detector: HTTP_REQUEST_DETECTOR, configKey: 'detectors.httpRequest.model', spec: settings.httpRequest.model, mlflowUrl: config.mlflow.url,
    reloadIntervalMs: settings.httpRequest.reloadIntervalMs, load: (dir) => HttpModel.load(dir), onChange: (next) => requestDetector?.useModel(next), metrics, log,
  }).catch((e: unknown) => {
    windowModel?.stop();
    throw e;
  });
  if (requestModel) requestDetector = new HttpRequestDetector(requestModel.loaded, { falsePositiveRate: settings.httpRequest.falsePositiveRate });
  const { mappingConflict } = await ensureRolloverAlias(options.elasticsearch, { alias, templateName: alias, template: findingsIndexTemplate(alias) });
  if (mappingConflict) log.warn({ alias, reason: mappingConflict }, 'the findings index maps a field differently from the template: findings it refuses go to the dead-letter topic; roll the alias over to fix it');
  await kafka.ensureTopics([
    { topic: topics.features, partitions: topics.partitions },
    { topic: topics.findings, partitions: topics.partitions },
    { topic: topics.deadLetter, partitions: 1 },
    ...(requestDetector ? [{ topic: topics.spans, partitions: topics.partitions }] : []),
  ]);
  const producer = await kafka.producer();
  const sinks = [elasticsearchFindingsSink(options.elasticsearch, alias), kafkaFindingsSink(producer, topics.findings)];
  const deadLetterSink = kafkaTopicSink(producer, topics.deadLetter);
  const encoded = (finding: Finding): EncodedFinding => ({ finding, id: findingId(finding), doc: encodeEcsFinding(finding, { jaegerUiUrl: config.jaeger.uiUrl }) });
  const vectorDetectors = [new ErrorRatioDetector(settings.errorRatio), ...(windowDetector ? [windowDetector] : [])];
  const score: Processor<IncomingRecord, EncodedFinding> = {
    name: 'score',
    process(record) {
      return decodeFeatures.process(record).flatMap((v) => vectorDetectors.flatMap((detector) => {
        const finding = detector.score(v);
        return finding ? [encoded(finding)] : [];
      }));
    },
  };
  const scoreVectors = (records: IncomingRecord[]) => processRecords(records, score, stage);
  // The request model scores a whole batch in one call.
  const scoreRequests = (records: IncomingRecord[]) => {
    const { items: events, deadLetters } = processRecords(records, decodeRequests, stage);
    if (deadLetters.length > 0) m.recordsDropped.inc({ stage, reason: 'undecodable_spans' }, deadLetters.length);
    return { items: requestDetector!.score(events).map(encoded), deadLetters: [] };
  };
  const queue = new SerialQueue();
  let consuming = true;
  metrics.addHealthCheck(stage, () => consuming);

  async function handle(batch: RecordBatch, scoreBatch: typeof scoreVectors): Promise<void> {
    const started = performance.now();
    m.recordsIn.inc({ stage }, batch.records.length);
    const { items, deadLetters } = scoreBatch(batch.records);
    const retry = {
      signal: ctx.signal,
      onRetry: async (e: unknown, attempt: number) => {
        m.errors.inc({ stage, kind: 'sink' });
        log.warn({ attempt, err: errorMessage(e) }, 'retrying a sink');
        await batch.heartbeat().catch(() => undefined);
      },
    };
    await deliver(sinks, items, {
      ...retry,
      // A finding a sink refuses for good (a mapping conflict, say) is kept on the dead-letter topic, not lost.
      onRejected: async (sink, rejected, error) => {
        log.error({ sink, findings: rejected.length, err: error.message }, 'findings rejected; sent to the dead-letter topic');
        await deliver([deadLetterSink], rejected.map((f) => findingDeadLetter(f, `${sink}: ${error.message}`, stage)), retry);
        m.recordsDropped.inc({ stage, reason: `rejected_by_${sink}` }, rejected.length);
      },
    });
    m.recordsOut.inc({ stage }, items.length);
    for (const f of items) options.onFinding?.(f.finding, f.doc);
    if (deadLetters.length > 0) {
      await deliver([deadLetterSink], deadLetters, retry);
      m.recordsDropped.inc({ stage, reason: 'undecodable' }, deadLetters.length);
    }
    const last = batch.records.at(-1);
    if (last) {
      const next = BigInt(last.offset) + 1n;
      await batch.commit(next.toString());
      m.consumerLag.set({ stage, topic: batch.topic, partition: String(batch.partition) }, Number(BigInt(batch.highWatermark) - next));
    }
    m.processingLatency.observe({ stage }, (performance.now() - started) / 1000);
  }

  const consumers = [await kafka.consume({
    groupId: settings.groupId,
    topics: [topics.features],
    fromBeginning: true,
    onBatch: (batch) => queue.run(() => handle(batch, scoreVectors)),
  })];
  if (requestDetector) {
    consumers.push(await kafka.consume({
      groupId: settings.httpRequest.groupId,
      topics: [topics.spans],
      fromBeginning: true,
      onBatch: (batch) => queue.run(() => handle(batch, scoreRequests)),
    }));
  }
  log.info({ topics: [topics.features, ...(requestDetector ? [topics.spans] : [])], alias, detectors: [ERROR_RATIO_DETECTOR, ...(windowDetector ? [ENTITY_WINDOW_DETECTOR] : []), ...(requestDetector ? [HTTP_REQUEST_DETECTOR] : [])] }, 'detectors stage consuming');
  return {
    name: stage,
    async stop() {
      consuming = false;
      windowModel?.stop();
      requestModel?.stop();
      for (const consumer of consumers) await consumer.stop();
      await queue.run(async () => {});
      await producer.close();
    },
  };
}
