/**
 * `peregrine demo`: the live shop (thirteen services with the OpenTelemetry JS SDK on 127.0.0.1) exporting to the
 * stack's OTLP front end, the pipeline, shoppers and bots; once the baselines are warm, the timeline: the Demo's
 * productCatalogFailure flag, hydra-style credential stuffing, sqlmap-style SQL injection and a dirb/nikto scan. Findings
 * are shown as they arrive; with `once`, the run passes when every required expectation arrived and its example
 * trace came back from Jaeger.
 */
import type { Logger } from '../core/log.ts';
import { observedFinding } from './eval/findings.ts';
import { matches, type EventRun, type ObservedFinding } from './eval/score.ts';
import { fetchJaegerTrace, isErrorSpan, tag, type JaegerSpan, type JaegerTrace } from '../core/jaeger.ts';
import { receiverPort, type DemoConfig, type StartPipeline } from './pipeline.ts';
import { isolateConfig, RunAdmin, runName } from './eval/isolation.ts';
import { parseScenario, type EventKind, type Scenario } from './scenario/parse.ts';
import { FLAG_FAILURE_PRODUCT } from './shop/catalog.ts';
import { LiveShop } from './shop/live-shop.ts';
import { driveLive } from './shop/live-run.ts';
import { GET_PRODUCT } from './shop/model.ts';
import { Random } from './shop/random.ts';
import { shopAccounts } from './shop/state.ts';
import { eventActors } from './traffic/attacks.ts';
import { scenarioActions } from './traffic/scenario.ts';
import { actionStream } from './traffic/stream.ts';
import { formatFinding } from './view.ts';

export type { StartPipeline };

export interface DemoOptions {
  startPipeline: StartPipeline;
  once: boolean;
  normalSeconds: number;
  failureSeconds: number;
  requestsPerSecond: number;
  /** OTLP/HTTP traces endpoint (…/v1/traces) or the endpoint's base URL. */
  otlpTracesUrl: string;
  /** Where a human reads what happens. */
  print(line: string): void;
  signal: AbortSignal;
  color?: boolean;
  expectations?: readonly DemoExpectation[];
}

/** A finding the demo waits for. `required` ones decide `--once`; the others are reported (tighten by flipping them). */
export interface DemoExpectation {
  event: EventKind;
  required: boolean;
  /** What the finding's example trace must show in Jaeger; a reason when it does not. */
  checkTrace?(trace: JaegerTrace): string | undefined;
}

export const CATALOG_SERVICE = 'product-catalog';

/** The failing GetProduct span of the product the flag breaks. */
export function failingGetProduct(trace: JaegerTrace): JaegerSpan | undefined {
  return trace.spans.find((s) => s.operationName === GET_PRODUCT && trace.processes[s.processID]?.serviceName === CATALOG_SERVICE && isErrorSpan(s) && tag(s, 'app.product.id') === FLAG_FAILURE_PRODUCT);
}

export const DEMO_EXPECTATIONS: readonly DemoExpectation[] = [
  { event: 'product_catalog_failure', required: true, checkTrace: (t) => (failingGetProduct(t) ? undefined : `no failing ${GET_PRODUCT} span of ${CATALOG_SERVICE} for ${FLAG_FAILURE_PRODUCT}`) },
  // Held to account once the request and client detectors land: flip `required` then.
  { event: 'credential_stuffing', required: false },
  { event: 'sql_injection', required: false },
  { event: 'scanning', required: false },
];

/** The demo's timeline after the warm-up, in the scenario file format (so it is checked like any scenario). */
export function demoTimeline(options: { failureSeconds: number; requestsPerSecond: number }): Scenario {
  const attackSeconds = Math.max(options.failureSeconds, 45);
  return parseScenario(`name: demo
seed: 14
duration: ${attackSeconds + 5}s
traffic: {sessions: 40, rate: ${options.requestsPerSecond}, bots: true}
events:
  - kind: product_catalog_failure
    at: 0s
    duration: ${options.failureSeconds}s
    expect: {detector: error_ratio}
  - kind: credential_stuffing
    at: 5s
    duration: 30s
    source: 203.0.113.7
    rate: 10
    expect: {technique: T1110, entity: "client:203.0.113.7"}
  - kind: sql_injection
    at: 10s
    duration: 30s
    source: 198.51.100.23
    target: GET /api/products/{productId}
    rate: 5
    expect: {technique: T1190, entity: "client:198.51.100.23"}
  - kind: scanning
    at: 15s
    duration: 30s
    source: 192.0.2.44
    target: GET /
    rate: 20
    expect: {technique: T1595, entity: "client:192.0.2.44"}
`, { file: 'demo timeline' });
}

export interface ExpectationResult {
  event: EventKind;
  required: boolean;
  finding?: ObservedFinding & { traceId?: string; link?: string };
  traceOk?: boolean;
  reason?: string;
}

export interface DemoResult {
  ok: boolean;
  findings: number;
  /** The first required expectation that arrived with its trace (the failing GetProduct). */
  expected?: { findingId: string; traceId: string; link: string; span: JaegerSpan };
  expectations: ExpectationResult[];
  reason?: string;
}

const sleep = (ms: number, signal: AbortSignal) => new Promise<void>((resolve) => {
  const timer = setTimeout(done, ms);
  function done() { clearTimeout(timer); signal.removeEventListener('abort', done); resolve(); }
  signal.addEventListener('abort', done, { once: true });
});

/** `…/v1/traces` or a base URL → the base URL the SDK exporters append their paths to. */
function otlpBase(url: string): string {
  return url.replace(/\/+$/, '').replace(/\/v1\/traces$/, '');
}

/**
 * The demo's pipeline reads topics of its own (a receiver on a free port writes them), so nobody else's traffic on the
 * shared stack mixes in; the shop exports to it and to the stack's front end (Jaeger stores the traces from there).
 * Findings go to the configured alias and alert topic, where Kibana and the console look.
 */
export async function runDemo(baseConfig: DemoConfig, log: Logger, options: DemoOptions): Promise<DemoResult> {
  const { print, signal } = options;
  const id = `demo-${Date.now().toString(36)}`;
  const config = isolateConfig(baseConfig, id, { sharedFindings: true });
  const admin = new RunAdmin(config, id, log);
  await admin.createTopics();
  const expectations = options.expectations ?? DEMO_EXPECTATIONS;
  let findings = 0;
  let normalSince = Infinity;
  const warmWindows = new Set<number>();
  let runs: EventRun[] = [];
  const arrived = new Map<EventKind, ObservedFinding & { traceId?: string; link?: string }>();
  const pipeline = await options.startPipeline(config, log, {
    stages: ['receiver', 'features', 'detectors', 'findings'],
    hooks: {
      onEmit: (vectors) => {
        for (const v of vectors) if (v.service === 'frontend' && v.windowEndMs > normalSince) warmWindows.add(v.windowStartMs);
      },
      onFinding: ({ doc }) => {
        findings++;
        print(formatFinding(doc, options.color));
        const id = (doc.event as { id?: string } | undefined)?.id ?? '';
        const observed = observedFinding(id, doc as never);
        if (!observed) return;
        for (const run of runs) {
          if (arrived.has(run.event.kind) || !matches(observed, run)) continue;
          arrived.set(run.event.kind, { ...observed, traceId: (doc.trace as { id?: string } | undefined)?.id, link: (doc.event as { url?: string } | undefined)?.url });
        }
      },
    },
  });
  const traffic = new AbortController();
  const stopTraffic = () => traffic.abort();
  signal.addEventListener('abort', stopTraffic, { once: true });
  let shop: LiveShop | undefined;
  try {
    const own = `http://127.0.0.1:${receiverPort(pipeline)}`;
    shop = await LiveShop.start({ otlpEndpoints: [own, otlpBase(options.otlpTracesUrl)], kafka: config.kafka, ordersTopic: runName(id, 'orders'), log, processes: 'single' });
    print(`shop up: 13 services on 127.0.0.1 (frontend ${shop.frontendUrl}), exporting OTLP to the demo's receiver (${own}) and to ${otlpBase(options.otlpTracesUrl)} (Jaeger)`);
    // Shoppers and bots go on for the whole demo.
    const normal = parseScenario(`name: demo-normal\nseed: 14\nduration: 24h\ntraffic: {sessions: 40, rate: ${options.requestsPerSecond}, bots: true}\nevents: []\n`, { file: 'demo normal traffic' });
    const background = driveLive(shop, scenarioActions(normal, { startMs: Date.now() }), traffic.signal);
    const timeline = demoTimeline(options);
    const accounts = shopAccounts();
    let round = 0;
    do {
      round++;
      arrived.clear();
      warmWindows.clear();
      normalSince = Date.now();
      print(`normal traffic for ${options.normalSeconds}s (${options.requestsPerSecond} req/s, 40 sessions, crawlers and health checks)`);
      await sleep(options.normalSeconds * 1000, signal);
      const warmupWindows = ((config.detectors.error_ratio as { warmupWindows?: number } | undefined)?.warmupWindows ?? 3) + 1;
      const warmDeadline = Date.now() + 120_000;
      while (options.once && !signal.aborted && warmWindows.size < warmupWindows && Date.now() < warmDeadline) {
        print(`baselines warming up: ${warmWindows.size} of ${warmupWindows} frontend windows closed; normal traffic goes on`);
        await sleep(5_000, signal);
      }
      if (signal.aborted) break;
      const startMs = Date.now() + 500;
      runs = timeline.events.map((event) => ({ event, startMs: startMs + event.atMs, endMs: startMs + event.atMs + event.durationMs }));
      for (const run of runs) print(`  +${run.event.atMs / 1000}s ${run.event.kind} for ${run.event.durationMs / 1000}s${describe(run)}`);
      const rng = new Random(timeline.seed + round);
      let pid = 31_000;
      const actors = timeline.events.flatMap((event, index) => eventActors({ event, index, startMs: startMs + event.atMs, rng: rng.fork(index), accounts, nextPid: () => pid++ }));
      await driveLive(shop, actionStream(actors, startMs + timeline.durationMs), signal, (action, wallMs) => {
        const run = action.eventIndex === undefined ? undefined : runs[action.eventIndex];
        if (run && run.firstAttackWallMs === undefined) run.firstAttackWallMs = wallMs;
      });
      if (!options.once) continue;
      print('waiting for the expected findings (windows close on the watermark or after the idle timeout)');
      const deadline = Date.now() + 150_000;
      const required = expectations.filter((e) => e.required).map((e) => e.event);
      let allRequiredAt: number | undefined;
      while (!signal.aborted && Date.now() < deadline) {
        if (required.every((k) => arrived.has(k))) {
          allRequiredAt ??= Date.now();
          // The others get a little longer, so the report says what arrived.
          if (expectations.every((e) => arrived.has(e.event)) || Date.now() - allRequiredAt > 20_000) break;
        }
        await sleep(1_000, signal);
      }
      return await checkExpectations(config, expectations, arrived, findings, signal, print);
    } while (!signal.aborted);
    return { ok: false, findings, expectations: [], reason: 'interrupted' };
  } finally {
    traffic.abort();
    signal.removeEventListener('abort', stopTraffic);
    await shop?.close().catch(() => undefined);
    await pipeline.stop();
    await admin.deleteRun();
    await admin.close();
  }
}

function describe(run: EventRun): string {
  const e = run.event;
  const from = e.source ? ` from ${e.source.kind === 'address' ? e.source.address : e.source.cidr}` : '';
  const target = e.target.kind === 'route' ? ` on ${e.target.route.method} ${e.target.route.route}` : e.target.kind === 'product' ? ` (GetProduct fails for ${e.target.productId})` : '';
  return `${from}${target}`;
}

/** Each expectation: did its finding arrive, and did Jaeger return its example trace (with what the check wants)? */
async function checkExpectations(config: DemoConfig, expectations: readonly DemoExpectation[], arrived: Map<EventKind, ExpectationResult['finding'] & object>, findings: number, signal: AbortSignal, print: (line: string) => void): Promise<DemoResult> {
  const results: ExpectationResult[] = [];
  let expected: DemoResult['expected'];
  for (const x of expectations) {
    const finding = arrived.get(x.event);
    const result: ExpectationResult = { event: x.event, required: x.required, finding };
    results.push(result);
    if (!finding) {
      result.reason = 'no matching finding arrived';
      continue;
    }
    if (!finding.traceId) {
      result.traceOk = false;
      result.reason = `finding ${finding.id} has no example trace`;
      continue;
    }
    const deadline = Date.now() + 60_000;
    let trace: JaegerTrace | undefined;
    let why: string | undefined = 'Jaeger did not return the trace';
    while (!signal.aborted && Date.now() < deadline) {
      trace = await fetchJaegerTrace(config.jaeger.queryUrl, finding.traceId).catch(() => undefined);
      why = trace ? x.checkTrace?.(trace) : `Jaeger did not return trace ${finding.traceId}`;
      if (trace && why === undefined) break;
      await sleep(1_000, signal);
    }
    result.traceOk = why === undefined;
    result.reason = why;
    if (result.traceOk && x.required && !expected && trace) {
      const span = failingGetProduct(trace) ?? trace.spans[0]!;
      expected = { findingId: finding.id, traceId: finding.traceId, link: finding.link ?? '', span };
    }
  }
  print('');
  print('expectations:');
  for (const r of results) {
    const status = r.finding ? (r.traceOk ? 'arrived, trace in Jaeger' : `arrived, ${r.reason}`) : r.reason;
    print(`  ${r.required ? 'required' : 'optional'} ${r.event}: ${status}`);
    if (r.finding && r.traceOk) {
      print(`    expected finding ${r.finding.id}: ${r.finding.detector} on ${r.finding.entity}`);
      print(`    example trace ${r.finding.traceId}: ${r.finding.link}`);
    }
  }
  const failed = results.filter((r) => r.required && !(r.finding && r.traceOk));
  return {
    ok: failed.length === 0, findings, expected, expectations: results,
    reason: failed.length ? failed.map((r) => `${r.event}: ${r.reason}`).join('; ') : undefined,
  };
}
