import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findingsMappedFields } from '../../schemas/elasticsearch/findings.ts';

interface SavedObject { type: string; id: string; attributes: Record<string, unknown>; references: Array<{ name: string; type: string; id: string }> }

const objects = readFileSync(new URL('./peregrine.ndjson', import.meta.url), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SavedObject);

const mapped = findingsMappedFields();

describe('Kibana saved objects', () => {
  it('has a data view over the findings indices with the timestamp as time field', () => {
    const view = objects.find((o) => o.type === 'index-pattern')!;
    expect(view.attributes).toMatchObject({ title: 'peregrine-findings*', timeFieldName: '@timestamp' });
    expect(mapped.has('@timestamp')).toBe(true);
    const formats = JSON.parse(view.attributes.fieldFormatMap as string) as Record<string, { params: { urlTemplate?: string } }>;
    expect(formats['trace.id'].params.urlTemplate).toBe('http://127.0.0.1:16686/trace/{{value}}');
    for (const field of Object.keys(formats)) expect(mapped.has(field), field).toBe(true);
  });

  it('shows only fields the findings template maps, and sorts by mapped fields', () => {
    const searches = objects.filter((o) => o.type === 'search');
    expect(searches.length).toBe(2);
    for (const s of searches) {
      for (const column of s.attributes.columns as string[]) expect(mapped.has(column), `${s.id}: ${column}`).toBe(true);
      for (const [field] of s.attributes.sort as Array<[string, string]>) expect(mapped.has(field), `${s.id} sort ${field}`).toBe(true);
      const source = JSON.parse((s.attributes.kibanaSavedObjectMeta as { searchSourceJSON: string }).searchSourceJSON) as { query: { query: string }; indexRefName: string };
      const queried = /^([\w.]+) :/.exec(source.query.query)?.[1];
      if (queried) expect(mapped.has(queried), `${s.id} query ${queried}`).toBe(true);
      expect(s.references.map((r) => r.name)).toContain(source.indexRefName);
    }
  });

  it('resolves every reference, and every dashboard panel to one', () => {
    const ids = new Set(objects.map((o) => `${o.type}:${o.id}`));
    for (const o of objects) for (const r of o.references) expect(ids.has(`${r.type}:${r.id}`), `${o.id} -> ${r.type}:${r.id}`).toBe(true);
    const dashboard = objects.find((o) => o.type === 'dashboard')!;
    const panels = JSON.parse(dashboard.attributes.panelsJSON as string) as Array<{ panelRefName: string }>;
    expect(panels.map((p) => p.panelRefName).sort()).toEqual(dashboard.references.map((r) => r.name).sort());
  });
});
