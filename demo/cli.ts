/** `peregrine demo` and what the demo's and the eval's commands share (configuration, logging, Ctrl-C). */
import type { Command } from 'commander';
import type { LoadConfigOptions } from '../core/config.ts';
import { createLogger, type Logger } from '../core/log.ts';
import { ensureStackUp, stackDown, stackStatus } from '../deploy/local/stack.ts';
import { peregrineConsole } from '../deploy/local/services/console.ts';
import type { DemoConfig, StartPipeline } from './pipeline.ts';
import { runDemo } from './run.ts';

export interface CommandSession {
  config: DemoConfig;
  log: Logger;
  print(line: string): void;
  signal: AbortSignal;
}

/** Configuration (validated once), a quiet logger, stdout for the human, and Ctrl-C/SIGTERM as an abort signal. */
/** The application's configuration loader (app/ passes it in: its schema is the component list's). */
export type LoadDemoConfig = (options: LoadConfigOptions) => DemoConfig;

/** What the demo's and the eval's commands are given by app/. */
export interface DemoDeps { startPipeline: StartPipeline; loadConfig: LoadDemoConfig }

export function commandSession(configFile: string | undefined, loadConfig: LoadDemoConfig): CommandSession {
  const config = loadConfig({ file: configFile });
  const log = createLogger({ level: config.log.level === 'info' ? 'warn' : config.log.level });
  const print = (line: string) => process.stdout.write(`${line}\n`);
  const controller = new AbortController();
  const interrupt = () => { print('stopping (Ctrl-C)…'); controller.abort(); };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  return { config, log, print, signal: controller.signal };
}

interface DemoCommandOptions { config?: string; once?: boolean; normalSeconds: number; failureSeconds: number; rps: number; otlpEndpoint: string }

export function registerDemoCommand(program: Command, deps: DemoDeps): void {
  program
    .command('demo')
    .description('the main job: stack up if needed, pipeline, the simulated shop live, the failure flag, credential stuffing, SQL injection and a scan; findings as they arrive with their Jaeger links')
    .option('-c, --config <file>', 'YAML configuration file')
    .option('--once', 'run the timeline once, print a summary, exit 0 only if every required finding arrived and Jaeger returned its example trace')
    .option('--normal-seconds <n>', 'normal traffic before the timeline (longer until the baselines are warm)', (v) => Number(v), 40)
    .option('--failure-seconds <n>', 'how long GetProduct fails', (v) => Number(v), 30)
    .option('--rps <n>', 'shopper requests per second', (v) => Number(v), 30)
    .option('--otlp-endpoint <url>', 'OTLP/HTTP endpoint the shop exports to', 'http://127.0.0.1:4318')
    .action(async (opts: DemoCommandOptions) => {
      const { config, log, print, signal } = commandSession(opts.config, deps.loadConfig);
      const before = await stackStatus();
      const after = await ensureStackUp();
      print(`investigation console: ${peregrineConsole.url} (live findings, traces, verdicts)`);
      const healthyBefore = new Set(before.services.filter((s) => s.health === 'healthy').map((s) => s.service));
      const startedByDemo = after.services.filter((s) => s.health === 'healthy' && !healthyBefore.has(s.service)).map((s) => s.service);
      const started = Date.now();
      let ok = false;
      try {
        const result = await runDemo(config, log, {
          startPipeline: deps.startPipeline, once: Boolean(opts.once), normalSeconds: opts.normalSeconds, failureSeconds: opts.failureSeconds,
          requestsPerSecond: opts.rps, otlpTracesUrl: opts.otlpEndpoint, print, signal, color: process.stdout.isTTY,
        });
        ok = result.ok;
        print('');
        print(`demo summary (${Math.round((Date.now() - started) / 1000)} s): ${result.findings} finding(s) indexed into ${config.elasticsearch.findingsAlias}`);
        if (signal.aborted) print('  stopped by Ctrl-C');
        else if (!result.ok) print(`  FAILED: ${result.reason}`);
        else print('  every required finding arrived and Jaeger returned its example trace');
      } finally {
        // Everything the demo started stops with it; a stack that was already up stays up.
        if (signal.aborted && startedByDemo.length > 0) await stackDown({ only: startedByDemo });
      }
      process.exitCode = signal.aborted ? 130 : ok ? 0 : 1;
    });
}
