/**
 * Running the shipped Prometheus configuration against processes a test started: Debian's prometheus/promtool, the
 * shipped scrape config with its targets replaced, and a small client of the HTTP API.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

export const PROMETHEUS_DIR = new URL('.', import.meta.url).pathname;
export const SHIPPED_CONFIG = join(PROMETHEUS_DIR, 'prometheus.yml');
export const RULES_FILE = join(PROMETHEUS_DIR, 'rules', 'peregrine.rules.yml');
export const RULES_TEST = join(PROMETHEUS_DIR, 'rules.test.yml');
const INSTALL_SCRIPT = join(PROMETHEUS_DIR, 'install-deps.sh');

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir && existsSync(join(dir, name))) return join(dir, name);
  return ['/usr/bin', '/usr/local/bin'].map((d) => join(d, name)).find((p) => existsSync(p));
}

/** prometheus and promtool; installs Debian's package first when running as root (as CI does). */
export function prometheusBinaries(): { prometheus: string; promtool: string; version: string } {
  let prometheus = onPath('prometheus');
  let promtool = onPath('promtool');
  if ((!prometheus || !promtool) && process.getuid?.() === 0) {
    execFileSync('bash', [INSTALL_SCRIPT], { stdio: 'pipe', timeout: 15 * 60_000 });
    prometheus = onPath('prometheus');
    promtool = onPath('promtool');
  }
  if (!prometheus || !promtool) {
    throw new Error(`prometheus and promtool are not installed: run deploy/prometheus/install-deps.sh as root (Debian's prometheus package)`);
  }
  const version = /prometheus, version (\S+)/.exec(execFileSync(prometheus, ['--version'], { encoding: 'utf8' }))?.[1] ?? 'unknown';
  return { prometheus, promtool, version };
}

interface ScrapeJob { job_name: string; static_configs?: Array<{ targets: string[]; labels?: Record<string, string> }>; [key: string]: unknown }

/** The shipped job names, in order. */
export function shippedJobs(): string[] {
  return (parseYaml(readFileSync(SHIPPED_CONFIG, 'utf8')) as { scrape_configs: ScrapeJob[] }).scrape_configs.map((j) => j.job_name);
}

/**
 * The shipped configuration with each job's targets replaced by `targets[job]`, the rule files at their absolute
 * path and a short interval for a test. Every shipped job must get targets or be named in `leaveOut`, and every job
 * in `targets` must exist in the shipped file, so the test and the file cannot drift apart.
 */
export function scrapeConfigFor(targets: Record<string, string[]>, options: { intervalS: number; leaveOut?: string[] }): string {
  const config = parseYaml(readFileSync(SHIPPED_CONFIG, 'utf8')) as { global: Record<string, unknown>; rule_files: string[]; scrape_configs: ScrapeJob[] };
  const leaveOut = new Set(options.leaveOut ?? []);
  const shipped = new Set(config.scrape_configs.map((j) => j.job_name));
  for (const job of Object.keys(targets)) if (!shipped.has(job)) throw new Error(`deploy/prometheus/prometheus.yml has no job ${job}`);
  config.global = { ...config.global, scrape_interval: `${options.intervalS}s`, evaluation_interval: `${options.intervalS}s` };
  config.rule_files = config.rule_files.map((f) => join(PROMETHEUS_DIR, f));
  config.scrape_configs = config.scrape_configs.filter((j) => !leaveOut.has(j.job_name)).map((job) => {
    const t = targets[job.job_name];
    if (!t) throw new Error(`no process started for job ${job.job_name} of deploy/prometheus/prometheus.yml`);
    return { ...job, static_configs: [{ targets: t }] };
  });
  return stringifyYaml(config);
}

export interface PrometheusSeries { [label: string]: string }

/** The few HTTP API calls the tests make; every answer is checked for status "success". */
export class PrometheusApi {
  constructor(readonly url: string) {}

  private async get<T>(path: string, params: Record<string, string | string[]> = {}): Promise<T> {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) for (const one of [v].flat()) query.append(k, one);
    const res = await fetch(`${this.url}${path}?${query}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`Prometheus ${path}: ${body.error ?? res.status}`);
    return body.data;
  }

  targets() {
    return this.get<{ activeTargets: Array<{ labels: Record<string, string>; scrapeUrl: string; health: string; lastError: string }> }>('/api/v1/targets');
  }

  rules() {
    return this.get<{ groups: Array<{ name: string; file: string; rules: Array<{ name: string; type: string; health: string; lastError?: string }> }> }>('/api/v1/rules');
  }

  alerts() {
    return this.get<{ alerts: Array<{ labels: Record<string, string>; state: string }> }>('/api/v1/alerts');
  }

  series(match: string) {
    return this.get<PrometheusSeries[]>('/api/v1/series', { 'match[]': match });
  }

  /** Metric family → its type, for every family the targets expose (with or without samples). */
  async metadata(): Promise<Record<string, string>> {
    const data = await this.get<Record<string, Array<{ type: string }>>>('/api/v1/metadata');
    return Object.fromEntries(Object.entries(data).map(([name, entries]) => [name, entries[0]!.type]));
  }

  query(expr: string) {
    return this.get<{ resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> }>('/api/v1/query', { query: expr });
  }

  /** The value of a query that gives one number (undefined: no result). */
  async scalar(expr: string): Promise<number | undefined> {
    const r = await this.query(expr);
    return r.result.length ? Number(r.result[0]!.value[1]) : undefined;
  }
}

/** Series names → type and label names, as the Grafana static check reads them. */
export function summarizeSeries(series: PrometheusSeries[], families: Record<string, string>): Record<string, { type: string; labels: string[] }> {
  const familyOf = (name: string) => families[name] ? name : name.replace(/_(bucket|sum|count|total|created)$/, '');
  const out: Record<string, { type: string; labels: Set<string> }> = {};
  for (const s of series) {
    const name = s.__name__!;
    const entry = (out[name] ??= { type: families[familyOf(name)] ?? 'unknown', labels: new Set() });
    for (const label of Object.keys(s)) if (label !== '__name__') entry.labels.add(label);
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)).map(([name, e]) => [name, { type: e.type, labels: [...e.labels].sort() }]));
}

/**
 * This scrape's series, plus the ones an earlier scrape saw whose metric family the targets still declare: some
 * series exist only at moments (`nodejs_active_requests{type}` while a request is open), so the record keeps them
 * instead of flipping between runs, and drops what no process exposes any more.
 */
export function mergeScraped(
  previous: Record<string, { type: string; labels: string[] }>,
  current: Record<string, { type: string; labels: string[] }>,
  families: Record<string, string>,
): Record<string, { type: string; labels: string[] }> {
  const declared = (name: string) => name in families || name.replace(/_(bucket|sum|count|total|created)$/, '') in families;
  const out = { ...current };
  for (const [name, entry] of Object.entries(previous)) {
    if (!declared(name)) continue;
    out[name] = { type: out[name]?.type ?? entry.type, labels: [...new Set([...(out[name]?.labels ?? []), ...entry.labels])].sort() };
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}
