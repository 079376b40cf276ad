/**
 * The stock collector as a benchmark anchor: a private process of the stack's Jaeger binary (an OpenTelemetry
 * Collector build) on free ports, with the pipeline of `peregrine stack up --frontend collector`
 * (deploy/local/jaeger/collector.yaml) pointed at the benchmark's own topics, so the stack's front end on
 * 4317/4318 is left alone. Its CPU is read from /proc, its span counts from its own Prometheus metrics.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { LOCAL_DIR, stackPaths } from '../deploy/local/paths.ts';
import { jaegerCollector } from '../deploy/local/services/jaeger.ts';
import { freePort } from '../ingest/receiver/testing/test-receiver.ts';

const CLOCK_TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process (or one of its threads) has used so far, from /proc/<pid>[/task/<tid>]/stat. */
export function processCpuSeconds(pid: number, tid?: number): number {
  const stat = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at ") ": utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

export interface StockCollector {
  pid: number;
  /** OTLP/gRPC and OTLP/HTTP endpoints (host:port). */
  grpcEndpoint: string;
  httpEndpoint: string;
  cpuSeconds(): number;
  /** Sum of a counter of the collector's own metrics (e.g. `otelcol_exporter_sent_spans_total`). */
  counter(name: string): Promise<number>;
  stop(): Promise<void>;
}

/** The Jaeger binary of the local stack, built on first use (as `peregrine stack up` would). */
async function jaegerBinary(): Promise<string> {
  const paths = stackPaths();
  if (!jaegerCollector.isInstalled(paths)) {
    await jaegerCollector.install({ paths, progress: (line: string) => process.stderr.write(`jaeger: ${line}\n`) } as never);
  }
  return paths.jaeger.binary;
}

type Pipelines = Record<string, { receivers: string[]; processors?: string[]; exporters: string[] }>;

/**
 * Starts the collector. `mode: 'frontend'` is the stack's front end pipeline (OTLP → batch → kafka exporter) writing
 * to `topics`; `mode: 'kafka-receiver'` reads `topics.traces` with the kafka receiver (group `groupId`) into a nop
 * exporter, to time the consuming side.
 */
export async function startStockCollector(options: { mode: 'frontend' | 'kafka-receiver'; topics: { traces: string; metrics: string; logs: string }; groupId?: string }): Promise<StockCollector> {
  const binary = await jaegerBinary();
  const config = parse(readFileSync(join(LOCAL_DIR, 'jaeger', 'collector.yaml'), 'utf8')) as Record<string, any>;
  const [grpc, http, health, healthGrpc, metrics] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  config.extensions.healthcheckv2.http.endpoint = `127.0.0.1:${health}`;
  config.extensions.healthcheckv2.grpc.endpoint = `127.0.0.1:${healthGrpc}`;
  config.service.telemetry.metrics.readers[0].pull.exporter.prometheus.port = metrics;
  config.service.telemetry.logs.level = 'warn';
  config.receivers.otlp.protocols.grpc.endpoint = `127.0.0.1:${grpc}`;
  config.receivers.otlp.protocols.http.endpoint = `127.0.0.1:${http}`;
  const kafka = config.exporters.kafka;
  kafka.traces.topic = options.topics.traces;
  kafka.metrics.topic = options.topics.metrics;
  kafka.logs.topic = options.topics.logs;
  if (options.mode === 'kafka-receiver') {
    config.receivers = {
      kafka: {
        brokers: kafka.brokers,
        client_id: 'peregrine-bench',
        group_id: options.groupId ?? 'peregrine-bench',
        initial_offset: 'earliest',
        traces: { topic: options.topics.traces, encoding: 'otlp_proto' },
      },
    };
    config.processors = {};
    config.exporters = { nop: {} };
    config.service.pipelines = { traces: { receivers: ['kafka'], exporters: ['nop'] } } satisfies Pipelines;
  }
  const dir = mkdtempSync(join(tmpdir(), 'peregrine-bench-collector-'));
  const configFile = join(dir, 'collector.yaml');
  writeFileSync(configFile, stringify(config));
  const child: ChildProcess = spawn(binary, ['--config', configFile], { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-4000); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const counter = async (name: string): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text();
    let sum = 0;
    for (const line of text.split('\n')) if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    return sum;
  };
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  // healthcheckv2 answers 200 on /status once every pipeline is up.
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the stock collector exited (${child.exitCode}): ${log}`);
    const ok = await fetch(`http://127.0.0.1:${health}/status`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the stock collector did not become healthy within 60 s: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    pid: child.pid!,
    grpcEndpoint: `127.0.0.1:${grpc}`,
    httpEndpoint: `127.0.0.1:${http}`,
    cpuSeconds: () => processCpuSeconds(child.pid!),
    counter,
    stop,
  };
}
