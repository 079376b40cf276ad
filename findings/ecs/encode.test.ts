import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { findingsIndexTemplate, findingsMappedFields } from '../../schemas/elasticsearch/findings.ts';
import type { Finding } from '../finding.ts';
import { TACTICS, TECHNIQUES } from '../threat.ts';
import { encodeEcsFinding, eventCategorisation, findingId } from './encode.ts';
import { findingsFeedValidator } from '../../schemas/testing/findings-feed.ts';

const finding: Finding = {
  detector: 'error_ratio', ruleName: 'Error ratio spike', ruleDescription: 'desc',
  entityId: 'operation:productcatalogservice:GetProduct', entityType: 'operation',
  service: 'productcatalogservice', operation: 'GetProduct', windowStartMs: 1_767_225_600_000, windowEndMs: 1_767_225_610_000,
  riskScore: 88, severity: 73, message: 'GetProduct: 40% of 50 requests failed',
  explanation: [{ feature: 'error_ratio', actual: 0.4, typical: 0.01, share: 1 }],
  exemplars: [{ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', reason: 'error' }],
  model: { name: 'baseline', version: '1' },
  threat: { tactic: { id: 'TA0040', name: 'Impact' }, technique: { id: 'T1499', name: 'Endpoint Denial of Service' } },
  urlPath: '/api/products/{id}', sourceIp: '10.0.0.7',
  vector: { names: ['request_count', 'error_ratio'], values: [50, 0.4], sampleCount: 50 },
  request: { method: 'GET', target: '/api/products/7?q=1', headers: { host: 'shop' }, body: '', bodySize: 0 },
};

/** Two detectors on one client window, grouped with two earlier windows (what detectors/triage writes). */
const combined: Finding = {
  detector: 'brute_force', ruleName: 'Failed logins across many identities (+1 more)', ruleDescription: 'Failed logins across many identities; Request flood',
  entityId: 'client:203.0.113.9', entityType: 'client', service: 'auth', windowStartMs: 1_767_225_620_000, windowEndMs: 1_767_225_630_000,
  riskScore: 93.2, severity: 99, message: 'client:203.0.113.9: 400 failed logins in 10 s across 380 identities; also flood: 120 requests/s',
  explanation: [
    { feature: 'failed_login_count', actual: 400, typical: 0.1, share: 0.4, detector: 'brute_force' },
    { feature: 'distinct_identities', actual: 380, typical: 0, share: 0.2, detector: 'brute_force' },
    { feature: 'request_count', actual: 1200, typical: 3, share: 0.4, detector: 'flood' },
  ],
  exemplars: [{ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', reason: 'error' }],
  kind: 'intrusion',
  threat: { tactic: TACTICS.credentialAccess, technique: TECHNIQUES.bruteForce },
  contributions: [
    { detector: 'brute_force', ruleName: 'Failed logins across many identities', riskScore: 88, share: 0.6, threat: { tactic: TACTICS.credentialAccess, technique: TECHNIQUES.bruteForce } },
    { detector: 'flood', ruleName: 'Request flood', riskScore: 75, share: 0.4, threat: { tactic: TACTICS.impact, technique: TECHNIQUES.endpointDenialOfService, subtechnique: TECHNIQUES.serviceExhaustionFlood } },
  ],
  group: { count: 3, firstSeenMs: 1_767_225_600_000, lastSeenMs: 1_767_225_630_000, status: 'updated' },
  id: 'b8a3f0c2d1e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8',
  context: { source: { ip: '203.0.113.9', address: '203.0.113.9' }, user: { name: 'alice' }, httpMethod: 'POST' },
  evidence: { identities: ['alice', 'bob', 'carol'] },
  urlPath: '/api/login',
  vector: { names: ['failed_login_count', 'distinct_identities', 'request_count'], values: [400, 380, 1200], sampleCount: 1200 },
};

/** An availability fault on an operation of a pod. */
const fault: Finding = {
  detector: 'latency', ruleName: 'Latency far above baseline', ruleDescription: 'The p95 latency of an operation rose far above its baseline',
  entityId: 'operation:catalog:GetProduct', entityType: 'operation', service: 'catalog', operation: 'GetProduct',
  windowStartMs: 1_767_225_600_000, windowEndMs: 1_767_225_610_000, riskScore: 62.5, severity: 47, message: 'catalog GetProduct: p95 2500 ms over 40 requests (typically 45 ms)',
  explanation: [{ feature: 'latency_p95_ms', actual: 2500, typical: 45, share: 1, detector: 'latency' }],
  exemplars: [{ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', reason: 'slowest' }],
  kind: 'fault',
  context: { host: { name: 'node-1' }, orchestrator: { type: 'kubernetes', namespace: 'shop', resource: { type: 'pod', name: 'catalog-5c7b' } }, container: { id: 'c0ffee' } },
};

/** A workload finding: a new binary in a process on a host, sending to a new destination. */
const workload: Finding = {
  detector: 'new_destination', ruleName: 'Data sent to a destination never used before', ruleDescription: 'desc',
  entityId: 'process:node-1:/tmp/x', entityType: 'process', service: 'node-1', windowStartMs: 1_767_225_600_000, windowEndMs: 1_767_225_610_000,
  riskScore: 70, severity: 73, message: 'sent 60 MB', explanation: [{ feature: 'bytes_out', actual: 62_914_560, typical: 1024, share: 1, detector: 'new_destination' }],
  exemplars: [], kind: 'intrusion', threat: { tactic: TACTICS.exfiltration, technique: TECHNIQUES.exfiltrationOverAlternativeProtocol },
  context: { host: { name: 'node-1' }, process: { executable: '/tmp/x', name: 'x' }, destination: { address: '198.51.100.23', ip: '198.51.100.23', port: 443 } },
};

const requestFinding: Finding = {
  detector: 'http_request', ruleName: 'Web attack', ruleDescription: 'desc', entityId: 'client:203.0.113.9', entityType: 'client',
  service: 'shop', operation: 'GET /api/items/{id}', windowStartMs: 1_767_225_600_000, windowEndMs: 1_767_225_660_000,
  riskScore: 96, severity: 99, message: '3 requests from 203.0.113.9 to GET /api/items/{id}: sql_injection', groupKey: 'GET /api/items/{id}',
  explanation: [{ feature: 'signature:sql_injection:union_select', actual: 4, typical: 0, share: 0.8 }, { feature: 'model:value:q', actual: 9.2, typical: 0, share: 0.2 }],
  exemplars: [{ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', reason: 'worst_request' }],
  threat: { tactic: { id: 'TA0001', name: 'Initial Access' }, technique: { id: 'T1190', name: 'Exploit Public-Facing Application' } },
  urlPath: '/api/items/{id}', sourceIp: '203.0.113.9', httpMethod: 'GET', userAgent: 'sqlmap/1.8', requestCount: 3,
  request: { method: 'GET', target: "/api/items/7?q=1%27+union+select+1--&token=abc", headers: { cookie: 'sid=s3cr3t' }, body: '' },
  examples: [{
    timeMs: 1_767_225_601_000, traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', riskScore: 96, modelScore: 31.5,
    request: { method: 'GET', target: "/api/items/7?q=1%27+union+select+1--&token=abc", headers: { cookie: 'sid=s3cr3t' }, body: '' },
    signatures: [{ kind: 'sql_injection', construct: 'union_select', location: 'query', field: 'q', fragment: '%27+union+select+1--', start: 1, end: 21, decoded: "' union select 1--" }],
  }],
};

/** Every leaf path of a document, arrays of objects walked into. */
function leafPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) {
    if (value.length === 0) return [];
    return typeof value[0] === 'object' ? value.flatMap((v) => leafPaths(v, prefix)) : [prefix];
  }
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => leafPaths(v, prefix ? `${prefix}.${k}` : k));
  return [prefix];
}

/** A field is covered by its own mapping or by a mapped parent (an object with `enabled: false`: stored, not indexed). */
function covered(mapped: Set<string>, path: string): boolean {
  for (let p = path; p !== ''; p = p.includes('.') ? p.slice(0, p.lastIndexOf('.')) : '') if (mapped.has(p)) return true;
  return false;
}

describe('encodeEcsFinding', () => {
  const doc = encodeEcsFinding(finding, { jaegerUiUrl: 'http://127.0.0.1:16686/' });

  it('writes an ECS alert with the trace link', () => {
    expect(doc).toMatchObject({
      event: { kind: 'alert', risk_score: 88, severity: 73, url: 'http://127.0.0.1:16686/trace/0af7651916cd43dd8448eb211c80319c' },
      trace: { id: '0af7651916cd43dd8448eb211c80319c' },
      service: { name: 'productcatalogservice' },
      rule: { name: 'Error ratio spike' },
    });
    expect(doc['@timestamp']).toBe('2026-01-01T00:00:10.000Z');
  });

  it('matches the golden document', () => {
    const golden = new URL('./testdata/finding.golden.json', import.meta.url);
    if (process.env.UPDATE_GOLDEN) writeFileSync(golden, JSON.stringify(doc, null, 2) + '\n');
    expect(doc).toEqual(JSON.parse(readFileSync(golden, 'utf8')));
  });

  it('writes only fields the index template maps', () => {
    const mapped = findingsMappedFields();
    for (const f of [finding, combined, fault, workload]) {
      const unmapped = leafPaths(encodeEcsFinding(f, { jaegerUiUrl: 'http://j' })).filter((p) => !covered(mapped, p));
      expect(unmapped).toEqual([]);
    }
    const disabled = findingsIndexTemplate('peregrine-findings').template.mappings.properties.peregrine.properties.features;
    expect(disabled).toEqual({ type: 'object', enabled: false });
  });

  for (const [name, f] of Object.entries({ combined, fault, workload })) {
    it(`matches the golden document of a ${name} finding`, () => {
      const encoded = encodeEcsFinding(f, { jaegerUiUrl: 'http://127.0.0.1:16686' });
      const golden = new URL(`./testdata/${name}.golden.json`, import.meta.url);
      if (process.env.UPDATE_GOLDEN) writeFileSync(golden, JSON.stringify(encoded, null, 2) + '\n');
      expect(encoded).toEqual(JSON.parse(readFileSync(golden, 'utf8')));
    });
  }

  it('keeps a triaged finding\'s id and spans its group in event.start/end, the window in peregrine.window', () => {
    const d = encodeEcsFinding(combined, { jaegerUiUrl: 'http://j' }) as { event: Record<string, unknown>; peregrine: Record<string, unknown>; '@timestamp': string };
    expect(d.event).toMatchObject({ id: combined.id, start: '2026-01-01T00:00:00.000Z', end: '2026-01-01T00:00:30.000Z' });
    expect(d.peregrine.window).toEqual({ start: '2026-01-01T00:00:20.000Z', end: '2026-01-01T00:00:30.000Z' });
    expect(d['@timestamp']).toBe('2026-01-01T00:00:30.000Z');
  });

  it('names every technique of a combined finding, with sub-techniques and references', () => {
    expect(encodeEcsFinding(combined, { jaegerUiUrl: 'http://j' }).threat).toEqual({
      framework: 'MITRE ATT&CK',
      tactic: { id: ['TA0006', 'TA0040'], name: ['Credential Access', 'Impact'], reference: ['https://attack.mitre.org/tactics/TA0006/', 'https://attack.mitre.org/tactics/TA0040/'] },
      technique: {
        id: ['T1110', 'T1499'], name: ['Brute Force', 'Endpoint Denial of Service'],
        reference: ['https://attack.mitre.org/techniques/T1110/', 'https://attack.mitre.org/techniques/T1499/'],
        subtechnique: { id: ['T1499.002'], name: ['Service Exhaustion Flood'], reference: ['https://attack.mitre.org/techniques/T1499/002/'] },
      },
    });
    expect(encodeEcsFinding(fault, { jaegerUiUrl: 'http://j' })).not.toHaveProperty('threat');
  });

  it('categorises intrusions as intrusion_detection and faults by their domain, with types ECS allows', () => {
    expect(eventCategorisation('intrusion', 'client')).toEqual({ category: ['intrusion_detection', 'web'], type: ['info'] });
    expect(eventCategorisation('fault', 'operation')).toEqual({ category: ['web'], type: ['error'] });
    expect(eventCategorisation('fault', 'host')).toEqual({ category: ['host'], type: ['info'] });
    expect(eventCategorisation('anomaly', 'edge')).toEqual({ category: ['network'], type: ['info'] });
    expect(eventCategorisation('intrusion', 'process')).toEqual({ category: ['intrusion_detection', 'process'], type: ['info'] });
  });

  it('encodes a request finding with its masked examples, fragments and offsets (golden)', () => {
    const requestDoc = encodeEcsFinding(requestFinding, { jaegerUiUrl: 'http://127.0.0.1:16686' });
    const golden = new URL('./testdata/request-finding.golden.json', import.meta.url);
    if (process.env.UPDATE_GOLDEN) writeFileSync(golden, JSON.stringify(requestDoc, null, 2) + '\n');
    expect(requestDoc).toEqual(JSON.parse(readFileSync(golden, 'utf8')));
    expect(requestDoc).toMatchObject({ http: { request: { method: 'GET' } }, user_agent: { original: 'sqlmap/1.8' }, source: { ip: '203.0.113.9' }, peregrine: { signatures: ['sql_injection'], requests: 3 } });
    const text = JSON.stringify(requestDoc);
    expect(text).not.toContain('s3cr3t');
    expect(text).not.toContain('token=abc');
    const mapped = findingsMappedFields();
    expect(leafPaths(requestDoc).filter((p) => !covered(mapped, p))).toEqual([]);
  });

  it('derives the id from entity, detector and window only', () => {
    expect(findingId(finding)).toBe(findingId({ ...finding }));
    expect(findingId(finding)).not.toBe(findingId({ ...finding, windowStartMs: finding.windowStartMs + 10_000 }));
    expect(findingId(finding)).not.toBe(findingId({ ...finding, detector: 'other' }));
    expect(doc.event).toHaveProperty('id', findingId(finding));
    // A request group's route is part of its id; findings without one keep the ids they always had.
    expect(findingId({ ...finding, groupKey: 'GET /a' })).not.toBe(findingId({ ...finding, groupKey: 'GET /b' }));
    expect(findingId({ ...finding, groupKey: undefined })).toBe(findingId(finding));
  });
});

describe('the alert feed\'s published schema (schemas/findings.v1.schema.json)', () => {
  const validate = findingsFeedValidator();

  it('every document the encoder writes conforms: window findings (combined, fault, workload) and a request finding', () => {
    expect(validate(encodeEcsFinding(finding, { jaegerUiUrl: 'http://127.0.0.1:16686' }))).toEqual([]);
    expect(validate(encodeEcsFinding(requestFinding, { jaegerUiUrl: 'http://127.0.0.1:16686' }))).toEqual([]);
    for (const f of [combined, fault, workload]) expect(validate(encodeEcsFinding(f, { jaegerUiUrl: 'http://127.0.0.1:16686' }))).toEqual([]);
    const bare = encodeEcsFinding({ ...finding, exemplars: [], model: undefined, threat: undefined, urlPath: undefined, sourceIp: undefined, vector: undefined, request: undefined }, { jaegerUiUrl: 'http://j' });
    expect(validate(bare)).toEqual([]);
  });

  it('refuses what a consumer could not rely on', () => {
    const doc = encodeEcsFinding(requestFinding, { jaegerUiUrl: 'http://127.0.0.1:16686' }) as Record<string, any>;
    expect(validate({ ...doc, event: { ...doc.event, id: 'not-a-hash' } }).join()).toMatch(/event\/id/);
    expect(validate({ ...doc, event: { ...doc.event, risk_score: 140 } }).join()).toMatch(/risk_score/);
    expect(validate({ ...doc, source: { ip: 'client.example' } }).join()).toMatch(/source\/ip/);
    expect(validate({ ...doc, unexpected: 1 }).join()).toMatch(/additional properties/);
  });
});
