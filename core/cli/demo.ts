import type { Command } from 'commander';
export function registerDemoCommand(program: Command): void {
  program.command('demo').description('the end-to-end demo');
}
