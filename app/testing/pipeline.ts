import type { Client } from '@elastic/elasticsearch';
import { loadAppConfig, type AppConfig } from '../config.ts';
import type { KafkaAdapter } from '../../core/kafka/adapter.ts';

/**
 * A configuration whose topics, consumer groups and findings alias belong to one test (`name` must be unique per
 * run), with short lateness and idle flush so windows close quickly. Groups take `groups` as a suffix: a new suffix
 * reads the same topics from the start again.
 */
export function isolatedConfig(name: string, options: { groups?: string; overrides?: Record<string, unknown> } = {}): AppConfig {
  const groups = options.groups ?? 'a';
  return loadAppConfig({
    env: {},
    overrides: {
      'topics.spans': `test-${name}-spans`, 'topics.logs': `test-${name}-logs`, 'topics.metrics': `test-${name}-metrics`,
      'topics.features': `test-${name}-features`, 'topics.findings': `test-${name}-findings`,
      'topics.featurePartials': `test-${name}-feature-partials-${groups}`, 'topics.featureState': `test-${name}-feature-state-${groups}`,
      'topics.deadLetter': `test-${name}-dlq`, 'topics.detectorsState': `test-${name}-detectors-state`, 'topics.partitions': 3,
      'features.groupId': `test-${name}-features-${groups}`, 'features.idleFlushMs': 1500, 'features.allowedLatenessMs': 1000,
      'detectors.groupId': `test-${name}-detectors-${groups}`, 'detectors.requestsGroupId': `test-${name}-requests-${groups}`,
      'findings.groupId': `test-${name}-findings-${groups}`,
      'elasticsearch.findingsAlias': `test-${name}-findings`, 'metrics.port': 0,
      // The request detector judges with signatures only: learning would train and register into the shared MLflow.
      'detectors.http_request.model': '',
      ...options.overrides,
    },
  });
}

/** Polls `probe` until it gives a value. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** How many records a group has committed past on a topic, all partitions together. */
export async function committedTotal(kafka: KafkaAdapter, groupId: string, topic: string): Promise<number> {
  return (await kafka.committedOffsets(groupId, topic)).reduce((n, o) => n + Math.max(0, Number(o.offset)), 0);
}

/** Removes a test's findings indices and template (the cluster refuses wildcard deletes, so by name). */
export async function deleteFindingsIndex(es: Client, alias: string): Promise<void> {
  const names = Object.keys(await es.indices.get({ index: `${alias}-0*` }).catch(() => ({})));
  if (names.length) await es.indices.delete({ index: names });
  await es.indices.deleteIndexTemplate({ name: alias }).catch(() => undefined);
}
