/**
 * The dashboards' queries, and the check of a query against the series a real Prometheus scraped from the running
 * pipeline (deploy/grafana/scraped-series.json, written by deploy/prometheus/prometheus.integration.test.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promqlReferences } from './promql.ts';

export const DASHBOARD_DIR = new URL('./dashboards/', import.meta.url).pathname;
export const SCRAPED_SERIES_FILE = new URL('./scraped-series.json', import.meta.url).pathname;

export interface ScrapedSeries {
  comment: string;
  prometheus: string;
  /** Series name → its metric family's type and every label name seen on it. */
  metrics: Record<string, { type: string; labels: string[] }>;
}

export interface DashboardQuery {
  dashboard: string;
  panel: string;
  expr: string;
  legendFormat?: string;
}

interface Panel {
  title?: string;
  type: string;
  panels?: Panel[];
  targets?: Array<{ expr?: string; legendFormat?: string }>;
}

export function readDashboards(): Array<{ file: string; json: { uid: string; title: string; panels: Panel[]; templating?: { list: Array<{ name: string; type: string }> } } }> {
  return readdirSync(DASHBOARD_DIR).filter((f) => f.endsWith('.json')).sort().map((file) => ({ file, json: JSON.parse(readFileSync(join(DASHBOARD_DIR, file), 'utf8')) }));
}

export function dashboardQueries(): DashboardQuery[] {
  const out: DashboardQuery[] = [];
  const visit = (dashboard: string, panels: Panel[]) => {
    for (const p of panels) {
      if (p.panels) visit(dashboard, p.panels);
      for (const t of p.targets ?? []) if (t.expr !== undefined) out.push({ dashboard, panel: p.title ?? '(untitled)', expr: t.expr, legendFormat: t.legendFormat });
    }
  };
  for (const d of readDashboards()) visit(d.file, d.json.panels);
  return out;
}

/** Grafana's built-in interval variables, replaced by a duration so the expression is plain PromQL. */
export function withGrafanaVariables(expr: string, duration = '5m'): string {
  return expr.replace(/\$(__rate_interval|__interval|__range)\b|\$\{(__rate_interval|__interval|__range)\}/g, duration);
}

const RATE_FUNCTIONS = new Set(['rate', 'irate', 'increase', 'resets']);

/** What is wrong with a query given the scraped series (empty: nothing). */
export function queryProblems(expr: string, scraped: ScrapedSeries['metrics'], options: { legendFormat?: string; rawCounters?: boolean } = {}): string[] {
  const { legendFormat } = options;
  const problems: string[] = [];
  if (/\$(?!__rate_interval|__interval|__range)\w/.test(expr)) problems.push('uses a dashboard variable the check cannot resolve');
  let refs;
  try {
    refs = promqlReferences(withGrafanaVariables(expr));
  } catch (e) {
    return [(e as Error).message];
  }
  if (refs.selectors.length === 0) problems.push('selects no metric');
  const available = new Set<string>();
  for (const s of refs.selectors) {
    const seen = scraped[s.metric];
    if (!seen) {
      problems.push(`${s.metric} was not scraped from the running pipeline`);
      continue;
    }
    for (const l of seen.labels) available.add(l);
    for (const m of s.matchers) if (!seen.labels.includes(m)) problems.push(`${s.metric} has no label ${m} (it has ${seen.labels.join(', ')})`);
    const cumulative = seen.type === 'counter' || ((seen.type === 'histogram' || seen.type === 'summary') && /_(bucket|sum|count)$/.test(s.metric));
    if (cumulative && !options.rawCounters && !RATE_FUNCTIONS.has(s.enclosingFunction)) problems.push(`${s.metric} is a ${seen.type}: wrap it in rate() or increase(), not ${s.enclosingFunction || 'nothing'}`);
  }
  for (const l of refs.groupingLabels) if (!available.has(l)) problems.push(`groups by ${l}, which none of its series has`);
  if (legendFormat && refs.groupingLabels.length > 0) {
    for (const [, l] of legendFormat.matchAll(/\{\{\s*(\w+)\s*\}\}/g)) {
      if (!refs.groupingLabels.includes(l!)) problems.push(`legend uses {{${l}}}, which the aggregation drops`);
    }
  }
  return problems;
}
