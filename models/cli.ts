import type { Command } from 'commander';

/** `peregrine train|score|eval <kind>`: each model family adds its subcommands here. */
export function registerModelCommands(program: Command): void {
  const train = program.command('train').description('train a model');
  const score = program.command('score').description('score input with a model');
  const evaluate = program.command('eval').description('evaluate a model on labelled data');
  void train; void score; void evaluate;
}
