/**
 * The findings stage: the alert feed (peregrine.findings.v1) → Elasticsearch (the findings alias, a document per
 * finding id, so a re-sent finding updates instead of duplicating). It reads the feed in its own consumer group: an
 * Elasticsearch outage delays indexing (retried until it ends, offsets committed only after Elasticsearch
 * acknowledged) without stalling detection or the feed.
 */
import type { Processor } from '../core/component.ts';
import { startConsumerStage } from '../core/consumer-stage.ts';
import { checkElasticsearch, createElasticsearchClient, ensureRolloverAlias } from '../core/elasticsearch/client.ts';
import type { IncomingRecord } from '../core/kafka/adapter.ts';
import type { RunningStage, StageFactory } from '../core/stage.ts';
import { ensureTopics } from '../core/topics.ts';
import { findingsIndexTemplate } from '../schemas/elasticsearch/findings.ts';
import { FindingsConfig } from './config.ts';
import { deliveredFindingOf } from './ecs/delivered.ts';
import { decodeFeedRecord, elasticsearchFindingsSink, findingDeadLetter, type EncodedFinding } from './sinks/findings.ts';

export const FINDINGS_STAGE = 'findings';

export interface FindingsHooks {
  /** Called with every finding once Elasticsearch acknowledged it (searchable after the next refresh). */
  onIndexed?(finding: EncodedFinding): void;
}

const decodeFeed: Processor<IncomingRecord, EncodedFinding> = { name: 'decode_finding', process: decodeFeedRecord };

export const findingsStage: StageFactory<FindingsConfig, FindingsHooks, RunningStage, typeof FINDINGS_STAGE> = {
  id: FINDINGS_STAGE,
  config: FindingsConfig,
  runByDefault: true,
  async create({ config, platform, kafka, metrics, log: parentLog, signal, clock }, hooks = {}) {
    const log = parentLog.child({ stage: FINDINGS_STAGE });
    const es = createElasticsearchClient(platform.elasticsearch);
    const producer = await (async () => {
      try {
        await checkElasticsearch(es, platform.elasticsearch.url);
        const alias = platform.elasticsearch.findingsAlias;
        const { mappingConflict } = await ensureRolloverAlias(es, { alias, templateName: alias, template: findingsIndexTemplate(alias) });
        if (mappingConflict) log.warn({ alias, reason: mappingConflict }, 'the findings index maps a field differently from the template: findings it refuses go to the dead-letter topic; roll the alias over to fix it');
        await ensureTopics(kafka, platform.topics, ['findings', 'deadLetter']);
        return await kafka.producer();
      } catch (e) {
        await es.close();
        throw e;
      }
    })();
    // Findings dead-lettered in a delivery: not indexed, so neither counted nor reported as indexed.
    const consumer = await startConsumerStage<EncodedFinding, EncodedFinding>({
      stage: FINDINGS_STAGE, groupId: config.groupId, topics: [platform.topics.findings], kafka, producer, deadLetterTopic: platform.topics.deadLetter,
      metrics, log, signal,
      decode: decodeFeed,
      process: (items) => items.map((d) => d.item),
      sinks: [elasticsearchFindingsSink(es, platform.elasticsearch.findingsAlias)],
      // A finding Elasticsearch refuses for good (a mapping conflict) is kept on the dead-letter topic, not lost.
      deadLetterOf: (f, reason) => findingDeadLetter(f, reason, FINDINGS_STAGE),
      onDelivered: (delivered) => {
        const indexedAt = clock.now();
        for (const f of delivered) {
          metrics.findingDelivered(deliveredFindingOf(f.doc, indexedAt), indexedAt);
          hooks.onIndexed?.(f);
        }
      },
    }).catch(async (e: unknown) => {
      await producer.close();
      await es.close();
      throw e;
    });
    return {
      name: FINDINGS_STAGE,
      healthy: consumer.healthy,
      async stop() {
        await consumer.stop();
        await producer.close();
        await es.close();
      },
    };
  },
};
