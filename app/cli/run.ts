import type { Command } from 'commander';
import { loadAppConfig } from '../config.ts';
import { createLogger } from '../../core/log.ts';
import { startPipeline, DEFAULT_STAGES, STAGE_IDS } from '../runtime.ts';

export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const done = (signal: NodeJS.Signals) => resolve(signal);
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description(`run pipeline stages (default: ${DEFAULT_STAGES.join(', ')}; receiver serves OTLP on 4317/4318, as the stack already does unless started with --frontend none)`)
    .argument('[stages...]', `stages to run (${STAGE_IDS.join(', ')})`)
    .option('-c, --config <file>', 'YAML configuration file (environment variables PEREGRINE__SECTION__KEY override it)')
    .action(async (stages: string[], opts: { config?: string }) => {
      const config = loadAppConfig({ file: opts.config });
      const log = createLogger({ level: config.log.level });
      const pipeline = await startPipeline(config, log, { stages });
      const signal = await untilSignal();
      log.info({ signal }, 'stopping');
      await pipeline.stop();
    });
}
