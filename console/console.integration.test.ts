/**
 * The console in a real browser (Debian's chromium driven by playwright-core) on the real stack. Spans made by the
 * OpenTelemetry SDK go to the stack's OTLP front end (so Jaeger stores them) and onto the test's own spans topic,
 * where the real features and detectors stages turn an error burst into findings (Elasticsearch, alert feed). With
 * the page open: the finding appears live, keyboard navigation opens it, its example trace renders as a waterfall
 * with the failing span marked, a verdict clicked on the page is read back from Elasticsearch, the layout holds at
 * 1280×800 and 390×844, and a finding full of markup renders as text.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipeline, type Pipeline } from '../app/runtime.ts';
import { deleteFindingsIndex, isolatedConfig, waitFor } from '../app/testing/pipeline.ts';
import { bulkIndex, createElasticsearchClient } from '../core/elasticsearch/client.ts';
import { fetchJaegerTrace, isErrorSpan } from '../core/jaeger.ts';
import { createKafkaAdapter } from '../core/kafka/kafkajs.ts';
import { createLogger } from '../core/log.ts';
import { encodeTraceRequest } from '../core/testing/otlp-spans.ts';
import { STACK_URLS } from '../deploy/local/stack.ts';
import { encodeEcsFinding, findingId } from '../findings/ecs/encode.ts';
import { severityOf, type Finding } from '../findings/finding.ts';
import { feedbackOf, labelledVectors } from '../findings/feedback/store.ts';
import { ConsoleConfig, CONSOLE_DEFAULT_PORT } from './config.ts';
import { startConsole, type RunningConsole } from './start.ts';
import { ensureChromium, launchBrowser, type Browser } from './testing/browser.ts';

const run = randomUUID().slice(0, 8);
const log = createLogger({ level: 'warn', pretty: false });
const TOKEN = `console-test-token-${run}`;
const frontend = `console-frontend-${run}`;
const catalog = `console-catalog-${run}`;
const config = isolatedConfig(`console-${run}`, { overrides: { 'elasticsearch.feedbackIndex': `test-console-${run}-feedback` } });
const es = createElasticsearchClient(config.elasticsearch);
const shots = path.join(tmpdir(), `peregrine-console-shots-${run}`);
const FAILURE = 'Product Catalog Fail Feature Flag Enabled';

/** One shop request per trace: frontend GET /product → catalog GetProduct → catalog SELECT; failing ones error in GetProduct. */
async function shopTraces(t0: number): Promise<ReadableSpan[]> {
  const exporter = new InMemorySpanExporter();
  const provider = (service: string) => new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': service }), spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const [fe, cat] = [provider(frontend), provider(catalog)];
  const child = (parent: Span) => trace.setSpan(ROOT_CONTEXT, parent);
  // Ten 10 s windows of 20 requests; in windows 6 and 7 half of them fail.
  for (let w = 0; w < 10; w++) {
    for (let i = 0; i < 20; i++) {
      const start = t0 + w * 10_000 + i * 450;
      const failing = (w === 6 || w === 7) && i % 2 === 0;
      const product = failing ? 'OLJCESPC7Z' : `P${i}`;
      const root = fe.getTracer('shop').startSpan('GET /product/{id}', { kind: SpanKind.SERVER, startTime: start, attributes: { 'http.request.method': 'GET', 'url.path': `/product/${product}`, 'http.route': '/product/{id}' } }, ROOT_CONTEXT);
      const server = cat.getTracer('shop').startSpan('GetProduct', { kind: SpanKind.SERVER, startTime: start + 1, attributes: { 'rpc.system': 'grpc', 'app.product.id': product } }, child(root));
      const query = cat.getTracer('shop').startSpan('SELECT products', { kind: SpanKind.CLIENT, startTime: start + 2, attributes: { 'db.system': 'postgresql' } }, child(server));
      query.end(start + 4);
      if (failing) {
        server.recordException(new Error(FAILURE), start + 5);
        server.setStatus({ code: SpanStatusCode.ERROR, message: FAILURE });
        root.setStatus({ code: SpanStatusCode.ERROR });
        root.setAttribute('http.response.status_code', 500);
      } else root.setAttribute('http.response.status_code', 200);
      server.end(start + 6 + (i % 3));
      root.end(start + 9 + (i % 3));
    }
  }
  await Promise.all([fe.forceFlush(), cat.forceFlush()]);
  // Taken before shutdown, which empties the exporter.
  const spans = [...exporter.getFinishedSpans()];
  await Promise.all([fe.shutdown(), cat.shutdown()]);
  return spans;
}

async function noHorizontalOverflow(page: Page): Promise<number> {
  return page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
}

/** Presses Tab until the focused element matches `selector`; fails after `max` presses. */
async function tabTo(page: Page, selector: string, max = 60): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate<boolean>(`document.activeElement?.matches(${JSON.stringify(selector)}) ?? false`)) return;
  }
  throw new Error(`Tab never reached ${selector} after ${max} presses`);
}

describe('peregrine console in a real browser on the real stack', () => {
  let consoleApp: RunningConsole;
  let pipeline: Pipeline | undefined;
  let browser: Browser;
  let page: Page;
  const dialogs: string[] = [];

  beforeAll(async () => {
    await ensureChromium();
    mkdirSync(shots, { recursive: true });
    consoleApp = await startConsole(config, ConsoleConfig.parse({ port: 0, authToken: TOKEN, kibanaUrl: 'http://127.0.0.1:5601' }), log);
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
  }, 600_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await pipeline?.stop().catch(() => undefined);
    await consoleApp?.stop().catch(() => undefined);
    await deleteFindingsIndex(es, config.elasticsearch.findingsAlias).catch(() => undefined);
    await es.indices.delete({ index: config.elasticsearch.feedbackIndex, ignore_unavailable: true }).catch(() => undefined);
    await es.close();
    console.info(`console screenshots: ${shots}`);
  });

  it('asks for the token once, shows a finding written while the page is open, and opens it from the keyboard', async () => {
    await page.goto(`${consoleApp.url}/`);
    await page.fill('input[name="token"]', 'not-the-token-000000');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/login\?failed=1/);
    expect(await page.locator('#login-error').isVisible()).toBe(true);
    await page.fill('input[name="token"]', TOKEN);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#live-status[data-state="live"]', { timeout: 60_000 });
    expect(page.url()).toBe(`${consoleApp.url}/`);
    expect(page.url()).not.toContain(TOKEN);
    const cookies = await browser.context.cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ name: 'peregrine_console', httpOnly: true, sameSite: 'Strict' });
    expect(cookies[0]!.value).not.toContain(TOKEN);
    expect(await page.locator('#summary').textContent()).toMatch(/No findings match/);

    // Now the telemetry: the stack's front end for Jaeger, the test's spans topic for the pipeline.
    const t0 = Math.floor((Date.now() - 150_000) / 10_000) * 10_000;
    const spans = await shopTraces(t0);
    expect(spans).toHaveLength(10 * 20 * 3);
    const byTrace = new Map<string, ReadableSpan[]>();
    for (const s of spans) byTrace.set(s.spanContext().traceId, [...(byTrace.get(s.spanContext().traceId) ?? []), s]);
    const traces = [...byTrace.values()];
    for (let i = 0; i < traces.length; i += 50) {
      const body = encodeTraceRequest(traces.slice(i, i + 50).flat());
      const res = await fetch(STACK_URLS.otlpHttpTraces, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
      expect(res.status).toBe(200);
    }
    const kafka = createKafkaAdapter(config.kafka, log);
    await kafka.ensureTopics([{ topic: config.topics.spans, partitions: 3 }]);
    const producer = await kafka.producer();
    for (let i = 0; i < traces.length; i += 20) {
      await producer.send(config.topics.spans, traces.slice(i, i + 20).map((t) => ({ key: t[0]!.spanContext().traceId, value: encodeTraceRequest(t) })));
    }
    await producer.close();
    await kafka.close();
    const windows: string[] = [];
    pipeline = await startPipeline(config, log, { hooks: { onEmit: (vs) => windows.push(...vs.map((v) => `${v.entityId}@${v.windowStartMs - t0}`)) } });

    // The catalog's error burst appears on the open page, pushed: nobody reloads it.
    const row = page.locator(`li[data-finding-id]:has(.entity:text-is("operation:${catalog}:GetProduct"))`).first();
    await row.waitFor({ timeout: 240_000 }).catch(async (e: unknown) => {
      // What the page and Elasticsearch showed, for whoever reads the failure.
      await page.screenshot({ path: path.join(shots, 'no-finding.png'), fullPage: true });
      const indexedNow = await es.search({ index: config.elasticsearch.findingsAlias, size: 20 }).then((r) => r.hits.hits.map((h) => (h._source as { peregrine?: { entity?: { id?: string } } }).peregrine?.entity?.id), () => 'no index');
      throw new Error(`${(e as Error).message}\npage: ${await page.locator('#summary').textContent()} (${await page.locator('#live-status').textContent()}); indexed: ${JSON.stringify(indexedNow)}; windows: ${windows.length} ${windows.slice(0, 4).join(' ')}`);
    });
    const id = (await row.getAttribute('data-finding-id'))!;
    expect(await row.locator('.score-value').textContent()).toMatch(/^\d+$/);
    expect(await row.locator('.message').textContent()).toMatch(/GetProduct/);
    expect(await row.locator('.technique').textContent()).toBeTruthy();
    expect(await row.getAttribute('class')).toContain('fresh');
    const indexed = await waitFor('the finding in Elasticsearch', async () => {
      const r = await es.search<{ peregrine: { entity: { id: string }; exemplars: Array<{ trace_id: string; span_id: string }> } }>({ index: config.elasticsearch.findingsAlias, query: { ids: { values: [id] } } });
      return r.hits.hits[0]?._source;
    });
    expect(indexed.peregrine.entity.id).toBe(`operation:${catalog}:GetProduct`);
    const exemplar = indexed.peregrine.exemplars[0]!;
    await page.screenshot({ path: path.join(shots, 'findings-1280.png'), fullPage: true });
    expect(await noHorizontalOverflow(page)).toBeLessThanOrEqual(0);

    // Jaeger has the example trace (it reads the same spans from otlp_spans) before we open the finding.
    const jaegerTrace = await waitFor('the example trace in Jaeger', () => fetchJaegerTrace(config.jaeger.queryUrl, exemplar.trace_id), 120_000);

    // Keyboard: Tab reaches the row's link, Enter opens the finding.
    await page.locator('body').focus();
    await tabTo(page, 'li[data-finding-id] > a.finding-link');
    // Down arrow moves between rows; come back to ours.
    const focusedId = () => page.evaluate<string | null>("document.activeElement?.closest('[data-finding-id]')?.getAttribute('data-finding-id') ?? null");
    while ((await focusedId()) !== id) {
      const before = await focusedId();
      await page.keyboard.press('ArrowDown');
      if ((await focusedId()) === before) throw new Error(`arrow keys never reached finding ${id}`);
    }
    await page.keyboard.press('Enter');
    await page.waitForURL(`${consoleApp.url}/findings/${id}`);

    // The waterfall: every span of the trace as a row, the failing span marked.
    const waterfall = page.locator(`ol.waterfall[data-trace-id="${exemplar.trace_id}"]`);
    await waterfall.waitFor({ timeout: 60_000 });
    const rows = waterfall.locator('li[data-span-id]');
    expect(await rows.count()).toBe(jaegerTrace.spans.length);
    const failing = jaegerTrace.spans.filter(isErrorSpan).map((s) => s.spanID).sort();
    expect(failing.length).toBeGreaterThan(0);
    const marked = (await waterfall.locator('li[data-span-id][data-status="error"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-span-id')))).sort();
    expect(marked).toEqual(failing);
    const catalogFailure = waterfall.locator(`li[data-span-id][data-status="error"]:has(.svc:text-is("${catalog}"))`);
    expect(await catalogFailure.locator('.badge-error').isVisible()).toBe(true);
    expect(await catalogFailure.locator('.op').textContent()).toBe('GetProduct');
    // Attributes open from the keyboard too (a <details>): the failing product id is there.
    await catalogFailure.locator('summary').focus();
    await page.keyboard.press('Enter');
    expect(await catalogFailure.locator('details').getAttribute('open')).toBe('');
    const attributes = catalogFailure.locator('details > dl.attrs');
    expect(await attributes.isVisible()).toBe(true);
    expect(await attributes.textContent()).toContain('OLJCESPC7Z');
    expect(await catalogFailure.locator('.status-message').textContent()).toContain(FAILURE);
    expect(await page.locator('#raw-json').textContent()).toContain(`"id": "${id}"`);
    await page.screenshot({ path: path.join(shots, 'finding-1280.png'), fullPage: true });
    expect(await noHorizontalOverflow(page)).toBeLessThanOrEqual(0);

    // The verdict, from the keyboard: a note, then Tab to "False positive" and Enter.
    await page.locator('textarea[name="note"]').fill('flag flipped by the release team');
    await page.locator('textarea[name="note"]').focus();
    await tabTo(page, 'button[value="false_positive"]', 5);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#verdict-status:text("Saved: false positive.")', { timeout: 30_000 });
    const stored = (await feedbackOf(es, config.elasticsearch, [id])).get(id);
    expect(stored).toMatchObject({ findingId: id, verdict: 'false_positive', note: 'flag flipped by the release team' });
    // Retraining reads it as the CLI's verdicts: a false positive becomes normal training data...
    expect((await labelledVectors(es, config.elasticsearch)).map((l) => [l.findingId, l.verdict])).toEqual([[id, 'false_positive']]);
    // A second verdict replaces the first (one document per finding), by mouse this time.
    await page.getByRole('button', { name: 'Benign' }).click();
    await page.waitForSelector('#verdict-status:text("Saved: benign.")', { timeout: 30_000 });
    expect((await feedbackOf(es, config.elasticsearch, [id])).get(id)?.verdict).toBe('benign');
    // ...and a benign one stays out of it.
    expect(await labelledVectors(es, config.elasticsearch)).toEqual([]);
    expect(await page.locator('.verdict-buttons button[aria-pressed="true"]').textContent()).toBe('Benign');

    // A phone-sized screen: no horizontal scrolling, the spans and the verdict buttons within the width.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await waterfall.waitFor({ timeout: 60_000 });
    expect(await noHorizontalOverflow(page)).toBeLessThanOrEqual(0);
    for (const box of [await rows.first().boundingBox(), await page.getByRole('button', { name: 'False positive' }).boundingBox()]) {
      expect(box!.x).toBeGreaterThanOrEqual(0);
      expect(box!.x + box!.width).toBeLessThanOrEqual(390);
    }
    await page.screenshot({ path: path.join(shots, 'finding-390.png'), fullPage: true });
    await page.goto(`${consoleApp.url}/`);
    await page.locator(`li[data-finding-id="${id}"]`).waitFor();
    expect(await page.locator(`li[data-finding-id="${id}"] .verdict`).textContent()).toBe('benign');
    expect(await noHorizontalOverflow(page)).toBeLessThanOrEqual(0);
    await page.screenshot({ path: path.join(shots, 'findings-390.png'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 800 });
  }, 600_000);

  it('renders a finding full of markup as text, live and on its page', async () => {
    await page.goto(`${consoleApp.url}/?since=all`);
    // Signed in already when the first test ran before this one.
    if (await page.locator('input[name="token"]').isVisible()) {
      await page.fill('input[name="token"]', TOKEN);
      await page.keyboard.press('Enter');
    }
    await page.waitForSelector('#live-status[data-state="live"]', { timeout: 60_000 });
    const now = Date.now();
    const evil: Finding = {
      detector: 'http_request', ruleName: '<img src=x onerror="window.__xss=1">', ruleDescription: '<script>window.__xss=2</script>',
      entityId: `operation:${frontend}:GET /search<svg onload=alert(1)>`, entityType: 'operation', service: frontend, operation: 'GET /search',
      windowStartMs: now, windowEndMs: now + 5, riskScore: 97, severity: severityOf(97),
      message: '"><script>alert(document.cookie)</script><b>bold</b>', explanation: [{ feature: 'value:q', actual: 30, typical: 0, share: 1 }],
      exemplars: [], threat: { tactic: { id: 'TA0001', name: 'Initial Access' }, technique: { id: 'T1190', name: '<i>Exploit</i>' } },
      request: { method: 'GET', target: '/search?q=%3Cscript%3Ealert(1)%3C/script%3E<img/src/onerror=alert(2)>', headers: { 'user-agent': '<svg/onload=alert(3)>' }, body: '' },
    };
    const id = findingId(evil);
    const doc = encodeEcsFinding(evil, { jaegerUiUrl: config.jaeger.uiUrl });
    // As the detectors stage does it: Elasticsearch first, then the alert feed.
    await bulkIndex(es, config.elasticsearch.findingsAlias, [{ id, doc }]);
    const kafka = createKafkaAdapter(config.kafka, log);
    const producer = await kafka.producer();
    await producer.send(config.topics.findings, [{ key: evil.entityId, value: Buffer.from(JSON.stringify(doc)), headers: { 'peregrine-finding-id': id } }]);
    await producer.close();
    await kafka.close();

    const sentMs = Date.now();
    const row = page.locator(`li[data-finding-id="${id}"]`);
    await row.waitFor({ timeout: 60_000 });
    console.info(`alert feed -> open page: ${Date.now() - sentMs} ms`);
    expect(await row.locator('.rule').textContent()).toBe(evil.ruleName);
    expect(await row.locator('.message').textContent()).toBe(evil.message);
    expect(await row.locator('.entity').textContent()).toBe(evil.entityId);
    expect(await row.locator('img, script, svg, b, i').count()).toBe(0);
    await row.locator('a').click();
    await page.waitForSelector('#head h1');
    expect(await page.locator('#head h1').textContent()).toBe(evil.ruleName);
    const mark = page.locator('#request mark').first();
    expect(await mark.textContent()).toBe('%3Cscript%3Ealert(1)%3C/script%3E<img/src/onerror=alert(2)>');
    expect(await page.locator('main img, main script, main svg, main b, main i').count()).toBe(0);
    expect(await page.evaluate<unknown>('window.__xss')).toBeUndefined();
    expect(dialogs).toEqual([]);
  }, 180_000);

  it('the stack runs the console on its port', async () => {
    const health = await fetch(`http://127.0.0.1:${CONSOLE_DEFAULT_PORT}/healthz`);
    expect(health.status).toBe(200);
    const page = await fetch(`http://127.0.0.1:${CONSOLE_DEFAULT_PORT}/`);
    expect(await page.text()).toContain('/static/app.js');
  });
});
