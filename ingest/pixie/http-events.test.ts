import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../core/errors.ts';
import { decodeTraceRequest } from '../otlp/traces.ts';
import { referenceDecodeTraceRequest } from '../otlp/testing/reference-decoders.ts';
import { readPixieRowsFile } from './file.ts';
import { parsePixieRows, pixieRowsToTraceRequest, pixieRowToRequestEvent, REDACTED } from './http-events.ts';
import { sharedDataPath } from '../../core/testing/shared-data.ts';

const here = new URL('./testdata/', import.meta.url);
const options = { service: 'tienda', fallbackTimeMs: 1_764_547_200_000 };

/** Compares with the golden file; UPDATE_GOLDEN=1 rewrites it. */
function golden(name: string, actual: Buffer | string): void {
  const path = new URL(name, here);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, actual);
  if (!existsSync(path)) throw new Error(`golden file ${name} is missing: run with UPDATE_GOLDEN=1 and review it`);
  expect(Buffer.from(actual).equals(readFileSync(path)), `${name} differs from the golden file`).toBe(true);
}

describe('Pixie http_events', () => {
  const rows = parsePixieRows(readFileSync(new URL('http_events.jsonl', here), 'utf8'));

  it('parses JSON lines, skipping blank ones', () => {
    expect(rows).toHaveLength(3);
    expect(rows[0].req_method).toBe('GET');
  });

  it('maps a server row onto a RequestEvent', () => {
    const e = pixieRowToRequestEvent(rows[0], options, 0);
    expect(e).toMatchObject({
      service: 'shop/frontend', spanKind: 'server', protocol: 'http', method: 'GET', path: '/api/products/42', query: 'currency=EUR',
      route: '/api/products/{id}', operation: 'GET /api/products/{id}', httpStatus: 200, clientAddress: '10.244.1.17',
      serverAddress: 'frontend', serverPort: 8080, userAgent: 'curl/8.5.0', responseBytes: 23, requestBytes: 0,
      responseBody: '{"id":42,"name":"lamp"}', error: false, durationMs: 1.532,
    });
    // time_ is the end of the request: start = time_ - latency, in exact nanoseconds.
    expect(e.timeMs).toBe(1764547200121.9248);
    expect(e.attributes['http.request.header.authorization']).toBe(JSON.stringify([REDACTED]));
    expect(e.resource).toEqual({ 'service.name': 'shop/frontend', 'k8s.pod.name': 'shop/frontend-7c9d8f6b5-x2x7q', 'k8s.namespace.name': 'shop' });
    expect(e.traceId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('maps a client row with an RFC 3339 time and a 503 onto an erroring client span', () => {
    const e = pixieRowToRequestEvent(rows[1], options, 1);
    expect(e).toMatchObject({ spanKind: 'client', serverAddress: 'cart', serverPort: 7070, httpStatus: 503, error: true, statusMessage: 'Service Unavailable', durationMs: 250, requestBody: '{"sku":"A1","qty":1}' });
    expect(e.timeMs).toBe(Date.parse('2025-12-01T00:00:01.5Z') - 250);
  });

  it('places rows without time_ at fallbackTimeMs + index, and refuses to guess without it', () => {
    expect(pixieRowToRequestEvent(rows[2], options, 2)).toMatchObject({ timeMs: 1_764_547_200_002, service: 'tienda', method: 'PUT', httpStatus: undefined });
    expect(() => pixieRowToRequestEvent(rows[2], {}, 2)).toThrow(/row 3: no time_ column; pass fallbackTimeMs/);
  });

  it('exports spans that decode (wire and reference) to exactly the events of the direct mapping; golden bytes', () => {
    const bytes = pixieRowsToTraceRequest(rows, options);
    const direct = rows.map((row, i) => pixieRowToRequestEvent(row, options, i));
    expect(decodeTraceRequest(bytes)).toEqual(direct);
    expect(referenceDecodeTraceRequest(bytes)).toEqual(direct);
    golden('http_events.otlp.bin', Buffer.from(bytes));
    golden('http_events.events.json', `${JSON.stringify(direct, null, 2)}\n`);
  });

  it('is deterministic: the same rows give the same ids and bytes', () => {
    expect(Buffer.from(pixieRowsToTraceRequest(rows, options)).equals(Buffer.from(pixieRowsToTraceRequest(rows, options)))).toBe(true);
  });

  it('names the line of a bad row', () => {
    expect(() => parsePixieRows('{"req_method": "GET"}\n{oops}\n')).toThrow(/^line 2: not valid JSON/);
    expect(() => parsePixieRows('\n\n{"resp_status": "200"}')).toThrow(/line 3: column resp_status must be a number/);
    expect(() => parsePixieRows('[1,2]')).toThrow(DecodeError);
    expect(() => parsePixieRows('{"time_": "yesterday"}')).toThrow(/line 1: column time_/);
    expect(() => parsePixieRows('{"req_headers": "{nope"}')).not.toThrow(); // header text is only parsed when mapped
    expect(() => pixieRowToRequestEvent(parsePixieRows('{"req_headers": "{nope"}')[0], options)).toThrow(/row 1: headers are not a JSON object/);
  });

  it('reads the CSIC 2010 rows (gzip, no time_/latency/response) and round-trips them through OTLP', async () => {
    const csic = await readPixieRowsFile(sharedDataPath('csic2010', 'dev.jsonl.gz'));
    expect(csic.length).toBe(6139);
    const sample = csic.slice(0, 500);
    const events = decodeTraceRequest(pixieRowsToTraceRequest(sample, options));
    expect(events).toEqual(sample.map((row, i) => pixieRowToRequestEvent(row, options, i)));
    expect(new Set(events.map((e) => e.method))).toEqual(new Set(['GET', 'POST']));
    expect(events.every((e) => e.serverAddress === 'localhost' && e.serverPort === 8080)).toBe(true);
    expect(events.some((e) => e.requestBody !== undefined)).toBe(true);
    expect(events.every((e) => !String(e.attributes['http.request.header.cookie'] ?? REDACTED).includes('JSESSIONID'))).toBe(true);
  });
});
