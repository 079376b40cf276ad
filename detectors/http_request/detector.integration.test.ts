/**
 * The request detector on the real stack (Kafka, MLflow, Elasticsearch, Jaeger), as it runs by default: no model yet,
 * so signatures judge while it learns from live spans; after the learning period it trains in a child process, logs the
 * MLflow run, registers the version and promotes it to champion, and scores with it. Then ten minutes (event time) of
 * normal shop traffic give no finding, while SQL injection in a query and in a JSON body each give one T1190 finding
 * for the client (route template, method, fragment and offsets, an exemplar trace Jaeger returns). Every message of
 * the alert feed conforms to schemas/findings.v1.schema.json, and a secrets corpus sent through the pipeline leaves no
 * secret in Elasticsearch nor in any of the test's Peregrine topics (feed, dead letters, the detectors' state).
 */
import { Client } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipeline, type Pipeline } from '../../app/runtime.ts';
import { deleteFindingsIndex, isolatedConfig, waitFor } from '../../app/testing/pipeline.ts';
import { createKafkaAdapter } from '../../core/kafka/kafkajs.ts';
import type { KafkaAdapter, Producer } from '../../core/kafka/adapter.ts';
import { createLogger } from '../../core/log.ts';
import { MlflowClient } from '../../core/mlflow.ts';
import { encodeTraceRequest, sdkSpans, type TestSpan } from '../../core/testing/otlp-spans.ts';
import { fetchJaegerTrace } from '../../core/jaeger.ts';
import { ensureStackUp, STACK_URLS } from '../../deploy/local/stack.ts';
import { SECRET_CASES } from '../../findings/testdata/secrets.ts';
import { removeModelAndExperiment } from '../../models/registry/testing.ts';
import { findingsFeedValidator } from '../../schemas/testing/findings-feed.ts';
import { shopSpanAttributes, shopSpanSpecs, type ShopRequest } from './testing/shop-traffic.ts';

const run = Date.now().toString(36);
const log = createLogger({ level: 'warn' });
const MODEL = `test-http-${run}`;
const EXPERIMENT = `test-http-${run}`;
const SERVICE = `shop-it-${run}`;
const T0 = Math.floor(Date.now() / 60_000) * 60_000 - 60 * 60_000;
const MINUTE = 60_000;
const QUERY_ATTACKER = '203.0.113.10';
const JSON_ATTACKER = '203.0.113.11';
const PASSWORD_ATTACKER = '203.0.113.12';
const SECRET_CLIENT = '203.0.113.20';

type Spec = Omit<TestSpan, 'attributes'> & { attributes: Record<string, string | number | string[]> };

function spec(r: ShopRequest, startMs: number, client: string, userAgent = 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0'): Spec {
  return { service: SERVICE, name: `${r.method} ${r.route}`, startMs, durationMs: 4, attributes: shopSpanAttributes(r, { client, userAgent }) };
}

/** A secret case's request as the shop would see it, at a route template of its own. */
function secretRequest(c: (typeof SECRET_CASES)[number], attack: boolean): ShopRequest {
  const q = c.request.target.indexOf('?');
  const path = q < 0 ? c.request.target : c.request.target.slice(0, q);
  const query = [q < 0 ? '' : c.request.target.slice(q + 1), attack ? 'debug=1%27+union+all+select+null%2Cnull--' : ''].filter(Boolean).join('&') || undefined;
  const headers = Object.fromEntries(Object.entries(c.request.headers).filter(([k]) => k !== 'content-type'));
  return { method: c.request.method, route: path, path, query, body: c.request.body || undefined, contentType: c.request.headers['content-type'], headers };
}

describe('the request detector learning and judging on the real stack', () => {
  let es: Client;
  let kafka: KafkaAdapter;
  let producer: Producer;
  let mlflow: MlflowClient;
  let pipeline: Pipeline | undefined;
  const config = isolatedConfig(`reqdet-${run}`, {
    overrides: {
      'detectors.http_request.model': `models:/${MODEL}@champion`, 'detectors.http_request.experiment': EXPERIMENT,
      'detectors.http_request.learningPeriod': 2 * MINUTE, 'detectors.http_request.minTrainingRequests': 600,
      'detectors.http_request.groupWindow': MINUTE, 'detectors.http_request.groupLateness': 5000, 'detectors.http_request.reloadIntervalMs': 2000,
    },
  });
  const alias = config.elasticsearch.findingsAlias;

  /** Sends spans to the pipeline's spans topic, and the attack spans also to the stack's otlp_spans (Jaeger reads it). */
  async function send(specs: Spec[], alsoToJaeger = false): Promise<void> {
    for (let i = 0; i < specs.length; i += 200) {
      const value = encodeTraceRequest(await sdkSpans(specs.slice(i, i + 200)));
      await producer.send(config.topics.spans, [{ value }]);
      if (alsoToJaeger) await producer.send('otlp_spans', [{ value }]);
    }
  }

  async function findings(): Promise<Array<Record<string, any>>> {
    await es.indices.refresh({ index: alias }).catch(() => undefined);
    const res = await es.search({ index: alias, size: 1000, query: { term: { 'rule.id': 'peregrine.http_request' } } }).catch(() => undefined);
    return (res?.hits.hits ?? []).map((h) => h._source as Record<string, any>);
  }

  beforeAll(async () => {
    await ensureStackUp({ progress: 'silent' });
    es = new Client({ node: STACK_URLS.elasticsearch });
    kafka = createKafkaAdapter(config.kafka, log);
    await kafka.ensureTopics([{ topic: config.topics.spans, partitions: config.topics.partitions }]);
    producer = await kafka.producer();
    mlflow = new MlflowClient({ url: STACK_URLS.mlflow });
    pipeline = await startPipeline(config, log, { stages: ['detectors', 'findings'] });
  }, 300_000);

  afterAll(async () => {
    await pipeline?.stop();
    await producer?.close();
    await kafka?.close();
    if (alias) await deleteFindingsIndex(es, alias).catch(() => undefined);
    await es?.close();
    if (mlflow) await removeModelAndExperiment(mlflow, MODEL, EXPERIMENT);
  });

  it('learns while signatures judge, trains in MLflow, promotes the champion, then scores with it', async () => {
    // Two and a half minutes of event time: normal shop traffic, the secrets corpus as normal requests, a scan.
    const normal = shopSpanSpecs({ seed: 21, startMs: T0, perSecond: 6, count: 900, service: SERVICE });
    const secrets = SECRET_CASES.map((c, i) => spec(secretRequest(c, false), T0 + 30_000 + i * 100, SECRET_CLIENT));
    const loginAttack = spec({ method: 'POST', route: '/api/login', path: '/api/login', contentType: 'application/json', body: JSON.stringify({ email: 'eve@example.com', password: "hunter2' OR '1'='1" }) }, T0 + 40_000, PASSWORD_ATTACKER, 'curl/8.5.0');
    await send([...normal, ...secrets, loginAttack].sort((a, b) => a.startMs - b.startMs));

    const champion = await waitFor('a champion trained from live traffic', async () => mlflow.getModelVersionByAlias(MODEL, 'champion').catch(() => undefined), 240_000);
    expect(champion.version).toBe('1');
    const experiment = (await mlflow.getExperimentByName(EXPERIMENT))!;
    expect(experiment).toBeDefined();
    const runInfo = await mlflow.getRun(champion.run_id!);
    expect(runInfo.data.tags?.find((t) => t.key === 'peregrine.comparison.decision')?.value).toBe('first');
    expect(runInfo.data.params?.find((p) => p.key === 'training_reason')?.value).toBe('first');

    // The detector picks the champion up and names it on /metrics.
    await waitFor('the detector scoring with the champion', async () => {
      const text = await (await fetch(`http://127.0.0.1:${pipeline!.metricsPort}/metrics`)).text();
      return text.includes(`peregrine_detector_model_info{detector="http_request",model="${MODEL}",version="1"} 1`) ? true : undefined;
    }, 120_000);

    // The injection typed into a password field was caught by signatures while learning.
    const caught = await waitFor('the password-field injection finding', async () => (await findings()).find((d) => d.peregrine.entity.id === `client:${PASSWORD_ATTACKER}`), 60_000);
    expect(caught.peregrine.examples[0].signatures[0]).toMatchObject({ kind: 'sql_injection', location: 'body', field: '/password', decoded: "' OR '1'='1" });
    expect(JSON.stringify(caught)).not.toContain('hunter2');
  }, 420_000);

  it('ten minutes of normal traffic give no finding; SQL injection in a query and in a JSON body each give one, with their trace in Jaeger', async () => {
    const start = T0 + 5 * MINUTE;
    const normal = shopSpanSpecs({ seed: 22, startMs: start, perSecond: 5, count: 3000, service: SERVICE }); // 10 minutes
    const t = start + 10 * MINUTE + 5000;
    // Only these three also go to the stack's otlp_spans, for Jaeger: the shared topic gets no secrets from this test.
    const attacks = [
      spec({ method: 'GET', route: '/api/products', path: '/api/products', query: 'q=shoe%27+union+all+select+username%2Cpassword+from+users--&page=1' }, t, QUERY_ATTACKER, 'sqlmap/1.8.2#stable (https://sqlmap.org)'),
      spec({ method: 'GET', route: '/api/products', path: '/api/products', query: 'q=1+order+by+3--&page=1' }, t + 200, QUERY_ATTACKER, 'sqlmap/1.8.2#stable (https://sqlmap.org)'),
      spec({ method: 'POST', route: '/api/cart', path: '/api/cart', contentType: 'application/json', body: JSON.stringify({ items: [{ sku: "MUG-WHITE' AND 4411=4411 AND 'a'='a", qty: 1 }], note: '' }) }, t + 400, JSON_ATTACKER, 'python-requests/2.31'),
    ];
    // The secrets corpus again, each with an injection: findings now carry requests full of secrets.
    const secretAttacks = SECRET_CASES.map((c, i) => spec(secretRequest(c, true), t + 1000 + i * 10, SECRET_CLIENT));
    // Later normal traffic closes the attack groups' windows.
    const after = shopSpanSpecs({ seed: 23, startMs: t + 2 * MINUTE, perSecond: 5, count: 100, service: SERVICE });
    await send(normal);
    await send(attacks, true);
    await send(secretAttacks);
    await send(after);

    const found = await waitFor('findings for both attackers', async () => {
      const docs = await findings();
      const mine = (ip: string) => docs.filter((d) => d.peregrine.entity.id === `client:${ip}`);
      return mine(QUERY_ATTACKER).length && mine(JSON_ATTACKER).length && mine(SECRET_CLIENT).length ? docs : undefined;
    }, 180_000);
    // Give stragglers time to arrive, then count.
    await new Promise((r) => setTimeout(r, 5000));
    const docs = await findings();
    const normalClients = docs.filter((d) => /^client:198\.51\.100\./.test(d.peregrine.entity.id));
    expect(normalClients.map((d) => [d.message, d.peregrine.explanation?.[0]])).toEqual([]);
    expect(found.length).toBeGreaterThan(0);

    const queryFinding = docs.filter((d) => d.peregrine.entity.id === `client:${QUERY_ATTACKER}`);
    expect(queryFinding).toHaveLength(1); // two requests, one finding: per client, route and window
    const q = queryFinding[0];
    expect(q).toMatchObject({
      event: { kind: 'alert' }, threat: { technique: { id: ['T1190'] }, tactic: { id: ['TA0001'] } }, url: { path: '/api/products' },
      source: { ip: QUERY_ATTACKER }, http: { request: { method: 'GET' } }, user_agent: { original: 'sqlmap/1.8.2#stable (https://sqlmap.org)' },
      peregrine: { requests: 2, signatures: ['sql_injection'], model: { name: MODEL, version: '1' } },
    });
    expect(q.event.risk_score).toBeGreaterThanOrEqual(80);
    const union = q.peregrine.examples.flatMap((e: any) => e.signatures).find((s: any) => s.construct === 'union_select');
    expect(union).toMatchObject({ location: 'query', field: 'q' });
    expect('shoe%27+union+all+select+username%2Cpassword+from+users--'.slice(union.start, union.end)).toBe(union.fragment);

    const j = docs.find((d) => d.peregrine.entity.id === `client:${JSON_ATTACKER}`)!;
    expect(j).toMatchObject({ url: { path: '/api/cart' }, http: { request: { method: 'POST' } }, threat: { technique: { id: ['T1190'] } } });
    expect(j.peregrine.examples[0].signatures[0]).toMatchObject({ kind: 'sql_injection', location: 'body', field: '/items/0/sku' });
    expect(j.peregrine.examples[0].signatures[0].decoded).toMatch(/^' AND 4411=4411/);

    // Each exemplar trace is one Jaeger returns.
    for (const d of [q, j]) {
      const trace = await waitFor(`trace ${d.trace.id} in Jaeger`, () => fetchJaegerTrace(STACK_URLS.jaegerQuery, d.trace.id), 120_000);
      expect(trace.spans.some((s) => s.spanID === d.span.id)).toBe(true);
    }
  }, 600_000);

  it('every alert-feed message conforms to the published schema, under a stable id', async () => {
    const validate = findingsFeedValidator();
    const records = await kafka.readToEnd(config.topics.findings, [0, 1, 2]);
    expect(records.length).toBeGreaterThan(0);
    for (const r of records) {
      const doc = JSON.parse(r.value.toString());
      expect(validate(doc), JSON.stringify(doc).slice(0, 300)).toEqual([]);
      expect(r.headers['peregrine-finding-id']?.toString()).toBe(doc.event.id);
      expect(r.key?.toString()).toBe(doc.peregrine.entity.id);
    }
  }, 120_000);

  it('no secret of the corpus is left in Elasticsearch or in the Peregrine topics (feed, dead letters, detector state)', async () => {
    const secrets = SECRET_CASES.flatMap((c) => c.secrets);
    await es.indices.refresh({ index: alias });
    const stored = await es.search({ index: alias, size: 1000, query: { match_all: {} } });
    const inElasticsearch = JSON.stringify(stored.hits.hits.map((h) => h._source));
    expect(inElasticsearch).toContain(`client:${SECRET_CLIENT}`); // the findings carrying the corpus are there
    const topics: Array<[string, number[]]> = [[config.topics.findings, [0, 1, 2]], [config.topics.deadLetter, [0]], [config.topics.detectorsState, [0, 1, 2]]];
    const inKafka = new Map<string, string>();
    for (const [topic, partitions] of topics) {
      const records = await kafka.readToEnd(topic, partitions).catch(() => []);
      inKafka.set(topic, records.map((r) => `${r.key?.toString() ?? ''}\n${r.value.toString()}`).join('\n'));
    }
    // The training buffer went through the state topic: it is not empty, and masked.
    expect(inKafka.get(config.topics.detectorsState)).toContain('[REDACTED:');
    const leaks = secrets.flatMap((s) => [
      ...(inElasticsearch.includes(s) ? [`elasticsearch: ${s}`] : []),
      ...[...inKafka].filter(([, text]) => text.includes(s)).map(([topic]) => `${topic}: ${s}`),
    ]);
    expect(leaks).toEqual([]);
  }, 120_000);
});
