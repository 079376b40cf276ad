import type { Command } from 'commander';

export function registerStackCommands(program: Command): void {
  program.command('stack').description('the real local stack: Kafka, Elasticsearch, Jaeger, MLflow');
}
