/**
 * A real Prometheus (Debian's 2.42) scrapes a running pipeline — receiver, features, detectors and findings as four
 * processes' worth of stages (each its own registry and /metrics port), plus the console when this checkout has one — with the
 * shipped scrape config (targets replaced) and alerting rules. Checks: every target up, the rules load and evaluate,
 * the `peregrine_*` series have the expected labels, an alert reacts to a real dead letter, every Grafana query runs.
 * Writes the series it saw to deploy/grafana/scraped-series.json, which the dashboards' static check reads.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpanKind } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as stringifyYaml } from 'yaml';
import { createElasticsearchClient } from '../../core/elasticsearch/client.ts';
import { createKafkaAdapter } from '../../core/kafka/kafkajs.ts';
import { createLogger } from '../../core/log.ts';
import { encodeTraceRequest, sdkSpans, type TestSpan } from '../../core/testing/otlp-spans.ts';
import { startPipeline, type Pipeline } from '../../app/runtime.ts';
import { deleteFindingsIndex, isolatedConfig, waitFor } from '../../app/testing/pipeline.ts';
import type { ReceiverStage } from '../../ingest/receiver/stage.ts';
import { dashboardQueries, SCRAPED_SERIES_FILE, withGrafanaVariables, type ScrapedSeries } from '../grafana/dashboards.ts';
import { freePort, startLogged, type LoggedProcess } from '../testing/process.ts';
import { mergeScraped, prometheusBinaries, PrometheusApi, RULES_FILE, RULES_TEST, scrapeConfigFor, shippedJobs, summarizeSeries } from './prometheus.ts';

const REPO = new URL('../../', import.meta.url).pathname;
const log = createLogger({ level: 'warn', pretty: false });
const run = randomUUID().slice(0, 8);
const name = `prom-${run}`;
const config = isolatedConfig(name, {
  overrides: {
    'topics.metrics': `test-${name}-metrics`, 'topics.logs': `test-${name}-logs`,
    'receiver.http.port': 0, 'receiver.grpc.enabled': false,
    // Above the broker's 1 MiB message limit on purpose: one oversized request makes a real produce error to scrape.
    'receiver.maxMessageBytes': 4_000_000,
  },
});
const consoleAvailable = readFileSync(join(REPO, 'app/cli/main.ts'), 'utf8').includes('registerConsoleCommand');
const dir = mkdtempSync(join(tmpdir(), 'peregrine-prometheus-'));
/** Scrape job → the pipeline started for it (one stage each, as in a deployment). */
const STAGE_OF_JOB = { 'peregrine-receiver': 'receiver', 'peregrine-features': 'features', 'peregrine-detectors': 'detectors', 'peregrine-findings': 'findings' } as const;
type Job = keyof typeof STAGE_OF_JOB;
const pipelines = new Map<Job, Pipeline>();
let consoleProcess: LoggedProcess | undefined;
let prometheus: LoggedProcess | undefined;
let api: PrometheusApi;
let binaries: ReturnType<typeof prometheusBinaries>;
let receiverHttpPort = 0;

/** Ten 10 s windows of GetProduct ending a little before now: normal, then windows 6–7 with 50% errors. */
function scenario(): TestSpan[] {
  const t0 = Math.floor((Date.now() - 150_000) / 10_000) * 10_000;
  const spans: TestSpan[] = [];
  for (let w = 0; w < 10; w++) {
    for (let i = 0; i < 20; i++) {
      const failing = (w === 6 || w === 7) && i % 2 === 0;
      spans.push({
        service: `catalog-${run}`, name: 'GetProduct', kind: SpanKind.SERVER, startMs: t0 + w * 10_000 + i * 450, durationMs: 3 + (i % 5),
        error: failing ? 'Product Catalog Fail Feature Flag Enabled' : undefined, attributes: { 'rpc.system': 'grpc' },
      });
    }
  }
  return spans;
}

beforeAll(async () => {
  binaries = prometheusBinaries();
  for (const [job, stage] of Object.entries(STAGE_OF_JOB) as Array<[Job, string]>) pipelines.set(job, await startPipeline(config, log, { stages: [stage] }));
  receiverHttpPort = (pipelines.get('peregrine-receiver')!.stages[0] as ReceiverStage).httpPort!;
  const targets: Record<string, string[]> = Object.fromEntries([...pipelines].map(([job, p]) => [job, [`127.0.0.1:${p.metricsPort}`]]));
  if (consoleAvailable) {
    const port = await freePort();
    const file = join(dir, 'console.yaml');
    writeFileSync(file, stringifyYaml({ ...config, console: { port } }));
    consoleProcess = startLogged(process.execPath, [join(REPO, 'bin/peregrine.js'), 'console', '-c', file], { logFile: join(dir, 'console.log'), cwd: REPO });
    targets['peregrine-console'] = [`127.0.0.1:${port}`];
  } else {
    console.warn('prometheus test: this checkout has no `peregrine console`; the peregrine-console job is left out');
  }
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, scrapeConfigFor(targets, { intervalS: 1, leaveOut: consoleAvailable ? [] : ['peregrine-console'] }));
  const port = await freePort();
  api = new PrometheusApi(`http://127.0.0.1:${port}`);
  prometheus = startLogged(binaries.prometheus, [
    `--config.file=${configFile}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--storage.tsdb.retention.time=1h',
  ], { logFile: join(dir, 'prometheus.log'), cwd: dir });
  await waitFor('Prometheus ready', async () => {
    if (prometheus!.child.exitCode !== null) throw new Error(`prometheus exited:\n${prometheus!.tail()}`);
    return (await fetch(`${api.url}/-/ready`).catch(() => undefined))?.ok ? true : undefined;
  }, 60_000);
}, 300_000);

afterAll(async () => {
  await prometheus?.stop();
  await consoleProcess?.stop();
  for (const p of [...pipelines.values()].reverse()) await p.stop().catch(() => undefined);
  const es = createElasticsearchClient(config.elasticsearch);
  await deleteFindingsIndex(es, config.elasticsearch.findingsAlias).catch(() => undefined);
  await es.close();
  // The topics and groups this test created, by name.
  const admin = new Kafka({ brokers: config.kafka.brokers, clientId: `cleanup-${run}`, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(`test-${name}-`));
  await admin.deleteGroups([config.features.groupId, config.detectors.groupId, config.detectors.requestsGroupId, config.findings.groupId]).catch(() => undefined);
  if (topics.length) await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

describe('Prometheus against the running pipeline', () => {
  it('promtool accepts the generated config and the rules, and the rules pass their unit tests', () => {
    const promtool = (args: string[]) => execFileSync(binaries.promtool, args, { encoding: 'utf8', stdio: 'pipe' });
    expect(promtool(['check', 'config', join(dir, 'prometheus.yml')])).toMatch(/SUCCESS/);
    expect(promtool(['check', 'rules', RULES_FILE])).toMatch(/SUCCESS: 7 rules found/);
    expect(promtool(['test', 'rules', RULES_TEST])).toMatch(/SUCCESS/);
    expect(binaries.version).toMatch(/^2\.42\./);
  });

  it('scrapes every target of the shipped config, and loads and evaluates the rules', async () => {
    const expectedJobs = shippedJobs().filter((j) => consoleAvailable || j !== 'peregrine-console');
    const up = await waitFor('every target up', async () => {
      const { activeTargets } = await api.targets();
      return activeTargets.length === expectedJobs.length && activeTargets.every((t) => t.health === 'up') ? activeTargets : undefined;
    }, 120_000);
    expect(up.map((t) => t.labels.job).sort()).toEqual([...expectedJobs].sort());
    const rules = await waitFor('rules evaluated', async () => {
      const { groups } = await api.rules();
      const all = groups.flatMap((g) => g.rules);
      return all.length > 0 && all.every((r) => r.health === 'ok') ? groups : undefined;
    }, 60_000);
    expect(rules.map((g) => g.name)).toEqual(['peregrine']);
    expect(rules[0]!.rules.map((r) => r.name)).toEqual([
      'PeregrineProcessDown', 'PeregrineStageUnhealthy', 'PeregrineConsumerLagGrowing', 'PeregrineDeadLettersRising',
      'PeregrineNoFindingsIndexed', 'PeregrineDetectionSlow', 'PeregrineErrors',
    ]);
    expect(await api.scalar('sum(peregrine_health_check)')).toBe(expectedJobs.length);
  }, 240_000);

  it('sees the pipeline work through its series: labels, findings per detector, detection latency, errors, dead letters', async () => {
    // OTLP through the real SDK exporter into the receiver stage, one request per 50 spans.
    const exporter = new OTLPTraceExporter({ url: `http://127.0.0.1:${receiverHttpPort}/v1/traces` });
    const spans = await sdkSpans(scenario());
    for (let i = 0; i < spans.length; i += 50) {
      const code = await new Promise<ExportResultCode>((resolve) => exporter.export(spans.slice(i, i + 50), (r) => resolve(r.code)));
      expect(code).toBe(ExportResultCode.SUCCESS);
    }
    await exporter.shutdown();
    // A record that is no OTLP goes to the dead-letter topic.
    const kafka = createKafkaAdapter(config.kafka, log);
    const producer = await kafka.producer();
    await producer.send(config.topics.spans, [{ value: Buffer.from([0x0a, 0xff, 0xff, 0x01]) }]);
    await producer.close();
    await kafka.close();
    // A request bigger than the broker takes: the receiver answers retry-later and counts a produce error.
    const [big] = await sdkSpans([{ service: `catalog-${run}`, name: 'big', startMs: Date.now() - 1000, durationMs: 1, attributes: { blob: 'x'.repeat(1_500_000) } }]);
    const oversized = await fetch(`http://127.0.0.1:${receiverHttpPort}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: encodeTraceRequest([big!]) });
    expect(oversized.status).toBe(503);

    await waitFor('two findings counted', async () => ((await api.scalar('sum(peregrine_findings_total)')) ?? 0) >= 2 ? true : undefined, 150_000);
    await waitFor('the dead letter and the produce error scraped', async () => (
      // Both readers of the spans topic dead-letter it: the features stage and the request detector's span reader.
      (await api.scalar('sum(peregrine_records_dropped_total{stage="features",reason="undecodable"})')) === 1 && (await api.scalar('sum(peregrine_errors_total)')) !== undefined ? true : undefined
    ), 60_000);

    const labelsOf = async (match: string) => (await api.series(match)).map(({ __name__, ...labels }) => labels);
    expect(await labelsOf('peregrine_findings_total')).toEqual([
      { job: 'peregrine-findings', instance: targetOf('peregrine-findings'), detector: 'error_ratio', technique: 'none', severity: expect.stringMatching(/^(low|medium|high|critical)$/) },
    ]);
    const stages = (await labelsOf('peregrine_records_in_total')).map((l) => `${l.job}/${l.stage}`).sort();
    // The console reads the alert feed on the same loop as the stages (its live view).
    const consoleStage = consoleAvailable ? ['peregrine-console/console'] : [];
    expect(stages).toEqual([...consoleStage, 'peregrine-detectors/detectors', 'peregrine-features/features', 'peregrine-findings/findings', 'peregrine-receiver/receiver']);
    expect(await labelsOf('peregrine_records_dropped_total{stage="features"}')).toContainEqual(expect.objectContaining({ job: 'peregrine-features', reason: 'undecodable' }));
    expect(await labelsOf('peregrine_errors_total')).toContainEqual(expect.objectContaining({ job: 'peregrine-receiver', stage: 'receiver', kind: 'produce' }));
    expect(await labelsOf('peregrine_consumer_lag_records')).toContainEqual(expect.objectContaining({ job: 'peregrine-features', stage: 'features', topic: config.topics.spans, partition: expect.stringMatching(/^\d+$/) }));
    expect(await labelsOf('peregrine_health_check')).toContainEqual(expect.objectContaining({ job: 'peregrine-detectors', check: 'detectors' }));
    expect(await labelsOf('peregrine_receiver_items_total')).toContainEqual(expect.objectContaining({ signal: 'traces', outcome: 'accepted' }));
    const buckets = await labelsOf('peregrine_detection_latency_seconds_bucket');
    expect(buckets.every((l) => l.detector === 'error_ratio' && l.job === 'peregrine-findings')).toBe(true);
    expect(buckets.map((l) => l.le)).toContain('+Inf');
    // The windows ended one to two and a half minutes before the findings were acknowledged.
    const meanLatency = (await api.scalar('sum(peregrine_detection_latency_seconds_sum) / sum(peregrine_detection_latency_seconds_count)'))!;
    expect(meanLatency).toBeGreaterThan(0);
    expect(meanLatency).toBeLessThan(600);

    // The dead letter drives its alert (pending: it needs 5 minutes to fire).
    const alert = await waitFor('PeregrineDeadLettersRising active', async () => (await api.alerts()).alerts.find((a) => a.labels.alertname === 'PeregrineDeadLettersRising' && a.labels.stage === 'features'), 60_000);
    expect(alert.labels).toMatchObject({ job: 'peregrine-features', stage: 'features', reason: 'undecodable' });
    expect(['pending', 'firing']).toContain(alert.state);

    // What the Grafana check reads: every series of the pipeline's processes, with their labels.
    const families = await api.metadata();
    const previous = existsSync(SCRAPED_SERIES_FILE) ? (JSON.parse(readFileSync(SCRAPED_SERIES_FILE, 'utf8')) as ScrapedSeries).metrics : {};
    const scraped: ScrapedSeries = {
      comment: 'Series a real Prometheus scraped from the running pipeline: written by deploy/prometheus/prometheus.integration.test.ts, read by deploy/grafana/dashboards.test.ts',
      prometheus: binaries.version,
      metrics: mergeScraped(previous, summarizeSeries(await api.series('{__name__=~"peregrine_.+|up"}'), families), { ...families, up: 'gauge' }),
    };
    const text = `${JSON.stringify(scraped, null, 2)}\n`;
    if (!existsSync(SCRAPED_SERIES_FILE) || readFileSync(SCRAPED_SERIES_FILE, 'utf8') !== text) writeFileSync(SCRAPED_SERIES_FILE, text);
    expect(scraped.metrics.peregrine_findings_total).toEqual({ type: 'counter', labels: ['detector', 'instance', 'job', 'severity', 'technique'] });
    expect(scraped.metrics.peregrine_detection_latency_seconds_bucket?.type).toBe('histogram');
  }, 300_000);

  it('runs every Grafana dashboard query, and the findings queries return the findings', async () => {
    for (const q of dashboardQueries()) {
      await expect(api.query(withGrafanaVariables(q.expr, '10m')), `${q.dashboard} "${q.panel}"`).resolves.toBeDefined();
    }
    // increase() needs two samples of a series: poll until the scrapes after the findings are in.
    const bySeverity = await waitFor('findings by severity', async () => {
      const r = await api.query(withGrafanaVariables('sum by (severity) (increase(peregrine_findings_total[$__range]))', '10m'));
      return r.result.length > 0 ? r.result : undefined;
    }, 30_000);
    expect(bySeverity.map((r) => r.metric.severity)).toEqual(expect.arrayContaining([expect.stringMatching(/^(low|medium|high|critical)$/)]));
  }, 120_000);
});

function targetOf(job: Job): string {
  return `127.0.0.1:${pipelines.get(job)!.metricsPort}`;
}
