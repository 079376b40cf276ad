/**
 * The detectors stage: peregrine.features.v1 → every window detector → findings on the alert feed
 * (peregrine.findings.v1); and otlp_spans → every request detector → the same feed (its own consumer group). The
 * feed is the stage's only sink: Elasticsearch and the webhook read it independently (the `findings` stage), so an
 * Elasticsearch outage never stalls detection. Detector state (baselines, learned history) lives in a compacted
 * changelog and follows the partitions across restarts and instances.
 */
import type { Processor } from '../core/component.ts';
import { startConsumerStage, type ConsumerStage } from '../core/consumer-stage.ts';
import { DecodeError } from '../core/errors.ts';
import type { RequestEvent } from '../core/events.ts';
import type { IncomingRecord } from '../core/kafka/adapter.ts';
import type { Logger } from '../core/log.ts';
import { PartitionedState } from '../core/state/changelog.ts';
import type { RunningStage, StageFactory, StageSettings } from '../core/stage.ts';
import { ensureTopics } from '../core/topics.ts';
import { encodeEcsFinding, findingId } from '../findings/ecs/encode.ts';
import type { Finding } from '../findings/finding.ts';
import { findingDeadLetter, kafkaFindingsSink, type EncodedFinding } from '../findings/sinks/findings.ts';
import { decodeSpansRecord } from '../ingest/otlp/record.ts';
import { decodeFeatureVector, FEATURE_SCHEMA_FINGERPRINT, FINGERPRINT_HEADER, type FeatureVector } from '../schemas/feature-vector.ts';
import { detectorsConfig, type DetectorsConfig } from './config.ts';
import type { DetectorFactory, DetectorSettings, RequestDetector, WindowDetector } from './detector.ts';

export const DETECTORS_STAGE = 'detectors';

export interface DetectorsHooks {
  /** Called with every finding after the alert feed acknowledged it. */
  onFinding?(finding: EncodedFinding): void;
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

const decodeRequests: Processor<IncomingRecord, RequestEvent> = { name: 'decode_spans', process: decodeSpansRecord };

interface Created<D> {
  id: string;
  detector: D;
}

/** Creates the configured detectors of one input kind; a detector its configuration turns off is left out. */
async function createDetectors<D>(
  factories: readonly DetectorFactory[], input: 'window' | 'request', config: DetectorsConfig, settings: StageSettings<unknown>, state: PartitionedState, log: Logger,
): Promise<Array<Created<D>>> {
  const created: Array<Created<D>> = [];
  try {
    for (const factory of factories.filter((f) => f.input === input)) {
      const detectorSettings: DetectorSettings = {
        log: log.child({ detector: factory.id }), metrics: settings.metrics, clock: settings.clock, mlflowUrl: settings.platform.mlflow.url,
        configKey: `detectors.${factory.id}`,
        store: (name, options) => state.store(`${factory.id}/${name}`, options),
      };
      const detector = await factory.create(config[factory.id] as never, detectorSettings);
      if (detector) created.push({ id: factory.id, detector: detector as D });
    }
  } catch (e) {
    for (const c of created) (c.detector as { stop?(): void }).stop?.();
    throw e;
  }
  return created;
}

/** The detectors stage over the given detectors (the application's component list names them). */
export function detectorsStage(factories: readonly DetectorFactory[]): StageFactory<DetectorsConfig, DetectorsHooks, RunningStage, typeof DETECTORS_STAGE> {
  return {
    id: DETECTORS_STAGE,
    config: detectorsConfig(factories) as never,
    runByDefault: true,
    async create(settings, hooks = {}) {
      const { config, platform, kafka, metrics, signal } = settings;
      const log = settings.log.child({ stage: DETECTORS_STAGE });
      const topics = platform.topics;
      const stateOptions = { defaultMaxKeys: config.maxStateKeys };
      const windowState = new PartitionedState({ ...stateOptions, namespace: 'window' });
      const requestState = new PartitionedState({ ...stateOptions, namespace: 'request' });
      // Detectors first: a configured model that does not load stops start-up before anything is opened.
      const windowDetectors = await createDetectors<WindowDetector>(factories, 'window', config, settings, windowState, log);
      const requestDetectors = await createDetectors<RequestDetector>(factories, 'request', config, settings, requestState, log).catch((e: unknown) => {
        for (const d of windowDetectors) d.detector.stop?.();
        throw e;
      });
      const stopDetectors = () => { for (const d of [...windowDetectors, ...requestDetectors]) d.detector.stop?.(); };
      await ensureTopics(kafka, topics, ['features', 'spans', 'findings', 'detectorsState', 'deadLetter']);
      const producer = await kafka.producer();
      const encode = (finding: Finding): EncodedFinding => ({
        id: findingId(finding), key: finding.entityId, doc: encodeEcsFinding(finding, { jaegerUiUrl: platform.jaeger.uiUrl }),
      });
      const common = {
        kafka, producer, deadLetterTopic: topics.deadLetter, metrics, log, signal,
        sinks: [kafkaFindingsSink(producer, topics.findings)],
        deadLetterOf: (f: EncodedFinding, reason: string) => findingDeadLetter(f, reason, DETECTORS_STAGE),
        onDelivered: (found: EncodedFinding[]) => { for (const f of found) hooks.onFinding?.(f); },
      };
      const consumers: ConsumerStage[] = [];
      try {
        consumers.push(await startConsumerStage<FeatureVector, EncodedFinding>({
          ...common, stage: DETECTORS_STAGE, groupId: config.groupId, topics: [topics.features], decode: decodeFeatures,
          state: { store: windowState, topic: topics.detectorsState, inputTopic: topics.features },
          process: (items) => items.flatMap(({ item: v }) => windowDetectors.flatMap(({ detector }) => {
            const finding = detector.score(v);
            return finding ? [encode(finding)] : [];
          })),
        }));
        if (requestDetectors.length > 0) {
          consumers.push(await startConsumerStage<RequestEvent, EncodedFinding>({
            ...common, stage: DETECTORS_STAGE, groupId: config.requestsGroupId, topics: [topics.spans], decode: decodeRequests,
            state: { store: requestState, topic: topics.detectorsState, inputTopic: topics.spans },
            // The request detectors score a whole batch in one call.
            process: (items) => {
              const events = items.map((d) => d.item);
              return requestDetectors.flatMap(({ detector }) => detector.score(events).map(encode));
            },
          }));
        }
      } catch (e) {
        for (const c of consumers) await c.stop();
        await producer.close();
        stopDetectors();
        throw e;
      }
      log.info({ window: windowDetectors.map((d) => d.id), request: requestDetectors.map((d) => d.id) }, 'detectors stage consuming');
      return {
        name: DETECTORS_STAGE,
        healthy: () => consumers.every((c) => c.healthy()) && [...windowDetectors, ...requestDetectors].every((d) => d.detector.healthy?.() ?? true),
        async stop() {
          for (const c of consumers) await c.stop();
          await producer.close();
          stopDetectors();
        },
      };
    },
  };
}
