import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAppConfig } from '../app/config.ts';
import { committedTotal, waitFor } from '../app/testing/pipeline.ts';
import type { KafkaAdapter } from '../core/kafka/adapter.ts';
import { createKafkaAdapter } from '../core/kafka/kafkajs.ts';
import { createLogger } from '../core/log.ts';
import { decodeFeatureVector, FINGERPRINT_HEADER } from '../schemas/feature-vector.ts';
import { mergeGroupOf } from './config.ts';
import { logMessages, spanMessages } from './testing/input.ts';
import { startFeaturesProcess, stopProcess } from './testing/process.ts';
import { readTopic, topicSize } from './testing/topics.ts';

const name = `feat-scale-${process.pid}-${Date.now()}`;
const topics = { spans: `test-${name}-spans`, logs: `test-${name}-logs`, metrics: `test-${name}-metrics`, dlq: `test-${name}-dlq` };
const log = createLogger({ level: 'warn' });
const kafka: KafkaAdapter = createKafkaAdapter(loadAppConfig({ env: {} }).kafka, log);
const T0 = Date.now() - 15 * 60_000;
let spanCount = 0;
let logCount = 0;
let laterSpans: Array<{ key: string; value: Buffer }> = [];

function overrides(run: string): Record<string, unknown> {
  return {
    'topics.spans': topics.spans, 'topics.logs': topics.logs, 'topics.metrics': topics.metrics, 'topics.deadLetter': topics.dlq,
    'topics.features': `test-${name}-features-${run}`, 'topics.partitions': 3,
    'topics.featurePartials': `test-${name}-partials-${run}`, 'topics.featureState': `test-${name}-state-${run}`,
    // Long enough that no partition goes idle between the two halves of the input (see the test).
    'features.groupId': `test-${name}-${run}`, 'features.idleFlushMs': 15_000, 'features.allowedLatenessMs': 1000, 'metrics.port': 0,
  };
}

/** `peregrine run features`, as a deployment starts it. */
const startProcess = (run: string) => startFeaturesProcess(overrides(run));

const committed = (group: string, topic: string) => committedTotal(kafka, group, topic);

/** Waits until a run read all its input, merged every partial and its output stopped growing. */
async function finished(run: string): Promise<Map<string, string>> {
  const group = `test-${name}-${run}`;
  const partialsTopic = `test-${name}-partials-${run}`;
  let lastSize = -1;
  await waitFor(`run ${run} to finish`, async () => {
    const sourceDone = (await committed(group, topics.spans)) === spanCount && (await committed(group, topics.logs)) === logCount;
    const partials = await topicSize(kafka, partialsTopic).catch(() => -1);
    const mergeDone = partials > 0 && (await committed(mergeGroupOf(group), partialsTopic)) === partials;
    const size = await topicSize(kafka, `test-${name}-features-${run}`).catch(() => 0);
    const stable = size > 0 && size === lastSize;
    lastSize = size;
    return sourceDone && mergeDone && stable ? true : undefined;
  }, 170_000);
  const vectors = new Map<string, string>();
  for (const r of await readTopic(kafka, `test-${name}-features-${run}`)) {
    const v = decodeFeatureVector(r.value, r.headers[FINGERPRINT_HEADER]?.toString());
    const key = `${v.entityId}@${v.windowStartMs}`;
    const value = r.value.toString('base64');
    // identical duplicates are allowed; two different vectors for one (entity, window) are not
    expect(vectors.get(key) ?? value).toBe(value);
    vectors.set(key, value);
  }
  return vectors;
}

describe('features stage on the real stack', () => {
  beforeAll(async () => {
    await kafka.ensureTopics([topics.spans, topics.logs, topics.metrics].map((topic) => ({ topic, partitions: 3 })));
    const producer = await kafka.producer();
    const spans = await spanMessages(T0, 5 * 60_000, 1500);
    const logs = logMessages(T0, 5 * 60_000, 120);
    // The first half now; the second once the pair is running and one of them was killed (a stream, not a backlog).
    for (let i = 0; i < 750; i += 100) await producer.send(topics.spans, spans.slice(i, Math.min(750, i + 100)));
    laterSpans = spans.slice(750);
    await producer.send(topics.logs, logs);
    spanCount = spans.length;
    logCount = logs.length;
    await producer.close();
  }, 120_000);

  afterAll(async () => {
    await kafka.close();
  });

  it('two instances, one SIGKILLed mid-stream, give the vectors of a single instance', async () => {
    const [a, b] = await Promise.all([startProcess('pair'), startProcess('pair')]);
    const group = `test-${name}-pair`;
    // Mid-stream: the pair has committed some of the first half; the second half is not even written yet.
    await waitFor('the pair to make progress', async () => ((await committed(group, topics.spans)) > 0 ? true : undefined), 120_000);
    b.kill('SIGKILL');
    const producer = await kafka.producer();
    for (let i = 0; i < laterSpans.length; i += 100) await producer.send(topics.spans, laterSpans.slice(i, i + 100));
    await producer.close();
    const scaled = await finished('pair');
    await stopProcess(a);

    const single = await startProcess('single');
    const reference = await finished('single');
    await stopProcess(single);
    const kinds = new Set([...reference.keys()].map((k) => k.slice(0, k.indexOf(':'))));
    expect([...kinds].sort()).toEqual(['client', 'edge', 'host', 'operation', 'pod', 'process', 'service']);
    expect(scaled.size).toBe(reference.size);
    const readable = (b64: string | undefined) => (b64 === undefined ? undefined : decodeFeatureVector(Buffer.from(b64, 'base64')));
    for (const [key, value] of reference) {
      if (scaled.get(key) !== value) expect(readable(scaled.get(key)), key).toEqual(readable(value));
      expect(scaled.get(key), key).toBe(value);
    }
  }, 400_000);
});
