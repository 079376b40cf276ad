/**
 * Runs one scenario through the whole pipeline on the real stack and scores it. Fast mode: the shop's model in
 * simulated time, through an OTLP receiver the run starts on a free port with the run's own topics. Live mode: the
 * shop's real services on 127.0.0.1, exporting to that receiver, traffic sent on the wall clock.
 */
import { createElasticsearchClient } from '../../core/elasticsearch/client.ts';
import { errorMessage } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import { pipelineDrops, pipelineLag, receiverPort, type DemoConfig, type StartPipeline } from '../pipeline.ts';
import type { Scenario } from '../scenario/parse.ts';
import { FastShop } from '../shop/fast.ts';
import type { Action } from '../traffic/actions.ts';
import { simulatedStart } from '../traffic/curve.ts';
import { scenarioActions } from '../traffic/scenario.ts';
import { FindingWatcher, readFindings } from './findings.ts';
import { deleteRunIndices, deleteRunModels, isolateConfig, RunAdmin, runId, runName } from './isolation.ts';
import { DETECTION_GRACE_MS, falseFindings, scoreRun, type EvalMode, type EvalResult, type EventRun, type ObservedFinding } from './score.ts';

export interface RunOptions {
  config: DemoConfig;
  log: Logger;
  startPipeline: StartPipeline;
  mode: EvalMode;
  print(line: string): void;
  signal: AbortSignal;
  /** Leave the run's topics, groups and indices in place (to look at them). */
  keep?: boolean;
  /** How long to wait for the pipeline to close the scenario's last windows after the traffic ended. */
  drainTimeoutMs?: number;
  /** Live mode only: starts the shop and sends the traffic (live.ts); injected so fast-mode runs need no servers. */
  runLive?: LiveRunner;
}

/**
 * Starts the live shop, then calls `begin()` for the scenario's start (the wall clock once the services are up) and
 * carries out the actions on the wall clock.
 */
export type LiveRunner = (scenario: Scenario, options: {
  endpoint: string; ordersTopic: string; tailMs: number; config: DemoConfig; log: Logger; print(line: string): void; signal: AbortSignal;
  begin(): number; onAction(action: Action, wallMs: number): void;
}) => Promise<void>;

export interface RunOutcome {
  /** Names the run's topics, groups and alias (all deleted afterwards unless kept). */
  runId: string;
  result: EvalResult;
  findings: ObservedFinding[];
  runs: EventRun[];
  startMs: number;
  wallSeconds: number;
  stats?: Record<string, number>;
  warnings: string[];
}

const sleep = (ms: number, signal: AbortSignal) => new Promise<void>((resolve) => {
  const timer = setTimeout(done, ms);
  function done() { clearTimeout(timer); signal.removeEventListener('abort', done); resolve(); }
  signal.addEventListener('abort', done, { once: true });
});

/** Records the stages may have left unread before fast mode waits for them. */
const MAX_FAST_LAG = 2_000;

/** Normal traffic after the end: enough event time for the windows of the last event and its grace period to close. */
export function tailMsFor(config: DemoConfig): number {
  return DETECTION_GRACE_MS + 2 * config.features.windowMs + config.features.allowedLatenessMs + 10_000;
}

export async function runScenario(scenario: Scenario, options: RunOptions): Promise<RunOutcome> {
  const started = Date.now();
  const id = runId(scenario.name);
  const config = isolateConfig(options.config, id);
  const { log, print, signal } = options;
  const warnings: string[] = [];
  const es = createElasticsearchClient(config.elasticsearch);
  const admin = new RunAdmin(config, id, log);
  const alias = config.elasticsearch.findingsAlias;
  let newestWindowEnd = -Infinity;
  const tailMs = tailMsFor(config);
  let startMs = 0;
  let endMs = 0;
  let runs: EventRun[] = [];
  /** The scenario's clock starts: simulated in fast mode, the wall clock once the live shop is up. */
  const begin = (at: number) => {
    startMs = at;
    endMs = startMs + scenario.durationMs;
    runs = scenario.events.map((event) => ({ event, startMs: startMs + event.atMs, endMs: startMs + event.atMs + event.durationMs }));
    return startMs;
  };
  print(`[${scenario.name}] run ${id}: ${options.mode} mode, ${fmtHours(scenario.durationMs)} of traffic, ${scenario.events.length} event(s)`);
  await admin.createTopics();
  const pipeline = await options.startPipeline(config, log, {
    stages: ['receiver', 'features', 'detectors', 'findings'],
    hooks: { onEmit: (vectors) => { for (const v of vectors) if (v.windowEndMs > newestWindowEnd) newestWindowEnd = v.windowEndMs; } },
  });
  let watcher: FindingWatcher | undefined;
  let stats: Record<string, number> | undefined;
  try {
    const endpoint = `http://127.0.0.1:${receiverPort(pipeline)}`;
    const headers = config.receiver.authToken ? { authorization: `Bearer ${config.receiver.authToken}` } : undefined;
    const onAction = (action: Action, wallMs?: number) => {
      if (action.eventIndex === undefined) return;
      const run = runs[action.eventIndex]!;
      if (run.firstAttackMs === undefined) {
        run.firstAttackMs = action.timeMs;
        run.firstAttackWallMs = wallMs;
        const e = run.event;
        print(`[${scenario.name}] ${e.kind} begins at +${fmtHours(e.atMs)} (line ${e.line})`);
      }
    };
    if (options.mode === 'fast') {
      begin(simulatedStart(Date.now(), scenario.durationMs + tailMs));
      // Simulated time runs as fast as the pipeline reads it, and no faster: a partition whose records wait in Kafka
      // while others are read would look idle to the features stage, and its records would then arrive late.
      const beforeExport = async () => {
        while (!signal.aborted && (await pipelineLag(pipeline, config.metrics.authToken)) > MAX_FAST_LAG) await sleep(100, signal);
      };
      const shop = new FastShop({ endpoint, seed: scenario.seed, startMs, headers, signal, beforeExport });
      let nextReport = startMs;
      const span = scenario.durationMs + tailMs;
      stats = { ...await shop.run(scenarioActions(scenario, { startMs, tailMs }), (action) => {
        onAction(action);
        if (action.timeMs >= nextReport) {
          print(`[${scenario.name}]   ${Math.round(((action.timeMs - startMs) / span) * 100)}% of simulated time (${fmtHours(action.timeMs - startMs)}), ${shop.stats.requests} requests, ${shop.stats.spans} spans exported, ${Math.round((Date.now() - started) / 1000)} s`);
          nextReport += span / 10;
        }
      }) };
    } else {
      if (!options.runLive) throw new Error('live mode needs the live shop runner');
      print(`[${scenario.name}] the run's OTLP receiver: ${endpoint} (point the eBPF sensor here to have it seen: peregrine sensor --otlp-endpoint ${endpoint})`);
      watcher = new FindingWatcher(es, alias);
      watcher.start();
      await options.runLive(scenario, { endpoint, ordersTopic: runName(id, 'orders'), begin: () => begin(Date.now()), tailMs, config, log, print, signal, onAction: (a, wall) => onAction(a, wall) });
    }
    if (signal.aborted) throw new Error('interrupted');
    // The scenario's windows (and the grace after its last event) are closed once the features stage emitted past them;
    // then the detectors have judged them once their groups have caught up.
    const deadline = Date.now() + (options.drainTimeoutMs ?? 240_000);
    while (newestWindowEnd < endMs + DETECTION_GRACE_MS && Date.now() < deadline && !signal.aborted) await sleep(500, signal);
    if (newestWindowEnd < endMs + DETECTION_GRACE_MS) warnings.push(`the features stage had not closed the scenario's last windows after ${Math.round((options.drainTimeoutMs ?? 240_000) / 1000)} s; scored what was there`);
    let quiet = 0;
    while (quiet < 2 && Date.now() < deadline && !signal.aborted) {
      const lag = await admin.lag().catch(() => -1);
      quiet = lag === 0 ? quiet + 1 : 0;
      if (quiet < 2) await sleep(1_000, signal);
    }
    const drops = await pipelineDrops(pipeline, config.metrics.authToken);
    for (const [what, n] of Object.entries(drops)) if (n > 0) warnings.push(`the pipeline dropped ${n} record(s): ${what}`);
    stats = { ...stats, ...Object.fromEntries(Object.entries(drops).map(([k, v]) => [`dropped ${k}`, v])) };
    await es.indices.refresh({ index: alias }).catch(() => undefined);
    await watcher?.poll();
    const findings = (await readFindings(es, alias)).map((f) => ({ ...f, searchableAtMs: watcher?.searchableAt(f.id) }));
    const result = scoreRun({ scenario, mode: options.mode, scenarioStartMs: startMs, runs, findings });
    for (const f of falseFindings({ runs, findings, scenarioEndMs: endMs })) {
      log.info({ scenario: scenario.name, finding: f.id, detector: f.detector, entity: f.entity, window: [new Date(f.startMs).toISOString(), new Date(f.endMs).toISOString()] }, 'false finding');
    }
    return { runId: id, result, findings, runs, startMs, wallSeconds: (Date.now() - started) / 1000, stats, warnings };
  } finally {
    watcher?.stop();
    await pipeline.stop().catch((e: unknown) => log.warn({ err: errorMessage(e) }, 'pipeline stop failed'));
    if (!options.keep) {
      await admin.deleteRun();
      await deleteRunIndices(es, config);
      await deleteRunModels(config, id, log);
    }
    await admin.close();
    await es.close();
  }
}

export function fmtHours(ms: number): string {
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

