/** `peregrine console [-c cfg]`: the investigation page for the SOC (see console/README.md). */
import { once } from 'node:events';
import type { Command } from 'commander';
import type { LoadConfig } from '../core/config.ts';
import { createLogger } from '../core/log.ts';
import { consoleConfigOf } from './config.ts';
import { startConsole } from './start.ts';

export function registerConsoleCommand(program: Command, loadConfig: LoadConfig): void {
  program
    .command('console')
    .description('the investigation console: live findings, explanations, trace waterfalls from Jaeger, analyst verdicts (http://127.0.0.1:9470)')
    .option('-c, --config <file>', 'YAML configuration file (section console:, plus elasticsearch:, kafka:, jaeger:, topics:)')
    .action(async (opts: { config?: string }) => {
      const config = loadConfig({ file: opts.config });
      const log = createLogger({ level: config.log.level });
      const running = await startConsole(config, consoleConfigOf(config), log);
      process.stdout.write(`peregrine console: ${running.url}\n`);
      const [signal] = await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]) as [NodeJS.Signals];
      log.info({ signal }, 'stopping');
      await running.stop();
    });
}
