import { describe, expect, it } from 'vitest';
import { summarize } from './findings.ts';
import { createLogger } from '../core/log.ts';
import { findingOfRecord, IndexGate, LiveFindings } from './live.ts';

describe('the alert feed as live findings', () => {
  it('reads a feed record, taking the id from its header or the document, and says why a bad one is not a finding', () => {
    const doc = { event: { id: 'from-doc' }, message: 'm' };
    expect(findingOfRecord(Buffer.from(JSON.stringify(doc)), Buffer.from('from-header'))).toEqual({ id: 'from-header', document: doc });
    expect(findingOfRecord(Buffer.from(JSON.stringify(doc)), undefined)).toEqual({ id: 'from-doc', document: doc });
    expect(findingOfRecord(Buffer.from('{"message":"m"}'), undefined)).toMatch(/no finding id/);
    expect(findingOfRecord(Buffer.from('not json'), 'x')).toBe('not JSON');
    expect(findingOfRecord(Buffer.from('[1]'), 'x')).toBe('not a JSON object');
    expect(findingOfRecord(Buffer.alloc(2_000_000, 0x20), 'x')).toMatch(/larger than/);
  });

  it('keeps recent findings for a while and up to a count, and tells subscribers until they leave', () => {
    let now = 0;
    const live = new LiveFindings({ keepMs: 1000, keepMax: 3, now: () => now });
    const seen: string[] = [];
    const leave = live.subscribe((f) => seen.push(f.summary.id));
    const publish = (id: string) => live.publish(summarize(id, {}), { message: id });
    for (const id of ['a', 'b', 'c', 'd']) publish(id);
    expect(live.recentFindings().map((f) => f.summary.id)).toEqual(['b', 'c', 'd']);
    expect(live.recentDocument('d')).toEqual({ message: 'd' });
    now = 1500;
    publish('e');
    expect(live.recentFindings().map((f) => f.summary.id)).toEqual(['e']);
    leave();
    publish('f');
    expect(seen).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(live.subscriberCount).toBe(0);
  });

  it('publishes a feed finding once Elasticsearch shows it, or after waiting too long, and bounds what waits', async () => {
    let now = 0;
    const indexed = new Set<string>();
    const published: string[] = [];
    let failing = false;
    const gate = new IndexGate({
      indexed: async (ids) => {
        if (failing) throw new Error('cluster down');
        return new Set(ids.filter((id) => indexed.has(id)));
      },
      publish: (id) => published.push(id), log: createLogger({ level: 'silent', pretty: false }), waitMs: 30_000, maxPending: 3, now: () => now,
    });
    gate.add('a', {});
    gate.add('b', {});
    await gate.check();
    expect(published).toEqual([]);
    indexed.add('b');
    await gate.check();
    expect(published).toEqual(['b']);
    failing = true;
    now = 10_000;
    await gate.check();
    expect(published).toEqual(['b']);
    now = 30_000;
    await gate.check();
    expect(published).toEqual(['b', 'a']);
    failing = false;
    for (const id of ['c', 'd', 'e', 'f']) gate.add(id, {});
    expect(published).toEqual(['b', 'a', 'c']);
    expect(gate.waiting).toBe(3);
  });
});
