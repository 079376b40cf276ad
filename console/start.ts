/** `startConsole`: the console's server wired to the real Elasticsearch, Kafka alert feed and Jaeger query API. */
import type { PlatformConfig } from '../core/config.ts';
import { checkElasticsearch, createElasticsearchClient } from '../core/elasticsearch/client.ts';
import { createKafkaAdapter } from '../core/kafka/kafkajs.ts';
import type { Logger } from '../core/log.ts';
import { MetricsRegistry } from '../core/metrics.ts';
import { fetchJaegerTrace } from '../core/jaeger.ts';
import { feedbackOf, recordFeedback } from '../findings/feedback/store.ts';
import type { ConsoleConfig } from './config.ts';
import { FindingsReader, summarize } from './findings.ts';
import { IndexGate, LiveFindings, tailFindings } from './live.ts';
import { serveConsole } from './server.ts';
import { waterfallOf } from './trace.ts';

export const CONSOLE_STAGE = 'console';
const JAEGER_TIMEOUT_MS = 10_000;

export interface RunningConsole {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Checks Elasticsearch and Kafka (an unreachable one stops start-up naming it), starts tailing the alert feed, then
 * serves. Jaeger is asked per trace: while it is down the waterfall says so and the rest of the page works.
 */
export async function startConsole(config: PlatformConfig, settings: ConsoleConfig, log: Logger): Promise<RunningConsole> {
  const es = createElasticsearchClient(config.elasticsearch);
  const kafka = createKafkaAdapter(config.kafka, log);
  const stops: Array<() => Promise<unknown>> = [() => es.close(), () => kafka.close()];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((e: unknown) => log.warn({ err: (e as Error).message }, 'console stop step failed'));
  };
  try {
    await checkElasticsearch(es, config.elasticsearch.url);
    await kafka.checkReachable();
    const metrics = new MetricsRegistry();
    const live = new LiveFindings();
    const findings = new FindingsReader(es, config.elasticsearch.findingsAlias);
    const gate = new IndexGate({ indexed: (ids) => findings.indexed(ids), publish: (id, doc) => live.publish(summarize(id, doc), doc), log });
    gate.start();
    stops.push(async () => gate.stop());
    const feed = await tailFindings(kafka, {
      topics: config.topics, gate, log,
      onRecord: () => metrics.stage.recordsIn.inc({ stage: CONSOLE_STAGE }),
      onBad: () => metrics.stage.recordsDropped.inc({ stage: CONSOLE_STAGE, reason: 'undecodable' }),
    });
    stops.push(() => feed.stop());
    metrics.addHealthCheck(CONSOLE_STAGE, () => true);
    const served = await serveConsole({
      settings, metrics, log,
      links: { jaegerUiUrl: config.jaeger.uiUrl, kibanaUrl: settings.kibanaUrl },
      backends: {
        findings,
        live,
        feedback: {
          of: (ids) => feedbackOf(es, config.elasticsearch, ids),
          record: async (feedback) => {
            await recordFeedback(es, config.elasticsearch, feedback);
          },
        },
        traces: {
          get: async (traceId) => {
            const trace = await fetchJaegerTrace(config.jaeger.queryUrl, traceId, { signal: AbortSignal.timeout(JAEGER_TIMEOUT_MS) });
            return trace && waterfallOf(trace);
          },
        },
      },
    });
    stops.push(() => served.close());
    log.info({ url: served.url, auth: Boolean(settings.authToken), findings: config.elasticsearch.findingsAlias, feed: config.topics.findings }, 'console served');
    return { url: served.url, port: served.port, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
