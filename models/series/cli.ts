import path from 'node:path';
import { Listr, ListrLogger, ProcessOutput } from 'listr2';
import type { ModelCommandGroups } from '../cli.ts';
import { ConfigError } from '../../core/errors.ts';
import { registerNabCommand } from '../nab/cli.ts';
import { listCsvTree, scoreFileTo, scoreFileToFile, type ScoreStreamResult } from './score.ts';
import { registerLocoCommand } from './loco-cli.ts';

interface ScoreSeriesOptions {
  input?: string;
  dir?: string;
  out?: string;
}

function reportSkipped(name: string, result: ScoreStreamResult): void {
  if (result.skipped === 0) return;
  process.stderr.write(`${name}: skipped ${result.skipped} malformed row(s)\n`);
  for (const e of result.errors) process.stderr.write(`  line ${e.line}: ${e.reason}\n`);
  if (result.skipped > result.errors.length) process.stderr.write(`  ... and ${result.skipped - result.errors.length} more\n`);
}

async function scoreSeries(options: ScoreSeriesOptions): Promise<void> {
  if (Boolean(options.input) === Boolean(options.dir)) throw new ConfigError('give either --input FILE or --dir DIR --out DIR');
  if (options.input) {
    let result: ScoreStreamResult;
    try {
      result = await scoreFileTo(options.input, process.stdout);
    } catch (error) {
      // The reader closed the pipe (`| head`): stop quietly, as other command-line tools do.
      if ((error as NodeJS.ErrnoException).code === 'EPIPE') return;
      throw error;
    }
    reportSkipped(options.input, result);
    process.stderr.write(`scored ${result.rows} row(s) of ${options.input}, max score ${result.maxScore.toFixed(4)}\n`);
    return;
  }
  if (!options.out) throw new ConfigError('--dir needs --out DIR');
  const inDir = path.resolve(options.dir!);
  const outDir = path.resolve(options.out);
  if (inDir === outDir) throw new ConfigError('--out must differ from --dir (files keep their names)');
  const files = await listCsvTree(inDir);
  if (files.length === 0) throw new ConfigError(`no .csv files under ${inDir}`);
  const results = new Map<string, ScoreStreamResult>();
  const started = process.hrtime.bigint();
  // Progress goes to stderr so stdout stays clean for pipes.
  const progressLogger = new ListrLogger({ processOutput: new ProcessOutput(process.stderr, process.stderr) });
  await new Listr(
    files.map((rel) => ({
      title: rel,
      task: async () => {
        results.set(rel, await scoreFileToFile(path.join(inDir, rel), path.join(outDir, rel)));
      },
    })),
    {
      concurrent: false,
      exitOnError: true,
      rendererOptions: { logger: progressLogger },
      fallbackRendererOptions: { logger: progressLogger },
    },
  ).run();
  let rows = 0;
  let skipped = 0;
  for (const [rel, result] of results) {
    rows += result.rows;
    skipped += result.skipped;
    reportSkipped(rel, result);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stderr.write(
    `scored ${files.length} file(s), ${rows} row(s) in ${seconds.toFixed(1)} s` + (skipped ? `, ${skipped} malformed row(s) skipped` : '') + ` -> ${outDir}\n`,
  );
}

/** `score series`, `eval nab` (streaming series detector and the NAB scorer). */
export function registerSeriesCommands(groups: ModelCommandGroups): void {
  groups.score
    .command('series')
    .description(
      'score univariate series with the streaming detector: reads timestamp,value CSV rows, writes ' +
        'timestamp,value,anomaly_score (scores in [0, 1], one row per valid input row; each score uses only that row ' +
        'and earlier ones). Malformed rows are skipped and reported with their line number on stderr.',
    )
    .option('--input <file>', 'one CSV file; results go to stdout')
    .option('--dir <dir>', 'a folder tree of CSV files (with --out)')
    .option('--out <dir>', 'output folder for --dir: each result keeps the same relative path and file name')
    .addHelpText('after', '\nExamples:\n  peregrine score series --input data.csv > scored.csv\n  peregrine score series --dir ../shared/data/nab/data --out results/peregrine\n')
    .action(scoreSeries);
  registerNabCommand(groups.evaluate);
  registerLocoCommand(groups.evaluate);
}
