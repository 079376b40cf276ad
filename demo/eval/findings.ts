/** Reading a run's findings back from Elasticsearch (the ECS fields the scoring needs), and watching them arrive (live mode). */
import type { Client } from '@elastic/elasticsearch';
import type { ObservedFinding } from './score.ts';

interface FindingSource {
  event?: { start?: string; end?: string };
  threat?: { technique?: { id?: string | string[] } };
  peregrine?: { detector?: string; entity?: { id?: string }; window?: { start?: string; end?: string }; group?: { first_seen?: string } };
  rule?: { id?: string };
}

const PAGE = 5_000;
export const FINDING_FIELDS = ['event.start', 'event.end', 'threat.technique.id', 'peregrine.detector', 'peregrine.entity.id', 'rule.id', 'peregrine.window', 'peregrine.group.first_seen'];

/** An ECS finding document as the scoring sees it; undefined when it lacks a window. */
export function observedFinding(id: string, doc: FindingSource): ObservedFinding | undefined {
  const start = Date.parse(doc.event?.start ?? '');
  const end = Date.parse(doc.event?.end ?? '');
  if (!Number.isFinite(start) || !Number.isFinite(end)) return undefined;
  const techniques = doc.threat?.technique?.id;
  const detector = doc.peregrine?.detector ?? doc.rule?.id?.replace(/^peregrine\./, '') ?? '';
  // A grouped finding (repeats of one incident update one document) spans its first to its last window; it was raised
  // at the end of its first one. Windows of one (entity, detector) have one length, so the first ends a length after
  // the group's first_seen.
  const windowLength = Date.parse(doc.peregrine?.window?.end ?? '') - Date.parse(doc.peregrine?.window?.start ?? '');
  const firstWindowEnd = start + windowLength;
  const raised = Number.isFinite(firstWindowEnd) && windowLength > 0 && firstWindowEnd < end ? { firstWindowEndMs: firstWindowEnd } : {};
  return { id, techniques: techniques === undefined ? [] : Array.isArray(techniques) ? techniques : [techniques], detector, entity: doc.peregrine?.entity?.id ?? '', startMs: start, endMs: end, ...raised };
}

/** Every finding under the alias (paged), or none when the alias does not exist yet. */
export async function readFindings(es: Client, alias: string): Promise<ObservedFinding[]> {
  const out: ObservedFinding[] = [];
  let after: Array<string | number> | undefined;
  for (;;) {
    const page = await es.search<FindingSource>({
      index: alias, size: PAGE, _source: FINDING_FIELDS, sort: [{ 'event.end': 'asc' }, { 'event.id': 'asc' }],
      query: { term: { 'event.kind': 'alert' } }, ...(after ? { search_after: after } : {}),
    }).catch((e: { meta?: { statusCode?: number } }) => {
      if (e.meta?.statusCode === 404) return undefined;
      throw e;
    });
    const hits = page?.hits.hits ?? [];
    for (const h of hits) {
      const f = observedFinding(h._id!, h._source ?? {});
      if (f) out.push(f);
    }
    if (hits.length < PAGE) return out;
    after = hits.at(-1)!.sort as Array<string | number>;
  }
}

/**
 * Live mode: polls the alias and notes when each finding first became searchable (wall clock), which is how the time
 * to detect is measured there.
 */
export class FindingWatcher {
  private readonly seen = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private polling = false;

  constructor(private readonly es: Client, private readonly alias: string, private readonly onNew?: (f: ObservedFinding) => void) {}

  start(intervalMs = 1_000): void {
    this.timer = setInterval(() => void this.poll(), intervalMs);
  }

  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const now = Date.now();
      for (const f of await readFindings(this.es, this.alias).catch(() => [])) {
        if (this.seen.has(f.id)) continue;
        this.seen.set(f.id, now);
        this.onNew?.(f);
      }
    } finally {
      this.polling = false;
    }
  }

  searchableAt(id: string): number | undefined {
    return this.seen.get(id);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
