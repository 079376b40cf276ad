import type { Client } from '@elastic/elasticsearch';
import type { PlatformConfig } from '../core/config.ts';
import { createElasticsearchClient } from '../core/elasticsearch/client.ts';
import type { Logger } from '../core/log.ts';
import type { FeatureVector } from '../schemas/feature-vector.ts';
import type { EncodedFinding } from '../findings/sinks/findings.ts';
import { ERROR_RATIO_DETECTOR } from '../detectors/error_ratio/detector.ts';
import { fetchJaegerTrace, isErrorSpan, tag, type JaegerSpan } from '../core/jaeger.ts';
import { CATALOG_SERVICE, GET_PRODUCT, PRODUCTS, startShop, type Shop } from './shop.ts';

/** Starts the features and detectors stages (app/runtime.ts passes itself in: the demo sits below the wiring). */
export type StartPipeline<C extends DemoConfig> = (config: C, log: Logger, options: { hooks: {
  onEmit?(vectors: FeatureVector[]): void;
  onIndexed?(finding: EncodedFinding): void;
} }) => Promise<{ stop(): Promise<void> }>;

/** What the demo reads of the configuration. */
export type DemoConfig = PlatformConfig;

export interface DemoOptions<C extends DemoConfig> {
  startPipeline: StartPipeline<C>;
  /** Windows the error-ratio baseline learns before it judges (`detectors.error_ratio.warmupWindows`). */
  warmupWindows: number;
  once: boolean;
  normalSeconds: number;
  failureSeconds: number;
  requestsPerSecond: number;
  otlpTracesUrl: string;
  /** Where a human reads what happens. */
  print(line: string): void;
  signal: AbortSignal;
}

export interface DemoResult {
  ok: boolean;
  findings: number;
  expected?: { findingId: string; traceId: string; link: string; span: JaegerSpan };
  reason?: string;
}

/** The featured product gets most visits, so its failure is visible in the operation's error ratio. */
const FAILING_PRODUCT = PRODUCTS[0]!;
function pickProduct(): string {
  return Math.random() < 0.4 ? FAILING_PRODUCT : PRODUCTS[1 + Math.floor(Math.random() * (PRODUCTS.length - 1))]!;
}

const sleep = (ms: number, signal: AbortSignal) => new Promise<void>((resolve) => {
  const done = () => { clearTimeout(timer); signal.removeEventListener('abort', done); resolve(); };
  const timer = setTimeout(done, ms);
  signal.addEventListener('abort', done, { once: true });
});

async function traffic(shop: Shop, seconds: number, rps: number, signal: AbortSignal): Promise<number> {
  const end = Date.now() + seconds * 1000;
  let sent = 0;
  while (Date.now() < end && !signal.aborted) {
    const tick = Date.now();
    await Promise.all(Array.from({ length: Math.max(1, Math.round(rps / 10)) }, () => shop.request(pickProduct()).catch(() => 0)));
    sent += Math.max(1, Math.round(rps / 10));
    await sleep(Math.max(0, 100 - (Date.now() - tick)), signal);
  }
  return sent;
}

interface FindingHit { _id: string; _source: { trace?: { id?: string }; event?: { url?: string } } }

async function findExpected(es: Client, config: PlatformConfig, sinceMs: number): Promise<FindingHit | undefined> {
  const result = await es.search<FindingHit['_source']>({
    index: config.elasticsearch.findingsAlias,
    size: 1,
    sort: [{ '@timestamp': 'desc' }],
    query: { bool: { filter: [
      { term: { 'event.kind': 'alert' } },
      { term: { 'rule.id': `peregrine.${ERROR_RATIO_DETECTOR}` } },
      { term: { 'service.name': CATALOG_SERVICE } },
      { term: { 'peregrine.operation': GET_PRODUCT } },
      { range: { 'event.end': { gt: sinceMs } } },
    ] } },
  }).catch(() => undefined);
  const hit = result?.hits.hits[0];
  return hit ? { _id: hit._id!, _source: hit._source! } : undefined;
}

/**
 * The walking skeleton end to end: shop → OTLP → the stack's front end (Peregrine's receiver) → otlp_spans → features → detectors → a finding in
 * Elasticsearch whose example trace Jaeger returns with the failing GetProduct span.
 */
export async function runDemo<C extends DemoConfig>(config: C, log: Logger, options: DemoOptions<C>): Promise<DemoResult> {
  const { print, signal } = options;
  let findings = 0;
  // The catalog's GetProduct windows closed since this round's normal traffic began: its baseline is trusted after
  // warmupWindows of them, so the failure waits for that (a slow machine closes windows late).
  let normalSince = Infinity;
  const warmWindows = new Set<number>();
  const pipeline = await options.startPipeline(config, log, {
    hooks: {
      onEmit: (vectors) => {
        for (const v of vectors) {
          if (v.service === CATALOG_SERVICE && v.operation === GET_PRODUCT && v.windowEndMs > normalSince) warmWindows.add(v.windowStartMs);
        }
      },
      onIndexed: ({ doc }) => {
        findings++;
        const event = doc.event as { url?: string; risk_score?: number };
        const rule = doc.rule as { name?: string };
        print(`FINDING risk=${event.risk_score} ${rule.name}: ${String(doc.message)}\n        trace: ${event.url ?? '(no exemplar)'}`);
      },
    },
  });
  const shop = await startShop({ otlpTracesUrl: options.otlpTracesUrl });
  const es = createElasticsearchClient(config.elasticsearch);
  try {
    do {
      print(`normal traffic for ${options.normalSeconds}s (${options.requestsPerSecond} req/s)`);
      shop.failProduct = undefined;
      warmWindows.clear();
      normalSince = Date.now();
      await traffic(shop, options.normalSeconds, options.requestsPerSecond, signal);
      const warmupWindows = options.warmupWindows;
      const warmDeadline = Date.now() + 120_000;
      while (options.once && !signal.aborted && warmWindows.size < warmupWindows && Date.now() < warmDeadline) {
        print(`baseline warming up: ${warmWindows.size} of ${warmupWindows} ${GET_PRODUCT} windows closed; normal traffic goes on`);
        await traffic(shop, 5, options.requestsPerSecond, signal);
      }
      if (signal.aborted) break;
      const failureStart = Date.now();
      print(`productCatalogFailure on: GetProduct fails for ${FAILING_PRODUCT} for ${options.failureSeconds}s`);
      shop.failProduct = FAILING_PRODUCT;
      await traffic(shop, options.failureSeconds, options.requestsPerSecond, signal);
      shop.failProduct = undefined;
      await shop.flush();
      if (!options.once) continue;
      print('waiting for the finding (windows close on the watermark or after the idle timeout)');
      const deadline = Date.now() + 120_000;
      let hit: FindingHit | undefined;
      while (!signal.aborted && Date.now() < deadline && !(hit = await findExpected(es, config, failureStart))) await sleep(1000, signal);
      if (!hit) return { ok: false, findings, reason: `no ${ERROR_RATIO_DETECTOR} finding for ${CATALOG_SERVICE} ${GET_PRODUCT} was indexed in ${config.elasticsearch.findingsAlias}` };
      const traceId = hit._source.trace?.id;
      if (!traceId) return { ok: false, findings, reason: `finding ${hit._id} has no trace.id` };
      let span: JaegerSpan | undefined;
      while (!signal.aborted && Date.now() < deadline + 60_000) {
        const t = await fetchJaegerTrace(config.jaeger.queryUrl, traceId);
        span = t?.spans.find((s) => s.operationName === GET_PRODUCT && t.processes[s.processID]?.serviceName === CATALOG_SERVICE && isErrorSpan(s));
        if (span) break;
        await sleep(1000, signal);
      }
      if (!span) return { ok: false, findings, reason: `Jaeger did not return trace ${traceId} with a failing ${GET_PRODUCT} span` };
      if (tag(span, 'app.product.id') !== FAILING_PRODUCT) return { ok: false, findings, reason: `failing span of trace ${traceId} lacks app.product.id=${FAILING_PRODUCT}` };
      return { ok: true, findings, expected: { findingId: hit._id, traceId, link: hit._source.event?.url ?? '', span } };
    } while (!signal.aborted);
    return { ok: !signal.aborted, findings, reason: signal.aborted ? 'interrupted' : undefined };
  } finally {
    await shop.close().catch(() => undefined);
    await pipeline.stop();
    await es.close();
  }
}
