/** `peregrine config check|show`: validate a configuration as start-up would, and print what would run. */
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { loadAppConfig } from '../config.ts';

/** Keys whose values are secrets: shown as `***` (present) so a printed configuration can be shared. */
const SECRET_KEYS = /^(password|authToken|apiKey|secret|token|key)$/i;

export function maskSecrets(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v));
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSecrets(v, k)]));
  // A TLS `key` is a file path, not a secret; only strings under secret-looking keys outside `tls` are masked.
  return typeof value === 'string' && SECRET_KEYS.test(key) && !value.startsWith('/') ? '***' : value;
}

export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('check a configuration, or print the one that would run');
  config
    .command('check')
    .description('validate the configuration file and the PEREGRINE__ environment as start-up does (exit 2 naming the bad key)')
    .option('-c, --config <file>', 'YAML configuration file')
    .action((opts: { config?: string }) => {
      loadAppConfig({ file: opts.config });
      process.stdout.write(`${opts.config ?? 'the defaults and the environment'}: valid\n`);
    });
  config
    .command('show')
    .description('print the effective configuration (file, environment and every default) as YAML, secrets masked')
    .option('-c, --config <file>', 'YAML configuration file')
    .action((opts: { config?: string }) => {
      process.stdout.write(stringify(maskSecrets(loadAppConfig({ file: opts.config }))));
    });
}
