import type { ModelCommandGroups } from '../cli.ts';

/** `score series`, `eval nab` (streaming series detector and the NAB scorer). */
export function registerSeriesCommands(groups: ModelCommandGroups): void {
  void groups;
}
