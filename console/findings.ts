/**
 * Findings as the console shows them: a row summary of an ECS finding document, the list filters (one definition for
 * the Elasticsearch query of the list and for the live stream's check, so both agree), and the reads from the
 * findings alias. Finding fields are attacker-influenced text: nothing here interprets them, the page renders them as
 * text.
 */
import type { Client } from '@elastic/elasticsearch';
import { PeregrineError, UnavailableError } from '../core/errors.ts';

/** The parts of an ECS finding document (detectors/ecs/encode.ts) the console reads. */
export interface FindingDocument {
  '@timestamp'?: string;
  message?: string;
  event?: { id?: string; severity?: number; risk_score?: number; start?: string; end?: string; url?: string };
  rule?: { id?: string; name?: string; description?: string };
  service?: { name?: string };
  trace?: { id?: string };
  span?: { id?: string };
  url?: { path?: string };
  source?: { ip?: string };
  threat?: { technique?: { id?: string[]; name?: string[] }; tactic?: { id?: string[]; name?: string[] } };
  peregrine?: {
    entity?: { id?: string; type?: string };
    operation?: string;
    detector?: string;
    explanation?: Array<{ feature?: string; actual?: number; typical?: number; share?: number }>;
    exemplars?: Array<{ trace_id?: string; span_id?: string; reason?: string; url?: string }>;
    model?: { name?: string; version?: string };
    request?: { method?: string; target?: string; headers?: Record<string, string>; body?: string; body_size?: number };
  };
}

export interface FindingSummary {
  id: string;
  timestamp: string;
  score: number;
  severity: number;
  severityLabel: SeverityLabel;
  entity: string;
  service: string;
  detector: string;
  rule: string;
  technique?: { id: string; name: string };
  /** The one-line explanation. */
  message: string;
  traceId?: string;
  verdict?: string;
}

/** ECS event.severity bands (Elastic Security's), lowest first. */
export const SEVERITIES = [
  { label: 'low', min: 21 },
  { label: 'medium', min: 47 },
  { label: 'high', min: 73 },
  { label: 'critical', min: 99 },
] as const;
export type SeverityLabel = (typeof SEVERITIES)[number]['label'];

export function severityLabel(severity: number): SeverityLabel {
  let label: SeverityLabel = 'low';
  for (const band of SEVERITIES) if (severity >= band.min) label = band.label;
  return label;
}

const text = (value: unknown, fallback = ''): string => (typeof value === 'string' ? value : fallback);
const number = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

export function summarize(id: string, doc: FindingDocument): FindingSummary {
  const techniqueId = doc.threat?.technique?.id?.[0];
  return {
    id,
    timestamp: text(doc['@timestamp']),
    score: number(doc.event?.risk_score),
    severity: number(doc.event?.severity),
    severityLabel: severityLabel(number(doc.event?.severity)),
    entity: text(doc.peregrine?.entity?.id),
    service: text(doc.service?.name),
    detector: text(doc.peregrine?.detector),
    rule: text(doc.rule?.name),
    ...(typeof techniqueId === 'string' ? { technique: { id: techniqueId, name: text(doc.threat?.technique?.name?.[0]) } } : {}),
    message: text(doc.message),
    ...(typeof doc.trace?.id === 'string' ? { traceId: doc.trace.id } : {}),
  };
}

/** What the list shows; every field optional (absent = no restriction). */
export interface FindingFilters {
  /** Lowest ECS severity shown (21, 47, 73, 99). */
  minSeverity?: number;
  /** MITRE ATT&CK technique id (T1190). */
  technique?: string;
  /** Text the entity id contains (case-insensitive). */
  entity?: string;
  detector?: string;
  /** Only findings whose @timestamp is at most this old. */
  sinceMs?: number;
}

const SINCE: Record<string, number | undefined> = {
  '15m': 15 * 60_000, '1h': 3_600_000, '6h': 6 * 3_600_000, '24h': 24 * 3_600_000, '7d': 7 * 24 * 3_600_000, '30d': 30 * 24 * 3_600_000, all: undefined,
};
export const SINCE_CHOICES = Object.keys(SINCE);
export const DEFAULT_SINCE = '24h';
const MAX_FILTER_TEXT = 200;

export class BadRequestError extends PeregrineError {}

/** Filters from a query string; a bad value is a BadRequestError that names the parameter. */
export function parseFilters(query: URLSearchParams): FindingFilters {
  const filters: FindingFilters = {};
  const severity = query.get('severity');
  if (severity) {
    const band = SEVERITIES.find((b) => b.label === severity || String(b.min) === severity);
    if (!band) throw new BadRequestError(`severity must be one of ${SEVERITIES.map((b) => b.label).join(', ')}`);
    filters.minSeverity = band.min;
  }
  for (const key of ['technique', 'entity', 'detector'] as const) {
    const value = query.get(key)?.trim();
    if (!value) continue;
    if (value.length > MAX_FILTER_TEXT) throw new BadRequestError(`${key} is longer than ${MAX_FILTER_TEXT} characters`);
    filters[key] = value;
  }
  const since = query.get('since') ?? DEFAULT_SINCE;
  if (!(since in SINCE)) throw new BadRequestError(`since must be one of ${SINCE_CHOICES.join(', ')}`);
  if (SINCE[since] !== undefined) filters.sinceMs = SINCE[since];
  return filters;
}

/** The live stream's check: the same conditions as `filtersQuery`. */
export function matchesFilters(f: FindingSummary, filters: FindingFilters, nowMs: number): boolean {
  if (filters.minSeverity !== undefined && f.severity < filters.minSeverity) return false;
  if (filters.technique !== undefined && f.technique?.id !== filters.technique) return false;
  if (filters.detector !== undefined && f.detector !== filters.detector) return false;
  if (filters.entity !== undefined && !f.entity.toLowerCase().includes(filters.entity.toLowerCase())) return false;
  if (filters.sinceMs !== undefined && !(Date.parse(f.timestamp) >= nowMs - filters.sinceMs)) return false;
  return true;
}

/** Elasticsearch wildcard syntax taken literally. */
function wildcardLiteral(value: string): string {
  return value.replace(/[\\*?]/g, (c) => `\\${c}`);
}

export function filtersQuery(filters: FindingFilters, nowMs: number): Record<string, unknown> {
  const filter: unknown[] = [];
  if (filters.minSeverity !== undefined) filter.push({ range: { 'event.severity': { gte: filters.minSeverity } } });
  if (filters.technique !== undefined) filter.push({ term: { 'threat.technique.id': filters.technique } });
  if (filters.detector !== undefined) filter.push({ term: { 'peregrine.detector': filters.detector } });
  if (filters.entity !== undefined) {
    filter.push({ wildcard: { 'peregrine.entity.id': { value: `*${wildcardLiteral(filters.entity)}*`, case_insensitive: true } } });
  }
  if (filters.sinceMs !== undefined) filter.push({ range: { '@timestamp': { gte: new Date(nowMs - filters.sinceMs).toISOString() } } });
  return { bool: { filter } };
}

async function call<T>(what: string, request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (e) {
    const status = (e as { meta?: { statusCode?: number } }).meta?.statusCode;
    // A findings alias nobody has written to yet is an empty list, not an error.
    if (status === 404) return undefined as T;
    throw new UnavailableError('elasticsearch', `${what}: ${(e as Error).message}`, { cause: e });
  }
}

/** Reads of the findings alias. */
export class FindingsReader {
  constructor(private readonly es: Client, private readonly alias: string) {}

  async list(filters: FindingFilters, limit: number, nowMs: number): Promise<{ findings: FindingSummary[]; total: number }> {
    const res = await call('findings search', () => this.es.search<FindingDocument>({
      index: this.alias, size: limit, sort: [{ '@timestamp': 'desc' }], track_total_hits: true,
      query: filtersQuery(filters, nowMs) as never,
    }));
    if (!res) return { findings: [], total: 0 };
    const total = typeof res.hits.total === 'number' ? res.hits.total : res.hits.total?.value ?? 0;
    return { findings: res.hits.hits.map((h) => summarize(h._id!, h._source ?? {})), total };
  }

  /** The finding's document, or undefined (also while Elasticsearch has not refreshed it yet). */
  async get(id: string): Promise<FindingDocument | undefined> {
    const res = await call('finding lookup', () => this.es.search<FindingDocument>({ index: this.alias, size: 1, query: { ids: { values: [id] } } }));
    return res?.hits.hits[0]?._source;
  }

  /** Which of these ids searches of the alias return (what the findings stage has indexed and Elasticsearch refreshed). */
  async indexed(ids: string[]): Promise<Set<string>> {
    const res = await call('findings check', () => this.es.search({ index: this.alias, size: ids.length, _source: false, query: { ids: { values: ids } } }));
    return new Set((res?.hits.hits ?? []).map((h) => h._id!));
  }

  /** The newest other findings about the same entity. */
  async related(entity: string, exceptId: string, limit: number): Promise<FindingSummary[]> {
    const res = await call('related findings', () => this.es.search<FindingDocument>({
      index: this.alias, size: limit, sort: [{ '@timestamp': 'desc' }],
      query: { bool: { filter: [{ term: { 'peregrine.entity.id': entity } }], must_not: [{ ids: { values: [exceptId] } }] } },
    }));
    return res ? res.hits.hits.map((h) => summarize(h._id!, h._source ?? {})) : [];
  }

  /** Detectors and techniques present, for the filter choices. */
  async facets(): Promise<{ detectors: string[]; techniques: Array<{ id: string; name: string }> }> {
    type Buckets = { buckets: Array<{ key: string; name?: Buckets }> };
    const res = await call('findings facets', () => this.es.search({
      index: this.alias, size: 0,
      aggs: {
        detectors: { terms: { field: 'peregrine.detector', size: 50 } },
        techniques: { terms: { field: 'threat.technique.id', size: 200 }, aggs: { name: { terms: { field: 'threat.technique.name', size: 1 } } } },
      },
    }));
    const aggs = res?.aggregations as { detectors?: Buckets; techniques?: Buckets } | undefined;
    return {
      detectors: (aggs?.detectors?.buckets ?? []).map((b) => String(b.key)).sort(),
      techniques: (aggs?.techniques?.buckets ?? []).map((b) => ({ id: String(b.key), name: String(b.name?.buckets[0]?.key ?? '') })).sort((a, b) => a.id.localeCompare(b.id)),
    };
  }
}
