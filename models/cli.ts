import type { Command } from 'commander';
import type { LoadConfig } from '../core/config.ts';
import { registerHttpModelCommands } from './http/cli.ts';
import { registerSeriesCommands } from './series/cli.ts';
import { registerWindowCommands } from './window/cli.ts';
import { registerRegistryCommands } from './registry/cli.ts';

export interface ModelCommandGroups {
  train: Command;
  score: Command;
  evaluate: Command;
  /** Reads the application's configuration (`-c FILE` and the environment). */
  loadConfig: LoadConfig;
}

/** `peregrine train|score|eval <kind>`: each model family adds its subcommands to the groups. */
export function registerModelCommands(program: Command, loadConfig: LoadConfig): void {
  const groups: ModelCommandGroups = {
    train: program.command('train').description('train a model'),
    score: program.command('score').description('score input with a model'),
    evaluate: program.command('eval').description('evaluate a model or detector on labelled data'),
    loadConfig,
  };
  registerHttpModelCommands(groups);
  registerSeriesCommands(groups);
  registerWindowCommands(groups);
  registerRegistryCommands(program);
}
