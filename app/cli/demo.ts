import type { Command } from 'commander';
import { loadAppConfig } from '../config.ts';
import { createLogger } from '../../core/log.ts';
import { ensureStackUp, stackDown, stackStatus } from '../../deploy/local/stack.ts';
import { peregrineConsole } from '../../deploy/local/services/console.ts';
import { runDemo } from '../../demo/run.ts';
import { startPipeline } from '../runtime.ts';
import type { ErrorRatioConfig } from '../../detectors/error_ratio/index.ts';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('the main job: stack up if needed, pipeline, simulated shop, the productCatalogFailure scenario, findings with their Jaeger links')
    .option('-c, --config <file>', 'YAML configuration file')
    .option('--once', 'run the timeline once, print a summary, exit 0 only if the expected finding was indexed')
    .option('--normal-seconds <n>', 'normal traffic before the failure', (v) => Number(v), 40)
    .option('--failure-seconds <n>', 'how long GetProduct fails', (v) => Number(v), 30)
    .option('--rps <n>', 'shopper requests per second', (v) => Number(v), 30)
    .option('--otlp-endpoint <url>', 'OTLP/HTTP endpoint the shop exports to', 'http://127.0.0.1:4318')
    .action(async (opts: { config?: string; once?: boolean; normalSeconds: number; failureSeconds: number; rps: number; otlpEndpoint: string }) => {
      const config = loadAppConfig({ file: opts.config });
      const log = createLogger({ level: config.log.level === 'info' ? 'warn' : config.log.level });
      const print = (line: string) => process.stdout.write(`${line}\n`);
      const controller = new AbortController();
      const interrupt = () => { print('stopping (Ctrl-C)…'); controller.abort(); };
      process.once('SIGINT', interrupt);
      process.once('SIGTERM', interrupt);
      const before = await stackStatus();
      const after = await ensureStackUp();
      print(`investigation console: ${peregrineConsole.url} (live findings, traces, verdicts)`);
      const healthyBefore = new Set(before.services.filter((s) => s.health === 'healthy').map((s) => s.service));
      const startedByDemo = after.services.filter((s) => s.health === 'healthy' && !healthyBefore.has(s.service)).map((s) => s.service);
      const started = Date.now();
      let ok = false;
      try {
        const result = await runDemo(config, log, {
          startPipeline, warmupWindows: (config.detectors.error_ratio as ErrorRatioConfig).warmupWindows,
          once: Boolean(opts.once), normalSeconds: opts.normalSeconds, failureSeconds: opts.failureSeconds,
          requestsPerSecond: opts.rps, otlpTracesUrl: `${opts.otlpEndpoint.replace(/\/+$/, '')}/v1/traces`, print, signal: controller.signal,
        });
        ok = result.ok;
        print('');
        print(`demo summary (${Math.round((Date.now() - started) / 1000)} s): ${result.findings} finding(s) indexed into ${config.elasticsearch.findingsAlias}`);
        if (result.expected) {
          print(`  expected finding ${result.expected.findingId}: productcatalogservice GetProduct error ratio spike`);
          print(`  example trace ${result.expected.traceId}: ${result.expected.link}`);
          print(`  Jaeger returned its failing span ${result.expected.span.spanID} with app.product.id`);
        }
        if (controller.signal.aborted) print('  stopped by Ctrl-C');
        else if (!result.ok) print(`  FAILED: ${result.reason}`);
      } finally {
        // Everything the demo started stops with it; a stack that was already up stays up.
        if (controller.signal.aborted && startedByDemo.length > 0) await stackDown({ only: startedByDemo });
      }
      process.exitCode = controller.signal.aborted ? 130 : ok ? 0 : 1;
    });
}
