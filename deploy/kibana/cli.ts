/** `peregrine kibana export [-c cfg] [-o file]`: the saved objects for this configuration's Jaeger UI. */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { LoadConfig } from '../../core/config.ts';
import { exportSavedObjects } from './export.ts';

export function registerKibanaCommands(program: Command, loadConfig: LoadConfig): void {
  const kibana = program.command('kibana').description('Kibana saved objects for investigating findings (deploy/kibana)');
  kibana
    .command('export')
    .description('write the saved objects (data view, searches, dashboard) as ndjson, trace ids linking to jaeger.uiUrl')
    .option('-c, --config <file>', 'YAML configuration file (environment variables PEREGRINE__SECTION__KEY override it)')
    .option('-o, --output <file>', 'write here instead of standard output')
    .action((opts: { config?: string; output?: string }) => {
      const config = loadConfig({ file: opts.config });
      const ndjson = exportSavedObjects(config.jaeger.uiUrl);
      if (opts.output) writeFileSync(opts.output, ndjson);
      else process.stdout.write(ndjson);
    });
}
