// The findings sink against the real Elasticsearch: one id stays one document across a rollover of the alias.
import { randomUUID } from 'node:crypto';
import { Client } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureRolloverAlias } from '../../core/elasticsearch/client.ts';
import { deleteFindingsIndex } from '../../app/testing/pipeline.ts';
import { ensureStackUp, STACK_URLS } from '../../deploy/local/stack.ts';
import { findingsIndexTemplate } from '../../schemas/elasticsearch/findings.ts';
import { encodeEcsFinding } from '../ecs/encode.ts';
import type { Finding } from '../finding.ts';
import { TACTICS, TECHNIQUES } from '../threat.ts';
import { elasticsearchFindingsSink, type EncodedFinding } from './findings.ts';

const es = new Client({ node: STACK_URLS.elasticsearch });
const alias = `test-rollover-${randomUUID().slice(0, 8)}-findings`;

beforeAll(async () => {
  await ensureStackUp({ only: ['elasticsearch'], progress: 'plain' });
  await ensureRolloverAlias(es, { alias, templateName: alias, template: findingsIndexTemplate(alias) });
});

afterAll(async () => {
  await deleteFindingsIndex(es, alias);
  await es.close();
});

function encoded(count: number): EncodedFinding {
  const finding: Finding = {
    detector: 'brute_force', ruleName: 'Burst of failed logins', ruleDescription: 'd', entityId: 'client:203.0.113.9', entityType: 'client', service: 'auth',
    windowStartMs: Date.UTC(2026, 0, 1), windowEndMs: Date.UTC(2026, 0, 1) + 10_000 * count, riskScore: 70, severity: 73, message: `${count} windows`,
    explanation: [{ feature: 'failed_login_count', actual: 40, typical: 0, share: 1, detector: 'brute_force' }], exemplars: [],
    kind: 'intrusion', threat: { tactic: TACTICS.credentialAccess, technique: TECHNIQUES.bruteForce },
    id: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678', group: { count, firstSeenMs: Date.UTC(2026, 0, 1), lastSeenMs: Date.UTC(2026, 0, 1) + 10_000 * count },
    context: { source: { ip: '203.0.113.9', address: '203.0.113.9' } },
  };
  return { id: finding.id!, key: finding.entityId, doc: encodeEcsFinding(finding, { jaegerUiUrl: 'http://127.0.0.1:16686' }) };
}

async function documents(): Promise<Array<{ index: string; count: number }>> {
  await es.indices.refresh({ index: alias });
  const r = await es.search<{ peregrine: { group: { count: number } } }>({ index: alias, query: { ids: { values: [encoded(1).id] } } });
  return r.hits.hits.map((h) => ({ index: h._index, count: h._source!.peregrine.group.count }));
}

describe('elasticsearchFindingsSink', () => {
  it('updates a finding in the index it lives in after the alias rolled over, from this sink and from a fresh one (a restart)', async () => {
    const sink = elasticsearchFindingsSink(es, alias);
    expect(await sink.write([encoded(1)])).toEqual({ status: 'ok' });
    const [first] = await documents();
    expect(first.index).toBe(`${alias}-000001`);

    await es.indices.rollover({ alias });
    expect(await sink.write([encoded(2)])).toEqual({ status: 'ok' });
    expect(await documents()).toEqual([{ index: `${alias}-000001`, count: 2 }]);

    // A restarted stage (empty cache) replays after a second rollover: it finds the document by searching the alias.
    await es.indices.rollover({ alias });
    const restarted = elasticsearchFindingsSink(es, alias);
    expect(await restarted.write([encoded(3), encoded(3)])).toEqual({ status: 'ok' });
    expect(await documents()).toEqual([{ index: `${alias}-000001`, count: 3 }]);
  });
});
