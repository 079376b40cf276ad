import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { PeregrineError } from '../../core/errors.ts';
import { DEFAULT_FRONTEND, ensureStackUp, FRONTENDS, parseServiceNames, stackDown, stackLogFile, stackStatus, SERVICE_NAMES, type Frontend, type ServiceName } from './stack.ts';
import { formatStatusTable } from './status-format.ts';
import { stackDir } from './paths.ts';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive whole number');
  return n;
}

function serviceList(value: string): ServiceName[] {
  try {
    return parseServiceNames(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

export function registerStackCommands(program: Command): void {
  const stack = program
    .command('stack')
    .description(`the real local stack: Kafka, Elasticsearch, Jaeger, MLflow (installed under ${stackDir()})`);

  stack
    .command('up')
    .description('install what is missing and start what is not healthy (idempotent)')
    .option('--only <services>', `comma-separated subset (their dependencies come along): ${SERVICE_NAMES.join(',')}`, serviceList)
    .addOption(new Option('--frontend <frontend>', 'who serves OTLP on 4317/4318: Peregrine\'s receiver, the stock collector (Jaeger\'s collector role), or none (run `peregrine run receiver` yourself)').choices(FRONTENDS).default(DEFAULT_FRONTEND))
    .option('--timeout-s <seconds>', 'per service: how long to wait for it to turn healthy', positiveInt, 180)
    .action(async (options: { only?: ServiceName[]; frontend: Frontend; timeoutS: number }) => {
      const status = await ensureStackUp({ only: options.only, frontend: options.frontend, timeoutS: options.timeoutS });
      process.stdout.write(`${formatStatusTable(status.services)}\n`);
      if (!status.healthy) process.exitCode = 1;
    });

  stack
    .command('status')
    .description('service, pid, port, health, version and memory; exits 1 if a started service is unhealthy')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const status = await stackStatus();
      process.stdout.write(options.json ? `${JSON.stringify(status, null, 2)}\n` : `${formatStatusTable(status.services)}\n`);
      if (!status.healthy) process.exitCode = 1;
    });

  stack
    .command('down')
    .description('stop exactly the processes `stack up` started (SIGTERM, then SIGKILL) and check none remain')
    .option('--only <services>', 'comma-separated subset', serviceList)
    .action(async (options: { only?: ServiceName[] }) => {
      const { stopped } = await stackDown({ only: options.only });
      process.stdout.write(stopped.length > 0 ? `stopped: ${stopped.join(', ')}\n` : 'nothing was running\n');
    });

  stack
    .command('logs')
    .description('show a service\'s log')
    .argument('<service>', SERVICE_NAMES.join(' | '))
    .option('-n, --lines <n>', 'how many lines from the end', positiveInt, 100)
    .option('-f, --follow', 'keep printing as the log grows')
    .action(async (name: string, options: { lines: number; follow?: boolean }) => {
      const [service] = parseServiceNames(name);
      const file = stackLogFile(service);
      if (!existsSync(file)) throw new PeregrineError(`${service} has no log yet (${file}): run \`peregrine stack up\``);
      // tail -F follows across the rotation `stack up` does at each start.
      const child = spawn('tail', ['-n', String(options.lines), ...(options.follow ? ['-F'] : []), file], { stdio: 'inherit' });
      await new Promise<void>((resolve) => child.once('close', (code) => { process.exitCode = code ?? 0; resolve(); }));
    });
}
