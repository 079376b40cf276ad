/**
 * Analysts' verdicts on findings, kept in their own index (one document per finding id) so that a replay
 * re-indexing a finding never erases what an analyst said about it. Retraining reads them back as
 * labelled feature vectors: a false positive is a window the model should learn as normal, a true
 * positive an anomaly to evaluate against.
 */
import type { Client } from '@elastic/elasticsearch';
import { PeregrineError, UnavailableError } from '../../core/errors.ts';
import type { FeatureVector } from '../../schemas/feature-vector.ts';

/**
 * `benign`: the detection was right about what happened, and it was harmless (an authorised scan, an admin's script).
 * Retraining leaves benign findings out: neither normal data to learn (that is `false_positive`) nor an attack.
 */
export const VERDICTS = ['false_positive', 'true_positive', 'benign'] as const;
export type Verdict = (typeof VERDICTS)[number];
/** The verdicts retraining reads. */
const TRAINING_VERDICTS: readonly Verdict[] = ['false_positive', 'true_positive'];

export interface FeedbackIndices {
  findingsAlias: string;
  feedbackIndex: string;
}

export interface Feedback {
  findingId: string;
  verdict: Verdict;
  note?: string;
  analyst?: string;
  atMs: number;
}

const keyword = { type: 'keyword' } as const;
const FEEDBACK_MAPPINGS = {
  dynamic: false,
  properties: {
    '@timestamp': { type: 'date' }, finding_id: keyword, verdict: keyword, note: { type: 'text' }, analyst: keyword,
    detector: keyword, entity_id: keyword,
  },
} as const;

async function call<T>(what: string, request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (e) {
    const status = (e as { meta?: { statusCode?: number } }).meta?.statusCode;
    if (status === undefined || status >= 500 || status === 429) throw new UnavailableError('elasticsearch', `${what}: ${(e as Error).message}`, { cause: e });
    throw new PeregrineError(`elasticsearch: ${what}: ${(e as Error).message}`, { cause: e });
  }
}

interface StoredRequest { method?: string; target?: string; headers?: Record<string, string>; body?: string; body_size?: number }

interface FindingSource {
  event?: { start?: string; end?: string };
  service?: { name?: string };
  peregrine?: {
    detector?: string;
    operation?: string;
    entity?: { id?: string; type?: FeatureVector['entityType'] };
    features?: { names?: string[]; values?: Array<number | null>; sample_count?: number };
    request?: StoredRequest;
    /** A request finding's group: its worst requests. */
    examples?: Array<{ request?: StoredRequest }>;
  };
}

/** Records a verdict on an existing finding; a second verdict on the same finding replaces the first. */
export async function recordFeedback(es: Client, indices: FeedbackIndices, feedback: Feedback): Promise<{ detector?: string; entityId?: string }> {
  const found = await call('finding lookup', () => es.search<FindingSource>({ index: indices.findingsAlias, size: 1, query: { ids: { values: [feedback.findingId] } } }));
  const finding = found.hits.hits[0]?._source;
  if (!finding) throw new PeregrineError(`no finding with id ${feedback.findingId} in ${indices.findingsAlias}`);
  if (!(await call('feedback index check', () => es.indices.exists({ index: indices.feedbackIndex })))) {
    await call('feedback index creation', () => es.indices.create({ index: indices.feedbackIndex, mappings: FEEDBACK_MAPPINGS, settings: { number_of_replicas: 0 } } as never))
      .catch((e: unknown) => {
        // Another analyst's first verdict created it at the same moment.
        if (!/resource_already_exists/.test((e as Error).message)) throw e;
      });
  }
  const detector = finding.peregrine?.detector;
  const entityId = finding.peregrine?.entity?.id;
  await call('feedback write', () => es.index({
    index: indices.feedbackIndex,
    id: feedback.findingId,
    refresh: 'wait_for',
    document: {
      '@timestamp': new Date(feedback.atMs).toISOString(), finding_id: feedback.findingId, verdict: feedback.verdict,
      note: feedback.note, analyst: feedback.analyst, detector, entity_id: entityId,
    },
  }));
  return { detector, entityId };
}

/** The verdicts recorded for these findings (those without one are absent). */
export async function verdictsOf(es: Client, indices: FeedbackIndices, findingIds: readonly string[]): Promise<Map<string, Verdict>> {
  return new Map([...(await feedbackOf(es, indices, findingIds))].map(([id, f]) => [id, f.verdict]));
}

/** The feedback recorded for these findings, with note, analyst and time (those without are absent). */
export async function feedbackOf(es: Client, indices: FeedbackIndices, findingIds: readonly string[]): Promise<Map<string, Feedback>> {
  const feedback = new Map<string, Feedback>();
  if (findingIds.length === 0 || !(await call('feedback index check', () => es.indices.exists({ index: indices.feedbackIndex })))) return feedback;
  const found = await call('feedback read', () => es.search<{ '@timestamp': string; verdict: Verdict; note?: string; analyst?: string }>({
    index: indices.feedbackIndex, size: findingIds.length, query: { ids: { values: [...findingIds] } },
  }));
  for (const hit of found.hits.hits) {
    const f = hit._source;
    if (hit._id && f) feedback.set(hit._id, { findingId: hit._id, verdict: f.verdict, note: f.note ?? undefined, analyst: f.analyst ?? undefined, atMs: Date.parse(f['@timestamp']) });
  }
  return feedback;
}

export interface LabelledVector {
  findingId: string;
  verdict: Verdict;
  vector: FeatureVector;
}

/** A judged request as an http_events row (the shape `peregrine train http` and `eval http` read), labelled by the verdict. */
export interface LabelledRequestRow {
  id: string;
  label: 'normal' | 'anomalous';
  req_method: string;
  req_path: string;
  req_headers: string;
  req_body: string;
  req_body_size?: number;
}

const PAGE = 1000;

/**
 * The feature vectors of findings with a verdict (findings without a stored vector, like request findings, are
 * left out). `detectors` limits it to findings of those detectors.
 */
export async function labelledVectors(es: Client, indices: FeedbackIndices, options: { detectors?: readonly string[] } = {}): Promise<LabelledVector[]> {
  return (await labelledFindings(es, indices, options.detectors, vectorOf)).map(({ findingId, verdict, value }) => ({ findingId, verdict, vector: value }));
}

/**
 * The requests of request findings with a verdict: a false positive is a normal request, a true positive an attack.
 * A finding that groups requests gives each of its example requests (ids `<finding id>#<n>`), otherwise its request.
 */
export async function labelledRequests(es: Client, indices: FeedbackIndices): Promise<LabelledRequestRow[]> {
  return (await labelledFindings(es, indices, undefined, requestsOf)).flatMap(({ findingId, verdict, value }) => value.map((r, k) => ({
    id: value.length === 1 ? findingId : `${findingId}#${k}`, label: verdict === 'false_positive' ? 'normal' as const : 'anomalous' as const, ...r,
  })));
}

async function labelledFindings<T>(
  es: Client, indices: FeedbackIndices, detectors: readonly string[] | undefined, extract: (doc: FindingSource | undefined) => T | undefined,
): Promise<Array<{ findingId: string; verdict: Verdict; value: T }>> {
  if (!(await call('feedback index check', () => es.indices.exists({ index: indices.feedbackIndex })))) return [];
  const verdicts = new Map<string, Verdict>();
  let after: unknown[] | undefined;
  for (;;) {
    const page = await call('feedback read', () => es.search<{ verdict: Verdict }>({
      index: indices.feedbackIndex, size: PAGE, sort: [{ finding_id: 'asc' }], ...(after ? { search_after: after as never } : {}),
      query: { bool: { filter: [{ terms: { verdict: [...TRAINING_VERDICTS] } }, ...(detectors ? [{ terms: { detector: [...detectors] } }] : [])] } },
    }));
    for (const hit of page.hits.hits) if (hit._source && hit._id) verdicts.set(hit._id, hit._source.verdict);
    if (page.hits.hits.length < PAGE) break;
    after = page.hits.hits.at(-1)!.sort;
  }
  const out: Array<{ findingId: string; verdict: Verdict; value: T }> = [];
  const ids = [...verdicts.keys()];
  for (let i = 0; i < ids.length; i += PAGE) {
    const chunk = ids.slice(i, i + PAGE);
    const found = await call('finding read', () => es.search<FindingSource>({ index: indices.findingsAlias, size: chunk.length, query: { ids: { values: chunk } } }));
    for (const hit of found.hits.hits) {
      const value = extract(hit._source);
      if (value !== undefined && hit._id) out.push({ findingId: hit._id, verdict: verdicts.get(hit._id)!, value });
    }
  }
  return out.sort((a, b) => a.findingId.localeCompare(b.findingId));
}

function requestsOf(doc: FindingSource | undefined): Array<Omit<LabelledRequestRow, 'id' | 'label'>> | undefined {
  const stored = doc?.peregrine?.examples?.length ? doc.peregrine.examples.map((e) => e.request) : [doc?.peregrine?.request];
  const rows = stored.flatMap((r) => (r?.method && r.target !== undefined
    ? [{ req_method: r.method, req_path: r.target, req_headers: JSON.stringify(r.headers ?? {}), req_body: r.body ?? '', req_body_size: r.body_size }]
    : []));
  return rows.length ? rows : undefined;
}

/** The feature vector a window finding stored, or undefined. */
function vectorOf(doc: FindingSource | undefined): FeatureVector | undefined {
  const f = doc?.peregrine?.features;
  const entity = doc?.peregrine?.entity;
  if (!f?.names || !f.values || f.names.length !== f.values.length || !entity?.id || !doc?.event?.start || !doc.event.end) return undefined;
  return {
    entityId: entity.id,
    entityType: entity.type ?? 'operation',
    service: doc.service?.name ?? '',
    operation: doc.peregrine?.operation,
    windowStartMs: Date.parse(doc.event.start),
    windowEndMs: Date.parse(doc.event.end),
    featureNames: f.names,
    // JSON has no NaN: a missing feature was written as null.
    values: f.values.map((v) => (v === null ? Number.NaN : v)),
    sampleCount: f.sample_count ?? 0,
    exemplars: [],
  };
}
