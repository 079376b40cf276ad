/**
 * `peregrine findings list` (recent findings with their ids and verdicts), `peregrine findings feedback ID
 * --verdict false_positive|true_positive`, and `peregrine findings export`: how an analyst's judgement reaches the
 * retraining jobs (`peregrine train window --feedback`; judged requests as rows for `train http` / `eval http`).
 */
import { Option, type Command } from 'commander';
import { withElasticsearch } from '../../core/elasticsearch/client.ts';
import type { LoadConfig } from '../../core/config.ts';
import { ConfigError } from '../../core/errors.ts';
import { writeFile } from 'node:fs/promises';
import { labelledRequests, recordFeedback, verdictsOf, VERDICTS, type Verdict } from './store.ts';

interface FindingRow {
  '@timestamp'?: string;
  event?: { id?: string; risk_score?: number };
  rule?: { name?: string };
  peregrine?: { detector?: string; entity?: { id?: string } };
  message?: string;
}

export function registerFindingsCommands(program: Command, loadConfig: LoadConfig): void {
  const elasticsearchOf = (file: string | undefined) => loadConfig({ file }).elasticsearch;
  const findings = program.command('findings').description('findings in Elasticsearch, and analysts\' verdicts on them');
  findings
    .command('list')
    .description('the newest findings: time, id, detector, risk, entity, verdict')
    .option('-c, --config <file>', 'YAML configuration file')
    .option('--limit <n>', 'how many', '20')
    .option('--detector <name>', 'only this detector (error_ratio, entity_window, http_request)')
    .option('--json', 'one JSON object per line')
    .action(async (opts: { config?: string; limit: string; detector?: string; json?: boolean }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new ConfigError(`--limit must be a whole number from 1 to 10000, got "${opts.limit}"`, '--limit');
      await withElasticsearch(elasticsearchOf(opts.config), async (es, config) => {
        const res = await es.search<FindingRow>({
          index: config.findingsAlias, size: limit, sort: [{ '@timestamp': 'desc' }], ignore_unavailable: true,
          query: opts.detector ? { term: { 'peregrine.detector': opts.detector } } : { match_all: {} },
        });
        // No findings index yet (nothing was ever found, or another alias is configured): an empty list, said once.
        if (res.hits.hits.length === 0) process.stderr.write(`no findings in ${config.findingsAlias}\n`);
        const verdicts = await verdictsOf(es, config, res.hits.hits.map((h) => h._id!));
        for (const h of res.hits.hits) {
          const d = h._source!;
          const row = { time: d['@timestamp'], id: h._id, detector: d.peregrine?.detector, risk: d.event?.risk_score, entity: d.peregrine?.entity?.id, verdict: verdicts.get(h._id!), message: d.message };
          process.stdout.write(opts.json ? `${JSON.stringify(row)}\n` : `${row.time}  ${row.id}  ${row.detector}  ${row.risk}  ${row.entity}  ${row.verdict ?? '-'}\n`);
        }
      });
    });
  findings
    .command('export')
    .description('judged requests as labelled http_events rows (false positives "normal", true positives "anomalous"): add the normal ones to `train http --input`, evaluate with `eval http`')
    .requiredOption('--out <file>', 'JSON lines to write')
    .addOption(new Option('--verdict <verdict>', 'only this verdict').choices(VERDICTS))
    .option('-c, --config <file>', 'YAML configuration file')
    .action(async (opts: { out: string; verdict?: Verdict; config?: string }) => {
      const wanted = opts.verdict === undefined ? undefined : opts.verdict === 'false_positive' ? 'normal' : 'anomalous';
      const rows = (await withElasticsearch(elasticsearchOf(opts.config), (es, config) => labelledRequests(es, config))).filter((r) => wanted === undefined || r.label === wanted);
      await writeFile(opts.out, rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : ''));
      process.stdout.write(`${rows.length} judged requests -> ${opts.out}\n`);
    });
  findings
    .command('feedback')
    .description('record an analyst\'s verdict on a finding (replaces an earlier one); retraining learns false positives as normal')
    .argument('<id>', 'the finding id (event.id)')
    .addOption(new Option('--verdict <verdict>', 'the analyst\'s verdict').choices(VERDICTS).makeOptionMandatory())
    .option('--note <text>', 'why')
    .option('--analyst <name>', 'who', process.env.USER)
    .option('-c, --config <file>', 'YAML configuration file')
    .action(async (id: string, opts: { verdict: Verdict; note?: string; analyst?: string; config?: string }) => {
      const feedback = { findingId: id, verdict: opts.verdict, note: opts.note, analyst: opts.analyst, atMs: Date.now() };
      const { detector, entityId } = await withElasticsearch(elasticsearchOf(opts.config), (es, config) => recordFeedback(es, config, feedback));
      process.stdout.write(`${id} (${detector ?? '?'} on ${entityId ?? '?'}): ${opts.verdict}\n`);
    });
}
