import { describe, expect, it } from 'vitest';
import { BadRequestError, filtersQuery, matchesFilters, parseFilters, severityLabel, summarize, type FindingSummary } from './findings.ts';

const NOW = Date.parse('2026-12-06T12:00:00Z');

function finding(overrides: Partial<FindingSummary> = {}): FindingSummary {
  return {
    id: 'f1', timestamp: '2026-12-06T11:50:00.000Z', score: 80, severity: 73, severityLabel: 'high', entity: 'operation:shop:GET /search',
    service: 'shop', detector: 'http_request', rule: 'Anomalous HTTP request', technique: { id: 'T1190', name: 'Exploit Public-Facing Application' },
    message: 'm', ...overrides,
  };
}

describe('finding filters', () => {
  it('parses the query string, defaulting to the last 24 hours', () => {
    expect(parseFilters(new URLSearchParams(''))).toEqual({ sinceMs: 24 * 3_600_000 });
    expect(parseFilters(new URLSearchParams('severity=high&technique=T1190&entity=%20shop%20&detector=http_request&since=all'))).toEqual({
      minSeverity: 73, technique: 'T1190', entity: 'shop', detector: 'http_request',
    });
  });

  it('refuses bad values naming the parameter', () => {
    expect(() => parseFilters(new URLSearchParams('severity=extreme'))).toThrow(/severity must be one of low, medium, high, critical/);
    expect(() => parseFilters(new URLSearchParams('since=forever'))).toThrow(BadRequestError);
    expect(() => parseFilters(new URLSearchParams(`entity=${'x'.repeat(201)}`))).toThrow(/entity is longer than 200/);
  });

  it('checks a live finding the way the list query selects them', () => {
    const all = parseFilters(new URLSearchParams('since=all'));
    expect(matchesFilters(finding(), all, NOW)).toBe(true);
    expect(matchesFilters(finding({ severity: 47 }), parseFilters(new URLSearchParams('severity=high&since=all')), NOW)).toBe(false);
    expect(matchesFilters(finding({ severity: 99 }), parseFilters(new URLSearchParams('severity=high&since=all')), NOW)).toBe(true);
    expect(matchesFilters(finding(), parseFilters(new URLSearchParams('entity=GET%20/SEARCH&since=all')), NOW)).toBe(true);
    expect(matchesFilters(finding(), parseFilters(new URLSearchParams('entity=checkout&since=all')), NOW)).toBe(false);
    expect(matchesFilters(finding({ technique: undefined }), parseFilters(new URLSearchParams('technique=T1190&since=all')), NOW)).toBe(false);
    expect(matchesFilters(finding(), parseFilters(new URLSearchParams('detector=error_ratio&since=all')), NOW)).toBe(false);
    expect(matchesFilters(finding(), parseFilters(new URLSearchParams('since=15m')), NOW)).toBe(true);
    expect(matchesFilters(finding({ timestamp: '2026-12-06T11:00:00.000Z' }), parseFilters(new URLSearchParams('since=15m')), NOW)).toBe(false);
  });

  it('builds the Elasticsearch query, taking entity text literally', () => {
    const query = filtersQuery(parseFilters(new URLSearchParams('severity=medium&technique=T1190&detector=http_request&entity=a*b?c\\&since=1h')), NOW);
    expect(query).toEqual({ bool: { filter: [
      { range: { 'event.severity': { gte: 47 } } },
      { term: { 'threat.technique.id': 'T1190' } },
      { term: { 'peregrine.detector': 'http_request' } },
      { wildcard: { 'peregrine.entity.id': { value: '*a\\*b\\?c\\\\*', case_insensitive: true } } },
      { range: { '@timestamp': { gte: '2026-12-06T11:00:00.000Z' } } },
    ] } });
  });
});

describe('finding summary', () => {
  it('reads the ECS fields a row shows and survives missing or mistyped ones', () => {
    expect(summarize('id1', {
      '@timestamp': '2026-12-06T11:50:00.000Z', message: 'one line', event: { risk_score: 91, severity: 99 }, rule: { name: 'Rule' },
      service: { name: 'shop' }, trace: { id: 'abc' }, threat: { technique: { id: ['T1190'], name: ['Exploit'] } },
      peregrine: { entity: { id: 'operation:shop:GET /' }, detector: 'http_request' },
    })).toEqual({
      id: 'id1', timestamp: '2026-12-06T11:50:00.000Z', score: 91, severity: 99, severityLabel: 'critical', entity: 'operation:shop:GET /', service: 'shop',
      detector: 'http_request', rule: 'Rule', technique: { id: 'T1190', name: 'Exploit' }, message: 'one line', traceId: 'abc',
    });
    const odd = summarize('id2', { message: 42 as never, event: { risk_score: 'high' as never } });
    expect(odd).toMatchObject({ message: '', score: 0, severityLabel: 'low', entity: '' });
    expect(odd.technique).toBeUndefined();
  });

  it('names severity bands as Elastic Security does', () => {
    expect([0, 21, 46, 47, 73, 98, 99].map(severityLabel)).toEqual(['low', 'low', 'low', 'medium', 'high', 'high', 'critical']);
  });
});
