import type { Command } from 'commander';

/** `peregrine sensor`: the eBPF node sensor. */
export function registerSensorCommand(program: Command): void {
  void program;
}
