/**
 * `npm run bench:detectors`: the window detectors and triage.
 *
 * 1. Scoring throughput on this thread: every window detector of the component list (default configuration, in-memory
 *    stores) plus triage over a synthetic mix of every entity kind — `vectors_per_cpu_sec`.
 * 2. End to end on the local stack (Kafka, Elasticsearch): the detectors and findings stages run in this process;
 *    feature vectors go onto the features topic at each `--rates` load (vectors/s), and `--attacks` per second of
 *    them are floods from fresh clients, each of which must become a finding. For each, the time from the vector's
 *    write to the features topic (the window's close, as the features stage would emit it) to the finding being
 *    found by a search in the findings alias. The top-level `close_to_searchable_p50_s` / `_p99_s` are those of the
 *    first (floor) load; `loads` has every load, with the part up to the alert feed (`close_to_feed_*`). The findings
 *    index refreshes every 200 ms (schemas/elasticsearch/findings.ts).
 *
 *   npm run bench:detectors -- [--entities 5000] [--rates 200,2000] [--attacks 4] [--seconds 40] [--no-e2e]
 *
 * The last line of stdout is one JSON object.
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { DETECTORS } from '../app/components.ts';
import { loadAppConfig } from '../app/config.ts';
import { startPipeline } from '../app/runtime.ts';
import { committedTotal, deleteFindingsIndex, isolatedConfig } from '../app/testing/pipeline.ts';
import { createElasticsearchClient } from '../core/elasticsearch/client.ts';
import { createKafkaAdapter } from '../core/kafka/kafkajs.ts';
import { createLogger } from '../core/log.ts';
import { MemoryKeyedStore } from '../core/state/keyed-store.ts';
import { ensureTopics } from '../core/topics.ts';
import type { WindowDetector, WindowDetectorFactory } from '../detectors/detector.ts';
import { testSettings, T0 } from '../detectors/testing/vectors.ts';
import { syntheticWorkload } from '../detectors/testing/workload.ts';
import { Triage, TriageConfig, type OpenFinding } from '../detectors/triage/triage.ts';
import type { EncodedFinding } from '../findings/sinks/findings.ts';
import { encodeFeatureVector, FEATURE_SCHEMA_FINGERPRINT, FINGERPRINT_HEADER } from '../schemas/feature-vector.ts';

const { values } = parseArgs({
  options: {
    entities: { type: 'string', default: '5000' },
    rates: { type: 'string', default: '200,2000' },
    attacks: { type: 'string', default: '4' },
    seconds: { type: 'string', default: '40' },
    'no-e2e': { type: 'boolean', default: false },
  },
});
const entities = Number(values.entities);
const rates = values.rates.split(',').map(Number);
const attacksPerSecond = Number(values.attacks);
const seconds = Number(values.seconds);

async function windowDetectors(): Promise<WindowDetector[]> {
  const out: WindowDetector[] = [];
  for (const factory of DETECTORS.filter((f): f is WindowDetectorFactory => f.input === 'window')) {
    const d = await factory.create(factory.config.parse({}), testSettings(factory.id));
    if (d) out.push(d);
  }
  return out;
}

/** Part 1: vectors scored by every window detector and triaged, per second of this thread's CPU. */
async function scoringThroughput(): Promise<{ vectorsPerCpuSec: number; detectors: number; findings: number }> {
  const detectors = await windowDetectors();
  const triage = new Triage(TriageConfig.parse({}), new MemoryKeyedStore<OpenFinding[]>({ maxKeys: 1_000_000 }));
  const workload = syntheticWorkload({ entities, seed: 1, startMs: T0 });
  const score = (n: number) => {
    let findings = 0;
    for (let i = 0; i < n; i++) {
      const v = workload.next();
      if (triage.window(detectors.flatMap((d) => d.score(v) ?? []))) findings++;
    }
    return findings;
  };
  // Warm-up: baselines past their warm-up windows, the JIT settled.
  score(entities * 15);
  const n = entities * 30;
  const cpu0 = process.cpuUsage();
  const findings = score(n);
  const cpu = process.cpuUsage(cpu0);
  return { vectorsPerCpuSec: Math.round(n / ((cpu.user + cpu.system) / 1e6)), detectors: detectors.length, findings };
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

/** Part 2: window close (vector written) → finding searchable, through the real detectors and findings stages. */
async function endToEnd(rate: number): Promise<{ p50: number; p99: number; feedP50: number; feedP99: number; samples: number; missing: number; produced: number }> {
  const log = createLogger({ level: 'warn', pretty: false });
  const run = randomUUID().slice(0, 8);
  const config = isolatedConfig(`bench-detectors-${run}`);
  const alias = config.elasticsearch.findingsAlias;
  const es = createElasticsearchClient(loadAppConfig({ env: {} }).elasticsearch);
  const kafka = createKafkaAdapter(config.kafka, log);
  await ensureTopics(kafka, config.topics, ['features']);
  const producer = await kafka.producer();
  const writtenAt = new Map<string, number>();
  const idOf = new Map<string, string>();
  const onFeedAt = new Map<string, number>();
  const pipeline = await startPipeline(config, log, {
    stages: ['detectors', 'findings'],
    hooks: {
      onFinding: (f: EncodedFinding) => {
        if (!writtenAt.has(f.key)) return;
        idOf.set(f.id, f.key);
        onFeedAt.set(f.id, performance.now());
      },
    },
  });
  const searchableAt = new Map<string, number>();
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const pending = [...idOf.keys()].filter((id) => !searchableAt.has(id));
      if (pending.length > 0) {
        const r = await es.search({ index: alias, query: { ids: { values: pending } }, _source: false, size: pending.length }).catch(() => undefined);
        const now = performance.now();
        for (const h of r?.hits.hits ?? []) if (h._id && !searchableAt.has(h._id)) searchableAt.set(h._id, now);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  const workload = syntheticWorkload({ entities, seed: 2, startMs: Date.UTC(2026, 0, 1) });
  const send = (vs: ReturnType<typeof workload.next>[]) => producer.send(config.topics.features, vs.map((v) => ({
    key: v.entityId, value: encodeFeatureVector(v), headers: { [FINGERPRINT_HEADER]: FEATURE_SCHEMA_FINGERPRINT },
  })));
  let produced = 0;
  // Baselines first: a few windows of every entity before anything is measured.
  for (let i = 0; i < entities * 12; i += 2000) {
    const batch = Array.from({ length: Math.min(2000, entities * 12 - i) }, () => workload.next());
    await send(batch);
    produced += batch.length;
  }
  // Measure from a caught-up stage, not through the warm-up's backlog.
  const caughtUp = performance.now() + 300_000;
  while ((await committedTotal(kafka, config.detectors.groupId, config.topics.features)) < produced && performance.now() < caughtUp) await new Promise((r) => setTimeout(r, 500));
  const tickMs = 100;
  const started = performance.now();
  let attacks = 0;
  for (let tick = 0; performance.now() - started < seconds * 1000; tick++) {
    const due = started + tick * tickMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const batch = Array.from({ length: Math.round((rate * tickMs) / 1000) }, () => workload.next());
    const attack = tick % Math.max(1, Math.round(1000 / tickMs / attacksPerSecond)) === 0 ? workload.attack(attacks++) : undefined;
    if (attack) batch.push(attack);
    await send(batch);
    if (attack) writtenAt.set(attack.entityId, performance.now());
    produced += batch.length;
  }
  // Let the last ones through.
  const deadline = performance.now() + 30_000;
  while (performance.now() < deadline && searchableAt.size < writtenAt.size) await new Promise((r) => setTimeout(r, 200));
  polling = false;
  await poller;
  await pipeline.stop();
  await producer.close();
  await kafka.close();
  await deleteFindingsIndex(es, alias).catch(() => undefined);
  await es.close();
  const found = new Set([...searchableAt.keys()].map((id) => idOf.get(id)));
  const lost = [...writtenAt.keys()].filter((k) => !found.has(k));
  if (lost.length > 0) process.stderr.write(`not searchable: ${lost.join(', ')} (on the feed: ${lost.filter((k) => [...idOf.values()].includes(k)).length})\n`);
  const latencies = [...searchableAt].map(([id, at]) => (at - writtenAt.get(idOf.get(id)!)!) / 1000).sort((a, b) => a - b);
  const toFeed = [...onFeedAt].map(([id, at]) => (at - writtenAt.get(idOf.get(id)!)!) / 1000).sort((a, b) => a - b);
  return {
    p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), feedP50: quantile(toFeed, 0.5), feedP99: quantile(toFeed, 0.99),
    samples: latencies.length, missing: writtenAt.size - latencies.length, produced,
  };
}

const scoring = await scoringThroughput();
process.stderr.write(`scoring: ${scoring.vectorsPerCpuSec} vectors/CPU-s through ${scoring.detectors} window detectors and triage (${scoring.findings} findings on ${entities * 30} normal vectors)\n`);
const loads = [];
for (const rate of values['no-e2e'] ? [] : rates) {
  const e2e = await endToEnd(rate);
  process.stderr.write(`end to end at ${rate} vectors/s: p50 ${e2e.p50.toFixed(3)} s, p99 ${e2e.p99.toFixed(3)} s over ${e2e.samples} findings (${e2e.missing} missing); `
    + `of which to the alert feed p50 ${e2e.feedP50.toFixed(3)} s, p99 ${e2e.feedP99.toFixed(3)} s\n`);
  loads.push({
    load_vectors_per_s: rate, close_to_searchable_p50_s: Number(e2e.p50.toFixed(3)), close_to_searchable_p99_s: Number(e2e.p99.toFixed(3)),
    close_to_feed_p50_s: Number(e2e.feedP50.toFixed(3)), close_to_feed_p99_s: Number(e2e.feedP99.toFixed(3)),
    samples: e2e.samples, missing: e2e.missing, vectors_produced: e2e.produced,
  });
}
const [floor] = loads;
process.stdout.write(JSON.stringify({
  ...(floor ? { close_to_searchable_p50_s: floor.close_to_searchable_p50_s, close_to_searchable_p99_s: floor.close_to_searchable_p99_s, load_vectors_per_s: floor.load_vectors_per_s } : {}),
  vectors_per_cpu_sec: scoring.vectorsPerCpuSec,
  window_detectors: scoring.detectors,
  false_findings_in_scoring_run: scoring.findings,
  entities,
  loads,
  load_average_1m: Number(loadavg()[0].toFixed(2)),
}) + '\n');
process.exit(0);
