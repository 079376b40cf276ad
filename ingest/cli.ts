import type { Command } from 'commander';
import type { LoadConfig } from '../core/config.ts';
import { createKafkaAdapter } from '../core/kafka/kafkajs.ts';
import { createLogger } from '../core/log.ts';
import { ensureTopics } from '../core/topics.ts';
import { readPixieRowsFile } from './pixie/file.ts';
import { pixieRowsToTraceRequest } from './pixie/index.ts';

/** `peregrine import pixie FILE`: Pixie http_events rows → OTLP spans on otlp_spans, as Pixie's OpenTelemetry export makes them. */
export function registerImportCommands(program: Command, loadConfig: LoadConfig): void {
  const importer = program.command('import').description('import telemetry from other tools');
  importer
    .command('pixie')
    .description('turn Pixie http_events rows (JSON lines, optionally gzip) into OTLP spans on otlp_spans')
    .argument('<file>', 'http_events rows, one JSON object per line (.jsonl or .jsonl.gz)')
    .option('-c, --config <file>', 'YAML configuration file')
    .option('--service <name>', 'service.name for rows without a service column', 'pixie-http')
    .option('--batch <rows>', 'rows per ExportTraceServiceRequest message', (v) => Number(v), 500)
    .action(async (file: string, opts: { config?: string; service: string; batch: number }) => {
      const config = loadConfig({ file: opts.config });
      const log = createLogger({ level: config.log.level });
      const rows = await readPixieRowsFile(file);
      const kafka = createKafkaAdapter(config.kafka, log);
      await kafka.checkReachable();
      await ensureTopics(kafka, config.topics, ['spans']);
      const producer = await kafka.producer();
      const startedAt = Date.now();
      try {
        for (let i = 0; i < rows.length; i += opts.batch) {
          const value = pixieRowsToTraceRequest(rows.slice(i, i + opts.batch), { service: opts.service, fallbackTimeMs: startedAt + i });
          await producer.send(config.topics.spans, [{ value }]);
          process.stderr.write(`\rimported ${Math.min(rows.length, i + opts.batch)}/${rows.length} rows`);
        }
        process.stderr.write('\n');
      } finally {
        await producer.close();
        await kafka.close();
      }
      process.stdout.write(`${rows.length} rows from ${file} written as spans to ${config.topics.spans} in ${((Date.now() - startedAt) / 1000).toFixed(1)} s\n`);
    });
}
