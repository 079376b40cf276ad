import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestEvent } from '../../core/events.ts';
import { sharedDataPath } from '../../core/testing/shared-data.ts';
import { pixieRowToRequestEvent, validatePixieRow, type PixieHttpRow } from '../../ingest/pixie/index.ts';
import { readJsonLines } from '../../models/http/jsonl.ts';
import { HTTP_REQUEST_DETECTOR, HttpRequestDetector, httpRequestOf } from './detector.ts';
import { HttpModel, parseHttpRow } from '../../models/index.ts';

const CSIC = sharedDataPath('csic2010');

/** CSIC rows as the pipeline sees them: a Pixie row from a client address, exported as a span, decoded as an event. */
async function events(file: string, keep: (i: number) => boolean, limit: number): Promise<Array<{ event: RequestEvent; anomalous: boolean; row: PixieHttpRow }>> {
  const out: Array<{ event: RequestEvent; anomalous: boolean; row: PixieHttpRow }> = [];
  let i = 0;
  for await (const l of readJsonLines(path.join(CSIC, file))) {
    if (!('value' in l) || !keep(i++)) continue;
    const row = validatePixieRow({ ...(l.value as object), remote_addr: '10.1.2.3', remote_port: 40000, local_addr: '10.0.0.8', local_port: 8080, trace_role: 2 }, `line ${l.line}`);
    out.push({ event: pixieRowToRequestEvent(row, { service: 'tienda', fallbackTimeMs: 1_764_547_200_000 }, i), anomalous: (l.value as { label?: string }).label === 'anomalous', row });
    if (out.length >= limit) break;
  }
  return out;
}

describe('httpRequestOf', () => {
  it('reads a request event the way the model reads a Pixie row: parameters, form body, headers', async () => {
    const [{ event, row }] = await events('dev.jsonl.gz', (i) => i === 0, 1);
    const fromEvent = httpRequestOf(event)!;
    const fromRow = parseHttpRow(row);
    expect(fromEvent.method).toBe(fromRow.method);
    expect(fromEvent.path).toBe(fromRow.path);
    expect(fromEvent.params).toEqual(fromRow.params);
    expect(fromEvent.rawBody).toBe(fromRow.rawBody);
    // The same header names; the cookie was redacted on the way, as in production.
    expect(fromEvent.headers.map(([n]) => n).sort()).toEqual(fromRow.headers.map(([n]) => n).sort());
    expect(fromEvent.headers.find(([n]) => n === 'cookie')?.[1]).toBe('[REDACTED]');
    expect(fromEvent.headers.find(([n]) => n === 'user-agent')?.[1]).toBe(fromRow.headers.find(([n]) => n === 'user-agent')?.[1]);
  });

  it('skips what is not a server-side HTTP request', async () => {
    const [{ event }] = await events('dev.jsonl.gz', (i) => i === 0, 1);
    expect(httpRequestOf({ ...event, spanKind: 'client' })).toBeUndefined();
    expect(httpRequestOf({ ...event, protocol: 'grpc' })).toBeUndefined();
    expect(httpRequestOf({ ...event, method: undefined })).toBeUndefined();
  });
});

describe('HttpRequestDetector on CSIC 2010 through the pipeline\'s event path', () => {
  let model: HttpModel;
  beforeAll(async () => {
    const train = (await events('train-normal.jsonl.gz', () => true, 6000)).map((e) => httpRequestOf(e.event)!);
    model = await HttpModel.train(train, { epochs: 5 });
  }, 120_000);
  afterAll(() => model?.dispose());

  it('reports attacks as T1190 findings with path, client and trace, and few normal requests', async () => {
    // Every 8th dev row: a fixed stride, not a chosen subset.
    const test = await events('dev.jsonl.gz', (i) => i % 8 === 0, 100_000);
    const detector = new HttpRequestDetector({ model, name: 'csic', version: '1' }, { falsePositiveRate: 0.01 });
    expect(detector.operatingPoint.fpr).toBe(0.01);
    const findings = detector.score(test.map((t) => t.event));
    const flagged = new Set(findings.map((f) => f.exemplars[0]?.spanId));
    const attacks = test.filter((t) => t.anomalous);
    const normal = test.filter((t) => !t.anomalous);
    const tpr = attacks.filter((t) => flagged.has(t.event.spanId)).length / attacks.length;
    const fpr = normal.filter((t) => flagged.has(t.event.spanId)).length / normal.length;
    if (process.env.PEREGRINE_PRINT_METRICS) process.stderr.write(JSON.stringify({ tpr, fpr, attacks: attacks.length, normal: normal.length }) + '\n');
    expect(attacks.length).toBeGreaterThan(300);
    expect(tpr).toBeGreaterThan(0.9);
    expect(fpr).toBeLessThan(0.05);
    const f = findings[0];
    expect(f).toMatchObject({
      detector: HTTP_REQUEST_DETECTOR, entityType: 'operation', service: 'tienda', sourceIp: '10.1.2.3', model: { name: 'csic', version: '1' },
      threat: { tactic: { id: 'TA0001' }, technique: { id: 'T1190', name: 'Exploit Public-Facing Application' } },
    });
    expect(f.urlPath).toMatch(/^\/tienda1\//);
    expect(f.explanation.length).toBeGreaterThan(0);
    expect(f.riskScore).toBeGreaterThanOrEqual(50);
    expect(f.exemplars[0].traceId).toMatch(/^[0-9a-f]{32}$/);
  }, 120_000);

  it('keeps a host name out of source.ip', async () => {
    const [{ event }] = await events('dev.jsonl.gz', (i) => i % 2 === 1, 1);
    const detector = new HttpRequestDetector({ model, name: 'csic', version: '1' }, { falsePositiveRate: 0.01 });
    const odd = { ...event, query: 'id=%27%20OR%201%3D1--%20&x=<script>alert(1)</script>', clientAddress: 'client.example' };
    const [finding] = detector.score([odd]);
    expect(finding).toBeDefined();
    expect(finding.sourceIp).toBeUndefined();
  });
});
