/** `peregrine models list | show NAME [--version N] | promote NAME VERSION [--alias champion]`: read and change the MLflow registry. */
import type { Command } from 'commander';
import { PeregrineError } from '../../core/errors.ts';
import { MlflowClient, type ModelVersion, type RegisteredModel } from '../../core/mlflow.ts';
import { CHAMPION_ALIAS, mlflowUrl } from './uri.ts';

export function registerRegistryCommands(program: Command): void {
  const models = program.command('models').description('list, inspect and promote registered models in MLflow');
  const client = (url?: string) => new MlflowClient({ url: mlflowUrl(url) });
  models
    .command('list')
    .description('registered models with their latest version and aliases')
    .option('--mlflow <url>', 'MLflow tracking server (default $PEREGRINE_MLFLOW_URL or http://127.0.0.1:5000)')
    .option('--json', 'one JSON object per model')
    .action(async (options: { mlflow?: string; json?: boolean }) => {
      const list = await client(options.mlflow).searchRegisteredModels();
      if (options.json) {
        for (const m of list) process.stdout.write(JSON.stringify(modelSummary(m)) + '\n');
        return;
      }
      if (list.length === 0) {
        process.stdout.write('no registered models\n');
        return;
      }
      process.stdout.write(table(['NAME', 'LATEST', 'ALIASES', 'UPDATED'], list.map((m) => {
        const s = modelSummary(m);
        return [s.name, s.latestVersion ?? '-', aliasText(s.aliases), time(m.last_updated_timestamp)];
      })));
    });
  models
    .command('show <name>')
    .description('a registered model and its versions, or one version with its run metrics (--version)')
    .option('--version <n>', 'show one version')
    .option('--mlflow <url>', 'MLflow tracking server')
    .option('--json', 'machine-readable output')
    .action(async (name: string, options: { version?: string; mlflow?: string; json?: boolean }) => {
      const c = client(options.mlflow);
      const model = await c.getRegisteredModel(name);
      if (!model) throw new PeregrineError(`no registered model "${name}" in MLflow at ${c.url}`);
      const aliases = aliasesByVersion(model);
      if (options.version) {
        const version = await c.getModelVersion(name, options.version);
        if (!version) throw new PeregrineError(`model "${name}" has no version ${options.version} in MLflow at ${c.url}`);
        const run = version.run_id ? await c.getRun(version.run_id) : undefined;
        const metrics = Object.fromEntries((run?.data.metrics ?? []).filter((m) => /^(eval_|champion_eval_|comparison_)/.test(m.key)).map((m) => [m.key, m.value]));
        const params = Object.fromEntries((run?.data.params ?? []).map((p) => [p.key, p.value]));
        const tags = Object.fromEntries([...(run?.data.tags ?? []), ...(version.tags ?? [])].filter((t) => t.key.startsWith('peregrine')).map((t) => [t.key, t.value]));
        const detail = { name, version: version.version, aliases: aliases.get(version.version) ?? [], source: version.source, runId: version.run_id, status: version.status, created: time(version.creation_timestamp), metrics, params, tags };
        if (options.json) process.stdout.write(JSON.stringify(detail) + '\n');
        else process.stdout.write(
          `${name} version ${version.version}${detail.aliases.length ? ` (@${detail.aliases.join(', @')})` : ''}\n` +
          `  source   ${version.source}\n  run      ${version.run_id ?? '-'}\n  created  ${detail.created}\n` +
          section('metrics', metrics) + section('params', params) + section('tags', tags),
        );
        return;
      }
      const versions = (await c.searchModelVersions(name)).sort((a, b) => Number(b.version) - Number(a.version));
      if (options.json) {
        process.stdout.write(JSON.stringify({ ...modelSummary(model), versions: versions.map((v) => ({ version: v.version, runId: v.run_id, source: v.source, aliases: aliases.get(v.version) ?? [], tags: tagMap(v) })) }) + '\n');
        return;
      }
      process.stdout.write(`${name}: ${versions.length} version(s), aliases ${aliasText(modelSummary(model).aliases)}\n`);
      process.stdout.write(table(['VERSION', 'ALIASES', 'CREATED', 'RUN', 'COMPARISON'], versions.map((v: ModelVersion) => [
        v.version, (aliases.get(v.version) ?? []).map((a) => `@${a}`).join(' ') || '-', time(v.creation_timestamp), v.run_id ?? '-', tagMap(v)['peregrine.comparison'] ?? '-',
      ])));
    });
  models
    .command('promote <name> <version>')
    .description('point an alias (default champion) at a version, whatever the comparison said')
    .option('--alias <alias>', 'alias to move', CHAMPION_ALIAS)
    .option('--mlflow <url>', 'MLflow tracking server')
    .action(async (name: string, version: string, options: { alias: string; mlflow?: string }) => {
      const c = client(options.mlflow);
      if (!(await c.getModelVersion(name, version))) throw new PeregrineError(`model "${name}" has no version ${version} in MLflow at ${c.url}`);
      const before = await c.getModelVersionByAlias(name, options.alias);
      await c.setAlias(name, options.alias, version);
      process.stdout.write(`${name}@${options.alias}: ${before ? `version ${before.version}` : 'unset'} -> version ${version}\n`);
    });
}

function modelSummary(m: RegisteredModel) {
  const latest = (m.latest_versions ?? []).map((v) => Number(v.version)).sort((a, b) => b - a)[0];
  return { name: m.name, latestVersion: latest === undefined ? undefined : String(latest), aliases: Object.fromEntries((m.aliases ?? []).map((a) => [a.alias, a.version])), description: m.description };
}

function aliasesByVersion(m: RegisteredModel): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const a of m.aliases ?? []) map.set(a.version, [...(map.get(a.version) ?? []), a.alias]);
  return map;
}

function aliasText(aliases: Record<string, string>): string {
  const entries = Object.entries(aliases);
  return entries.length ? entries.map(([a, v]) => `@${a}=v${v}`).join(' ') : '-';
}

function tagMap(v: ModelVersion): Record<string, string> {
  return Object.fromEntries((v.tags ?? []).map((t) => [t.key, t.value]));
}

function time(ms: number | undefined): string {
  return ms ? new Date(Number(ms)).toISOString().replace(/\.\d+Z$/, 'Z') : '-';
}

function section(title: string, values: Record<string, string | number>): string {
  const keys = Object.keys(values).sort();
  if (keys.length === 0) return '';
  return `  ${title}:\n` + keys.map((k) => `    ${k.padEnd(40)} ${values[k]}\n`).join('');
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [header, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n') + '\n';
}
