import { SpanKind } from '@opentelemetry/api';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAppConfig, type AppConfig } from '../app/config.ts';
import { startPipeline, type Pipeline } from '../app/runtime.ts';
import { isolatedConfig, waitFor } from '../app/testing/pipeline.ts';
import type { KafkaAdapter } from '../core/kafka/adapter.ts';
import { createKafkaAdapter } from '../core/kafka/kafkajs.ts';
import { createLogger } from '../core/log.ts';
import { encodeTraceRequest, sdkSpans, type TestSpan } from '../core/testing/otlp-spans.ts';
import { decodeFeatureVector, feature, FINGERPRINT_HEADER, type FeatureVector } from '../schemas/feature-vector.ts';
import { readTopic } from './testing/topics.ts';

const log = createLogger({ level: 'warn' });
const kafka: KafkaAdapter = createKafkaAdapter(loadAppConfig({ env: {} }).kafka, log);
const W = 10_000;

afterAll(async () => {
  await kafka.close();
});

function isolated(name: string): { topics: AppConfig['topics']; config: AppConfig } {
  const config = isolatedConfig(name, { overrides: { 'topics.partitions': 2, 'features.idleFlushMs': 1500 } });
  return { topics: config.topics, config };
}

/** The features stage alone, as `peregrine run features` starts it. */
const start = (config: AppConfig): Promise<Pipeline> => startPipeline(config, log, { stages: ['features'] });

/** A client's server spans on `routes`, one message per window, each record stamped 1 s after its spans. */
async function clientTraffic(t0: number, windows: number, routes: string[]): Promise<Array<{ key: string; value: Buffer; timestampMs: number }>> {
  const out = [];
  for (let w = 0; w < windows; w++) {
    const t = t0 + w * W + 1_000;
    const specs: TestSpan[] = routes.map((route, i) => ({
      service: 'frontend', name: `GET ${route}`, startMs: t + i, durationMs: 5, kind: SpanKind.SERVER,
      attributes: { 'http.request.method': 'GET', 'http.route': route, 'url.path': route, 'http.response.status_code': 200, 'client.address': '10.9.9.9' },
    }));
    specs.push({ service: 'frontend', name: 'GET catalog', startMs: t + 50, durationMs: 3, kind: SpanKind.CLIENT, attributes: { 'peer.service': 'catalog' } });
    out.push({ key: `w${w}`, value: encodeTraceRequest(await sdkSpans(specs)), timestampMs: t + 1_000 });
  }
  return out;
}

async function vectorsOf(topic: string, entityId: string, count: number): Promise<FeatureVector[]> {
  return waitFor(`${count} vectors of ${entityId}`, async () => {
    const vs = (await readTopic(kafka, topic)).map((r) => decodeFeatureVector(r.value, r.headers[FINGERPRINT_HEADER]?.toString())).filter((v) => v.entityId === entityId);
    return vs.length >= count ? vs.sort((a, b) => a.windowStartMs - b.windowStartMs) : undefined;
  }, 120_000);
}

describe('features stage state on the real stack', () => {
  it('a restarted stage restores its first-seen history from the state topic: no re-learning', async () => {
    const { topics, config } = isolated(`feat-restart-${process.pid}-${Date.now()}`);
    await kafka.ensureTopics([{ topic: topics.spans, partitions: 2 }]);
    const producer = await kafka.producer();
    const t0 = Math.floor((Date.now() - 30 * 60_000) / W) * W;
    await producer.send(topics.spans, await clientTraffic(t0, 4, ['/a', '/b']));
    let run = await start(config);
    const before = await vectorsOf(topics.features, 'client:10.9.9.9', 4);
    expect(before.map((v) => feature(v, 'new_route_count'))).toEqual([2, 0, 0, 0]);
    expect((await vectorsOf(topics.features, 'edge:frontend->catalog', 4)).map((v) => feature(v, 'new_edge'))).toEqual([1, 0, 0, 0]);
    await run.stop();

    await producer.send(topics.spans, await clientTraffic(t0 + 6 * W, 2, ['/a', '/b', '/c']));
    await producer.close();
    run = await start(config);
    const after = (await vectorsOf(topics.features, 'client:10.9.9.9', 6)).filter((v) => v.windowStartMs >= t0 + 6 * W);
    await run.stop();
    expect(after.map((v) => feature(v, 'new_route_count'))).toEqual([1, 0]);
    expect(after[0].examples?.new_routes).toEqual(['frontend /c']);
    // The history's age runs on from the first run's first window (70 s at the end of window 6), not from the restart.
    expect(feature(after[0], 'history_age_s')).toBe(70);
    const edge = (await vectorsOf(topics.features, 'edge:frontend->catalog', 6)).filter((v) => v.windowStartMs >= t0 + 6 * W);
    expect(edge.map((v) => feature(v, 'new_edge'))).toEqual([0, 0]);
  }, 300_000);

  it('bad input: a spoofed future time, a negative duration, a huge attribute and garbage neither crash the stage nor close windows early', async () => {
    const { topics, config } = isolated(`feat-bad-${process.pid}-${Date.now()}`);
    await kafka.ensureTopics([{ topic: topics.spans, partitions: 2 }]);
    const t0 = Math.floor((Date.now() - 30 * 60_000) / W) * W;
    const messages = [];
    for (let w = 0; w < 3; w++) {
      const t = t0 + w * W + 1_000;
      const specs: TestSpan[] = [0, 1, 2, 3].map((i) => ({
        service: 'shop', name: 'GET /items', startMs: t + i * 1_000, durationMs: 10, kind: SpanKind.SERVER,
        attributes: { 'http.request.method': 'GET', 'http.route': '/items', 'http.response.status_code': 200, 'client.address': '10.1.1.1' },
      }));
      if (w === 0) {
        specs.push({ service: 'shop', name: 'GET /items', startMs: t + 365 * 86_400_000, durationMs: 10, kind: SpanKind.SERVER, attributes: { 'http.route': '/items' } });
        specs.push({ service: 'shop', name: 'GET /items', startMs: t + 500, durationMs: -50, kind: SpanKind.SERVER, attributes: { 'http.route': '/items' } });
        specs.push({ service: 'shop', name: 'GET /items', startMs: t + 600, durationMs: 10, kind: SpanKind.SERVER, attributes: { 'http.route': '/items', 'url.query': `q=${'A'.repeat(1_000_000)}` } });
      }
      messages.push({ key: `k${w}`, value: encodeTraceRequest(await sdkSpans(specs)), timestampMs: t + 5_000 });
      if (w === 0) messages.push({ key: 'garbage', value: Buffer.from('this is not OTLP at all \u0000\u0001'), timestampMs: t });
    }
    const producer = await kafka.producer();
    // All on one partition so the spoofed record sits between the others.
    await producer.send(topics.spans, messages.map((m) => ({ ...m, partition: 0 })));
    await producer.close();
    const pipeline = await start(config);
    const vectors = await vectorsOf(topics.features, 'service:shop', 3);
    const text = await (await fetch(`http://127.0.0.1:${pipeline.metricsPort}/metrics`)).text();
    await pipeline.stop();
    expect(vectors.map((v) => v.windowStartMs - t0)).toEqual([0, W, 2 * W]);
    // The spoofed span is counted in its record's window (clamped); nothing of the later windows was late.
    expect(vectors.map((v) => feature(v, 'request_count'))).toEqual([7, 4, 4]);
    expect(vectors.every((v) => v.values.every((x) => Number.isFinite(x) && x >= 0))).toBe(true);
    expect(feature(vectors[0], 'payload_length_max')).toBe(1_000_002);
    expect(text).toMatch(/peregrine_features_timestamps_total\{outcome="clamped_future"\} 1/);
    expect(text).not.toMatch(/peregrine_features_late_total\{side="source"\} [1-9]/);
    const dead = await waitFor('the garbage record on the dead-letter topic', async () => {
      const records = await readTopic(kafka, topics.deadLetter);
      return records.length > 0 ? records : undefined;
    }, 60_000);
    expect(dead[0].value.toString()).toContain('this is not OTLP');
  }, 300_000);
});
