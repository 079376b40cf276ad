import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import type { StartPipeline } from '../pipeline.ts';
import { builtinScenarioFiles, registerEvalCommand } from './cli.ts';

const unusedPipeline: StartPipeline = async () => { throw new Error('no pipeline in a unit test'); };

/** A program shaped like peregrine's: `eval` already holds the model evaluations as subcommands. */
function program(): { program: Command; httpRuns: string[] } {
  const httpRuns: string[] = [];
  const p = new Command('peregrine').exitOverride().enablePositionalOptions();
  p.command('eval').command('http').option('--model <dir>').action((opts: { model: string }) => { httpRuns.push(opts.model); });
  registerEvalCommand(p, { startPipeline: unusedPipeline, loadConfig: () => { throw new Error('no configuration in a unit test'); } });
  return { program: p, httpRuns };
}

const dir = mkdtempSync(path.join(tmpdir(), 'peregrine-eval-cli-'));
const file = (name: string, text: string) => {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
};

describe('peregrine eval (scenarios)', () => {
  it('joins the existing eval command: its subcommands still run', async () => {
    const { program: p, httpRuns } = program();
    await p.parseAsync(['eval', 'http', '--model', '/tmp/m'], { from: 'user' });
    expect(httpRuns).toEqual(['/tmp/m']);
  });

  it('refuses a bad scenario file before anything runs, naming the file and line', async () => {
    const bad = file('bad.yaml', 'name: bad\nduration: 10m\nevents:\n  - kind: telepathy\n    at: 1m\n    duration: 1m\n');
    await expect(program().program.parseAsync(['eval', '--scenario-file', bad, '--out', dir], { from: 'user' })).rejects.toThrow(`${bad}:4: unknown kind "telepathy"`);
  });

  it('refuses two scenarios with the same name (they would write the same file) and a run without --out', async () => {
    const a = file('a.yaml', 'name: same\nduration: 10m\nevents: []\n');
    const b = file('b.yaml', 'name: same\nduration: 20m\nevents: []\n');
    await expect(program().program.parseAsync(['eval', '--scenario-file', a, b, '--out', dir], { from: 'user' })).rejects.toThrow(/scenario name "same" is used by both/);
    await expect(program().program.parseAsync(['eval', '--builtin'], { from: 'user' })).rejects.toThrow(/--out DIR is needed/);
  });

  it('finds the built-in scenarios', () => {
    const files = builtinScenarioFiles();
    expect(files.length).toBeGreaterThanOrEqual(15);
    expect(files.every((f) => f.endsWith('.yaml'))).toBe(true);
  });
});
