import { Command } from 'commander';
import { registerStackCommands } from '../../deploy/local/cli.ts';
import { registerRunCommand } from './run.ts';
import { registerConfigCommands } from './config.ts';
import { registerDemoCommand } from '../../demo/cli.ts';
import { registerEvalCommand } from '../../demo/eval/cli.ts';
import type { StartPipeline } from '../../demo/pipeline.ts';
import { registerModelCommands } from '../../models/cli.ts';
import { registerSensorCommand } from '../../ebpf/cli.ts';
import { registerImportCommands } from '../../ingest/cli.ts';
import { registerFindingsCommands } from '../../findings/feedback/cli.ts';
import { registerConsoleCommand } from '../../console/cli.ts';
import { registerKibanaCommands } from '../../deploy/kibana/cli.ts';
import { ConfigError, PeregrineError } from '../../core/errors.ts';
import { logger } from '../../core/log.ts';
import { loadAppConfig, type AppConfig } from '../config.ts';
import { startPipeline } from '../runtime.ts';

const program = new Command('peregrine')
  .description('Streaming anomaly detection for security monitoring of microservices')
  .version('0.1.0')
  .showHelpAfterError()
  // Subcommands own their options (`models show NAME --version N` is not the root's --version).
  .enablePositionalOptions();

// The command list is explicit: each area registers its own subcommands; those that read the configuration get the
// application's loader (its schema is the component list's).
registerStackCommands(program);
registerRunCommand(program);
registerConfigCommands(program);
// The demo's configuration is the application's (loaded by loadAppConfig, isolated per run by copying it).
const demoDeps = { startPipeline: ((config, log, options) => startPipeline(config as AppConfig, log, options)) as StartPipeline, loadConfig: loadAppConfig };
registerDemoCommand(program, demoDeps);
registerModelCommands(program, loadAppConfig);
// After the model commands: the scenario eval joins their `eval` command.
registerEvalCommand(program, demoDeps);
registerSensorCommand(program);
registerImportCommands(program, loadAppConfig);
registerFindingsCommands(program, loadAppConfig);
registerConsoleCommand(program, loadAppConfig);
registerKibanaCommands(program, loadAppConfig);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // Errors we raise on purpose are messages for the user, not stack traces.
  if (error instanceof ConfigError || error instanceof PeregrineError) {
    logger().error({ retryable: error.retryable }, error.message);
    process.stderr.write(`peregrine: ${error.message}\n`);
    process.exitCode = 2;
  } else {
    throw error;
  }
}
