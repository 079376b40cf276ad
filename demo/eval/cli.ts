/** `peregrine eval --scenario-file FILE... [--builtin] [--fast] --out DIR`: scenarios through the whole pipeline, scored. */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { ConfigError } from '../../core/errors.ts';
import { commandSession, type CommandSession, type DemoDeps } from '../cli.ts';
import { ensureStackUp } from '../../deploy/local/stack.ts';
import type { StartPipeline } from '../pipeline.ts';
import { loadScenario, type Scenario } from '../scenario/parse.ts';
import { runLiveScenario } from '../shop/live-run.ts';
import { fmtHours, runScenario, type RunOutcome } from './run.ts';
import { summaryTable, type EvalMode } from './score.ts';

export const BUILTIN_DIR = fileURLToPath(new URL('../scenarios/', import.meta.url));

/** The repo's own scenarios (demo/scenarios/*.yaml), in name order. */
export function builtinScenarioFiles(dir = BUILTIN_DIR): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort().map((f) => path.join(dir, f));
}

/** Parses every file first, so a bad one stops the eval before anything runs; names must be unique (they name the outputs). */
export function loadScenarios(files: readonly string[]): Scenario[] {
  const scenarios = files.map((f) => loadScenario(f));
  const seen = new Map<string, string>();
  for (const s of scenarios) {
    const other = seen.get(s.name);
    if (other) throw new ConfigError(`scenario name "${s.name}" is used by both ${other} and ${s.file} (it names the output file)`, '--scenario-file');
    seen.set(s.name, s.file!);
  }
  return scenarios;
}

interface EvalOptions {
  scenarioFile?: string[];
  builtin?: boolean;
  fast?: boolean;
  out?: string;
  config?: string;
  keep?: boolean;
}

/**
 * Adds the scenario eval to the `eval` command (the model evaluations `eval http|series|window|nab` stay its
 * subcommands). Call after the model commands are registered.
 */
export function registerEvalCommand(program: Command, deps: DemoDeps): void {
  const command = program.commands.find((c) => c.name() === 'eval') ?? program.command('eval');
  command
    .description('evaluate detection end to end on shop scenarios (--scenario-file, --builtin), or a model or detector on labelled data (subcommands)')
    .option('--scenario-file <file...>', 'scenario YAML files (see demo/README.md)')
    .option('--builtin', 'also run the repo\'s scenarios (demo/scenarios/)')
    .option('--fast', 'simulated time: the shop\'s model through the real receiver, Kafka and stages, hours in minutes (default: live services on the wall clock)')
    .option('--out <dir>', 'writes DIR/<scenario>.json and DIR/summary.md')
    .option('-c, --config <file>', 'YAML configuration file (topics, groups and alias are replaced by each run\'s own)')
    .option('--keep', 'keep each run\'s topics, consumer groups and findings indices instead of deleting them')
    .action(async (opts: EvalOptions) => {
      const files = [...(opts.scenarioFile ?? []), ...(opts.builtin ? builtinScenarioFiles() : [])];
      if (files.length === 0) {
        command.help();
        return;
      }
      if (!opts.out) throw new ConfigError('--out DIR is needed (the results go there)', '--out');
      const scenarios = loadScenarios(files);
      const session = commandSession(opts.config, deps.loadConfig);
      await ensureStackUp();
      await runEval(scenarios, { ...session, out: opts.out, mode: opts.fast ? 'fast' : 'live', keep: opts.keep, startPipeline: deps.startPipeline });
      process.exitCode = session.signal.aborted ? 130 : 0;
    });
}

export interface EvalRunOptions extends CommandSession {
  out: string;
  mode: EvalMode;
  keep?: boolean;
  startPipeline: StartPipeline;
}

/** Runs the scenarios one after the other, writing OUT/<name>.json as each ends and OUT/summary.md (also printed) at the end. */
export async function runEval(scenarios: readonly Scenario[], options: EvalRunOptions): Promise<RunOutcome[]> {
  const { print, signal } = options;
  mkdirSync(options.out, { recursive: true });
  const outcomes: RunOutcome[] = [];
  const started = Date.now();
  for (const scenario of scenarios) {
    if (signal.aborted) break;
    const outcome = await runScenario(scenario, { ...options, runLive: runLiveScenario });
    outcomes.push(outcome);
    writeFileSync(path.join(options.out, `${scenario.name}.json`), `${JSON.stringify(outcome.result, null, 2)}\n`);
    for (const w of outcome.warnings) print(`[${scenario.name}] warning: ${w}`);
    const detected = outcome.result.events.filter((e) => e.detected).length;
    print(`[${scenario.name}] done in ${Math.round(outcome.wallSeconds)} s: ${detected} of ${outcome.result.events.length} event(s) detected, ${outcome.result.false_findings} false finding(s) over ${outcome.result.normal_hours} normal hours`);
  }
  const summary = `# Peregrine eval (${options.mode} mode)\n\n${summaryTable(outcomes.map((o) => o.result))}\nWall time: ${fmtHours(Date.now() - started)} for ${outcomes.length} scenario(s).\n`;
  writeFileSync(path.join(options.out, 'summary.md'), summary);
  print('');
  print(summary);
  return outcomes;
}
