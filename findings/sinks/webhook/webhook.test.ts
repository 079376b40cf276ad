import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ManualClock } from '../../../core/clock.ts';
import { createLogger } from '../../../core/log.ts';
import type { EncodedFinding } from '../findings.ts';
import { WebhookConfig } from './config.ts';
import { backoffMs, classifyStatus, webhookRequest } from './request.ts';
import { signatureHeader, verifySignature } from './signature.ts';
import { webhookSink } from './sink.ts';

const SECRET = 'whsec_0123456789abcdef0123456789abcdef';
const finding = (id: string, n = 1): EncodedFinding => ({ id, key: 'client:203.0.113.9', doc: { event: { id, kind: 'alert' }, message: `finding ${n}` } });

describe('signature', () => {
  it('is an HMAC-SHA256 over "<t>.<body>" that a receiver verifies, and refuses when anything changed', () => {
    const body = JSON.stringify({ event: { id: 'a' } });
    const header = signatureHeader(SECRET, 1_767_225_600, body);
    expect(header).toMatch(/^t=1767225600,v1=[0-9a-f]{64}$/);
    expect(verifySignature(header, body, SECRET, 1_767_225_700)).toEqual({ ok: true });
    expect(verifySignature(header, body + ' ', SECRET, 1_767_225_700)).toEqual({ ok: false, reason: 'signature mismatch' });
    expect(verifySignature(header, body, 'another-secret-another-secret-xx', 1_767_225_700)).toEqual({ ok: false, reason: 'signature mismatch' });
    expect(verifySignature(header, body, SECRET, 1_767_225_600 + 301)).toEqual({ ok: false, reason: 'timestamp outside the tolerance' });
    expect(verifySignature(undefined, body, SECRET, 1)).toEqual({ ok: false, reason: 'no signature header' });
    // During a secret rotation the header may carry two signatures.
    expect(verifySignature(`${header},v1=${'0'.repeat(64)}`, body, SECRET, 1_767_225_600)).toEqual({ ok: true });
  });

  it('signs the body exactly as sent, with the finding id as an idempotency key', () => {
    const r = webhookRequest(finding('f1'), SECRET, 1_767_225_600, { authorization: 'Bearer soar-token' });
    expect(r.body).toBe(JSON.stringify(finding('f1').doc));
    expect(r.headers).toMatchObject({ 'content-type': 'application/json', 'x-peregrine-finding-id': 'f1', 'idempotency-key': 'f1', authorization: 'Bearer soar-token' });
    expect(verifySignature(r.headers['x-peregrine-signature'], r.body, SECRET, 1_767_225_600)).toEqual({ ok: true });
  });
});

describe('answers and backoff', () => {
  it('retries timeouts, throttling and server errors; gives up on other refusals', () => {
    expect([200, 202, 204].map(classifyStatus)).toEqual(['delivered', 'delivered', 'delivered']);
    expect([408, 425, 429, 500, 502, 503].map(classifyStatus)).toEqual(Array(6).fill('retry'));
    expect([400, 401, 403, 404, 410, 413, 422].map(classifyStatus)).toEqual(Array(7).fill('refused'));
  });

  it('doubles up to the cap with full jitter, and honours Retry-After', () => {
    expect([1, 2, 3, 4, 10].map((a) => backoffMs(a, 1000, 60_000, 0.999999))).toEqual([999, 1999, 3999, 7999, 59999]);
    expect(backoffMs(3, 1000, 60_000, 0)).toBe(0);
    expect(backoffMs(1, 1000, 60_000, 0.5, 30)).toBe(30_000);
    expect(backoffMs(1, 1000, 60_000, 0.5, 3600)).toBe(60_000);
  });
});

describe('config', () => {
  it('wants https, a long secret, and both when enabled; off by default', () => {
    expect(WebhookConfig.parse({}).enabled).toBe(false);
    expect(() => WebhookConfig.parse({ enabled: true, url: 'http://soar.example/hook', secret: SECRET })).toThrow(/https/);
    expect(() => WebhookConfig.parse({ enabled: true, url: 'https://soar.example/hook', secret: 'short' })).toThrow(/32 characters/);
    expect(() => WebhookConfig.parse({ enabled: true })).toThrow(/url and secret/);
    expect(WebhookConfig.parse({ enabled: true, url: 'https://soar.example/hook', secret: SECRET }).maxAttempts).toBe(8);
  });

  it('is a section of the findings stage\'s config with every key defaulted', () => {
    const findings = z.strictObject({ groupId: z.string().default('peregrine-findings-indexer'), webhook: WebhookConfig.default(WebhookConfig.parse({})) });
    expect(findings.parse({}).webhook).toMatchObject({ enabled: false, groupId: 'peregrine-findings-webhook', headers: {} });
    expect(() => findings.parse({ webhook: { enabled: true, url: 'https://soar.example/hook' } })).toThrow(/url and secret/);
  });
});

describe('webhookSink against a real HTTPS server', () => {
  let dir: string;
  let server: Server;
  let url: string;
  /** What the server answers next, per finding id (default 200). */
  const script = new Map<string, number[]>();
  const received: Array<{ id: string; body: string; signature: string; valid: boolean }> = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'peregrine-webhook-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'pipe' });
    server = createServer({ cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) }, (req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => {
        const id = String(req.headers['x-peregrine-finding-id']);
        const signature = String(req.headers['x-peregrine-signature']);
        received.push({ id, body, signature, valid: verifySignature(signature, body, SECRET, Math.floor(Date.now() / 1000)).ok });
        const status = script.get(id)?.shift() ?? 200;
        res.writeHead(status, status === 429 ? { 'retry-after': '0' } : {}).end(status >= 400 ? `nope ${status}` : 'ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  const log = createLogger({ level: 'silent' });
  const config = (extra: Partial<WebhookConfig> = {}) => WebhookConfig.parse({ enabled: true, url, secret: SECRET, ca: join(dir, 'cert.pem'), initialBackoffMs: 10, maxBackoffMs: 50, maxAttempts: 4, ...extra });

  it('POSTs each finding signed; retries 503 and 429 with backoff; gives up on a 400 and after the last attempt, naming why', async () => {
    received.length = 0;
    script.set('retry-then-ok', [503, 429]);
    script.set('bad', [400]);
    script.set('always-down', [503, 503, 503, 503]);
    const waits: number[] = [];
    const sink = webhookSink({ config: config(), log, sleep: async (ms) => { waits.push(ms); }, random: () => 0.5 });
    const items = [finding('ok-1'), finding('retry-then-ok'), finding('bad'), finding('always-down'), finding('ok-2')];
    const result = await sink.write(items);
    await sink.close();
    expect(result).toMatchObject({ status: 'failed', rejected: [2, 3] });
    expect((result as { error: Error }).error.message).toMatch(/gave up on finding bad after 1 attempt: HTTP 400: nope 400/);
    expect(received.map((r) => r.id)).toEqual(['ok-1', 'retry-then-ok', 'retry-then-ok', 'retry-then-ok', 'bad', 'always-down', 'always-down', 'always-down', 'always-down', 'ok-2']);
    expect(received.every((r) => r.valid)).toBe(true);
    expect(JSON.parse(received[0].body)).toEqual(finding('ok-1').doc);
    // Exponential with jitter (random 0.5): 5, 10 for the first; Retry-After 0 is below the jittered wait.
    expect(waits.slice(0, 2)).toEqual([5, 10]);
  });

  it('verifies the server certificate: without its CA the webhook is not trusted and nothing is delivered', async () => {
    received.length = 0;
    const sink = webhookSink({ config: config({ ca: undefined, maxAttempts: 2 }), log, sleep: async () => {} });
    const result = await sink.write([finding('untrusted')]);
    await sink.close();
    expect(result.status).toBe('failed');
    expect((result as { error: Error }).error.message).toMatch(/certificate/i);
    expect(received).toEqual([]);
  });

  it('hands a long outage back to the stage as retryable, remembering attempts, without re-sending what was delivered', async () => {
    received.length = 0;
    script.set('slow-outage', [503, 503, 503]);
    const clock = new ManualClock(1_767_225_600_000);
    const sink = webhookSink({ config: config({ maxAttempts: 3 }), log, clock, budgetMs: 1, sleep: async (ms) => clock.advance(ms), random: () => 0.9 });
    const items = [finding('before'), finding('slow-outage')];
    expect((await sink.write(items)).status).toBe('retryable');
    expect((await sink.write(items)).status).toBe('retryable');
    const last = await sink.write(items);
    await sink.close();
    expect(last).toMatchObject({ status: 'failed', rejected: [1] });
    expect(received.map((r) => r.id)).toEqual(['before', 'slow-outage', 'slow-outage', 'slow-outage']);
  });
});
