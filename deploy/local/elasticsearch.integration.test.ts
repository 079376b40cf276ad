// Elasticsearch 9.5.4 as `peregrine stack up` runs it, through the official client (nothing mocked).
import { randomUUID } from 'node:crypto';
import { Client } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureStackUp, STACK_URLS } from './stack.ts';
import { bulkIndex, ensureRolloverAlias } from '../../core/elasticsearch/client.ts';
import { PartlyRejectedError } from '../../core/errors.ts';

const es = new Client({ node: STACK_URLS.elasticsearch });
const prefix = `peregrine-it-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  await ensureStackUp({ only: ['elasticsearch'], progress: 'plain' });
});

afterAll(async () => {
  await es.indices.delete({ index: `${prefix}-*`, ignore_unavailable: true, allow_no_indices: true }).catch(() => undefined);
  await es.indices.deleteIndexTemplate({ name: `${prefix}-template` }).catch(() => undefined);
  await es.close();
});

/** Deterministic documents: 200 requests over 4 services with fixed latencies. */
function docs() {
  return Array.from({ length: 200 }, (_, i) => ({
    id: `req-${i}`,
    doc: { '@timestamp': new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), service: { name: `svc-${i % 4}` }, latency_ms: (i % 50) * 2 + (i % 4) * 100, status: i % 10 === 0 ? 500 : 200 },
  }));
}

describe('Elasticsearch', () => {
  it('is green', async () => {
    const health = await es.cluster.health();
    expect(['green', 'yellow']).toContain(health.status);
  });

  it('applies a composable index template, keeps _bulk idempotent by id, aggregates, and rolls over a write alias', async () => {
    await es.indices.putIndexTemplate({
      name: `${prefix}-template`,
      index_patterns: [`${prefix}-*`],
      priority: 500,
      template: {
        settings: { number_of_shards: 1, number_of_replicas: 0 },
        mappings: {
          dynamic: 'strict',
          properties: {
            '@timestamp': { type: 'date' },
            service: { properties: { name: { type: 'keyword' } } },
            latency_ms: { type: 'float' },
            status: { type: 'integer' },
          },
        },
      },
    });

    const first = `${prefix}-000001`;
    const alias = `${prefix}-write`;
    await es.indices.create({ index: first, aliases: { [alias]: { is_write_index: true } } });
    const mapping = await es.indices.getMapping({ index: first });
    expect(mapping[first].mappings.properties?.latency_ms).toEqual({ type: 'float' });

    const operations = docs().flatMap(({ id, doc }) => [{ index: { _index: alias, _id: id } }, doc]);
    const bulk1 = await es.bulk({ operations, refresh: 'wait_for' });
    expect(bulk1.errors).toBe(false);
    expect((await es.count({ index: alias })).count).toBe(200);

    // The same bulk again (a retry or replay): same ids update in place, nothing is doubled.
    const bulk2 = await es.bulk({ operations, refresh: 'wait_for' });
    expect(bulk2.errors).toBe(false);
    expect(bulk2.items.every((item) => item.index?.result === 'updated')).toBe(true);
    expect((await es.count({ index: alias })).count).toBe(200);

    // A document the strict template refuses comes back as an item error, not a silent drop.
    const bad = await es.bulk({ operations: [{ index: { _index: alias, _id: 'bad' } }, { unknown_field: 1 }], refresh: 'wait_for' });
    expect(bad.errors).toBe(true);
    expect(bad.items[0].index?.error?.type).toBe('strict_dynamic_mapping_exception');

    const search = await es.search({
      index: alias,
      size: 0,
      query: { range: { status: { gte: 500 } } },
      aggs: {
        by_service: {
          terms: { field: 'service.name', size: 10, order: { _key: 'asc' } },
          aggs: { latency: { percentiles: { field: 'latency_ms', percents: [50, 99] } } },
        },
      },
    });
    expect((search.hits.total as { value: number }).value).toBe(20);
    const buckets = (search.aggregations?.by_service as { buckets: Array<{ key: string; doc_count: number; latency: { values: Record<string, number> } }> }).buckets;
    // i % 10 === 0 -> i even, so i % 4 is 0 or 2: only svc-0 and svc-2 have errors, 10 each.
    expect(buckets.map((b) => [b.key, b.doc_count])).toEqual([['svc-0', 10], ['svc-2', 10]]);
    // svc-0 errors: i = 0,20,...,180 -> latency (i%50)*2 in {0,40,80,20,60}; median 40.
    expect(buckets[0].latency.values['50.0']).toBeCloseTo(40, 0);
    expect(buckets[1].latency.values['50.0']).toBeGreaterThan(200);

    const rollover = await es.indices.rollover({ alias });
    expect(rollover.rolled_over).toBe(true);
    const second = rollover.new_index;
    expect(second).toBe(`${prefix}-000002`);
    await es.index({ index: alias, id: 'after-rollover', document: docs()[0].doc, refresh: 'wait_for' });
    expect((await es.count({ index: second })).count).toBe(1);
    expect((await es.count({ index: first })).count).toBe(200);
    // The new index got the template too.
    const settings = await es.indices.getSettings({ index: second });
    expect(settings[second].settings?.index?.number_of_replicas).toBe('0');
    const aliases = await es.indices.getAlias({ name: alias });
    expect(aliases[second].aliases[alias].is_write_index).toBe(true);
    expect(aliases[first].aliases[alias].is_write_index).toBe(false);
  });

  it('ensureRolloverAlias adds new template fields to existing indices and reports a conflict instead of failing', async () => {
    const template = (fields: Record<string, unknown>) => ({ index_patterns: [`${prefix}-up-0*`], priority: 600, template: { settings: { number_of_replicas: 0 }, mappings: { dynamic: false, properties: fields } } });
    const alias = `${prefix}-up`;
    expect(await ensureRolloverAlias(es, { alias, templateName: `${prefix}-up`, template: template({ a: { type: 'keyword' } }) })).toEqual({});
    expect(await ensureRolloverAlias(es, { alias, templateName: `${prefix}-up`, template: template({ a: { type: 'keyword' }, b: { type: 'long' } }) })).toEqual({});
    const mapping = await es.indices.getMapping({ index: alias });
    expect(Object.values(mapping)[0].mappings.properties?.b).toEqual({ type: 'long' });
    const conflict = await ensureRolloverAlias(es, { alias, templateName: `${prefix}-up`, template: template({ a: { type: 'long' } }) });
    expect(conflict.mappingConflict).toMatch(/cannot be changed from type \[keyword\] to \[long\]/);
    await es.indices.deleteIndexTemplate({ name: `${prefix}-up` });
  });

  it('bulkIndex names exactly the documents a strict mapping refused; the others are stored', async () => {
    const index = `${prefix}-strict`;
    await es.indices.create({ index, mappings: { dynamic: 'strict', properties: { n: { type: 'integer' } } }, settings: { number_of_replicas: 0 } });
    const batch = [{ id: 'a', doc: { n: 1 } }, { id: 'b', doc: { other: 2 } }, { id: 'c', doc: { n: 3 } }, { id: 'd', doc: { n: 'not a number' } }];
    const error = await bulkIndex(es, index, batch).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PartlyRejectedError);
    expect((error as PartlyRejectedError).rejected).toEqual([1, 3]);
    expect((error as PartlyRejectedError).retryable).toBe(false);
    await es.indices.refresh({ index });
    const stored = await es.search({ index, query: { match_all: {} } });
    expect(stored.hits.hits.map((h) => h._id).sort()).toEqual(['a', 'c']);
  });
});
