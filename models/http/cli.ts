import type { ModelCommandGroups } from '../cli.ts';

/** `train http`, `score http`, `eval http` (request model). */
export function registerHttpModelCommands(groups: ModelCommandGroups): void {
  void groups;
}
