/**
 * The console's HTTP layer with in-memory backends (the real Elasticsearch, Kafka and Jaeger are in
 * console.integration.test.ts): login and sessions, headers, the verdict endpoint's checks, the live stream.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch as fetchWith } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { PeregrineError } from '../core/errors.ts';
import { createLogger } from '../core/log.ts';
import { MetricsRegistry } from '../core/metrics.ts';
import type { Feedback } from '../findings/feedback/store.ts';
import { ConsoleConfig } from './config.ts';
import { summarize, type FindingDocument } from './findings.ts';
import { LiveFindings } from './live.ts';
import { serveConsole, type RunningConsoleServer } from './server.ts';

const TOKEN = 'unit-test-token-0123456789';
const doc = (id: string, entity: string, severity = 73): FindingDocument => ({
  '@timestamp': new Date().toISOString(), message: `finding ${id}`, event: { id, severity, risk_score: 80 }, rule: { name: 'Rule' },
  peregrine: { entity: { id: entity }, detector: 'error_ratio', exemplars: [{ trace_id: '0123456789abcdef0123456789abcdef', span_id: 'aa', reason: 'error' }] },
});

let running: RunningConsoleServer | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

async function start(settings: Partial<ConsoleConfig> = {}) {
  const docs = new Map<string, FindingDocument>([['f1', doc('f1', 'operation:shop:GET /')]]);
  const recorded: Feedback[] = [];
  const live = new LiveFindings();
  running = await serveConsole({
    settings: ConsoleConfig.parse({ port: 0, authToken: TOKEN, ...settings }),
    metrics: new MetricsRegistry(),
    log: createLogger({ level: 'silent', pretty: false }),
    links: { jaegerUiUrl: 'http://127.0.0.1:16686' },
    backends: {
      live,
      findings: {
        list: async () => ({ findings: [...docs].map(([id, d]) => summarize(id, d)), total: docs.size }),
        get: async (id) => docs.get(id),
        related: async () => [],
        facets: async () => ({ detectors: ['error_ratio'], techniques: [] }),
      },
      feedback: {
        of: async (ids) => new Map(recorded.filter((f) => ids.includes(f.findingId)).map((f) => [f.findingId, f])),
        record: async (f) => {
          if (!docs.has(f.findingId)) throw new PeregrineError(`no finding with id ${f.findingId} in test`);
          recorded.push(f);
        },
      },
      traces: { get: async () => undefined },
    },
  });
  return { url: running.url, recorded, live, docs };
}

const bearer = { authorization: `Bearer ${TOKEN}` };

describe('console server', () => {
  it('shows the login form instead of a page, and the API wants a session or the bearer token', async () => {
    const { url } = await start();
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(401);
    expect(await page.text()).toContain('name="token"');
    expect((await fetch(`${url}/api/findings`)).status).toBe(401);
    expect((await fetch(`${url}/api/findings`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    const listed = await fetch(`${url}/api/findings`, { headers: bearer });
    expect(listed.status).toBe(200);
    expect(((await listed.json()) as { findings: Array<{ id: string }> }).findings.map((f) => f.id)).toEqual(['f1']);
    // Liveness stays open; metrics want the token.
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    expect(await (await fetch(`${url}/metrics`, { headers: bearer })).text()).toContain('peregrine_console_requests_total');
  });

  it('logs in once with a form post: an HttpOnly SameSite=Strict session cookie, never the token, opens the pages', async () => {
    const { url } = await start();
    const login = (token: string, next: string) => fetch(`${url}/login`, {
      method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token, next }).toString(),
    });
    const failed = await login('not-the-token-at-all', '/findings/f1');
    expect(failed.status).toBe(303);
    expect(failed.headers.get('location')).toBe('/login?failed=1&next=%2Ffindings%2Ff1');
    expect(failed.headers.get('set-cookie')).toBeNull();

    const ok = await login(TOKEN, '//evil.example/');
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/');
    const cookie = ok.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^peregrine_console=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    expect(cookie).not.toContain(TOKEN);
    const session = cookie.split(';')[0]!;
    const page = await fetch(`${url}/`, { headers: { cookie: session } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('id="findings-list"');
    expect((await fetch(`${url}/api/findings/f1`, { headers: { cookie: session } })).status).toBe(200);

    const out = await fetch(`${url}/logout`, { method: 'POST', redirect: 'manual', headers: { cookie: session } });
    expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    expect((await fetch(`${url}/api/findings`, { headers: { cookie: session } })).status).toBe(401);
  });

  it('sends a CSP without inline scripts or styles and the other protective headers on every answer', async () => {
    const { url } = await start({ authToken: undefined });
    for (const path of ['/', '/findings/f1', '/api/findings', '/static/app.js', '/nowhere']) {
      const res = await fetch(`${url}${path}`);
      const csp = res.headers.get('content-security-policy')!;
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
    // Only the shipped files are served: no path reaches the rest of the package.
    for (const path of ['/static/../server.ts', '/static/%2e%2e/server.ts', '/static/nothing.js']) expect((await fetch(`${url}${path}`)).status).toBe(404);
    // Without a token there is no login: /login leads to the findings.
    expect((await fetch(`${url}/login`, { redirect: 'manual' })).headers.get('location')).toBe('/');
  });

  it('records a valid verdict and refuses bad ones with a reason', async () => {
    const { url, recorded } = await start();
    const post = (id: string, body: unknown, headers: Record<string, string> = {}) => fetch(`${url}/api/findings/${id}/verdict`, {
      method: 'POST', headers: { ...bearer, 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const ok = await post('f1', { verdict: 'benign', note: ' pentest window ', analyst: 'ana' });
    expect(ok.status).toBe(200);
    expect(recorded).toMatchObject([{ findingId: 'f1', verdict: 'benign', note: 'pentest window', analyst: 'ana' }]);
    const bad = await post('f1', { verdict: 'maybe' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/verdict/);
    expect((await post('f1', '{not json')).status).toBe(400);
    expect((await post('f1', { verdict: 'benign', extra: 1 })).status).toBe(400);
    expect((await post('f1', { verdict: 'benign', note: 'x'.repeat(2001) })).status).toBe(400);
    expect((await post('f1', { verdict: 'benign' }, { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await post('f1', { verdict: 'benign' }, { origin: 'https://evil.example' })).status).toBe(403);
    expect((await post('nope', { verdict: 'benign' })).status).toBe(404);
    expect((await post('f1', 'x'.repeat(20_000))).status).toBe(413);
    expect(recorded).toHaveLength(1);
  });

  it('streams findings matching the page\'s filters, replaying the last minute to a page that connects', async () => {
    const { url, live } = await start();
    live.publish(summarize('early', doc('early', 'operation:shop:GET /a')), doc('early', 'operation:shop:GET /a'));
    const controller = new AbortController();
    const res = await fetch(`${url}/api/stream?entity=shop&severity=high`, { headers: bearer, signal: controller.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    const readUntil = async (needle: string) => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${needle}`);
        text += new TextDecoder().decode(value);
      }
    };
    await readUntil('"id":"early"');
    live.publish(summarize('low', doc('low', 'operation:shop:GET /b', 21)), doc('low', 'operation:shop:GET /b', 21));
    live.publish(summarize('other', doc('other', 'operation:checkout:POST /')), doc('other', 'operation:checkout:POST /'));
    live.publish(summarize('late', doc('late', 'operation:shop:GET /c', 99)), doc('late', 'operation:shop:GET /c', 99));
    await readUntil('"id":"late"');
    controller.abort();
    const ids = [...text.matchAll(/^data: (.*)$/gm)].map((m) => (JSON.parse(m[1]!) as { id: string }).id);
    expect(ids).toEqual(['early', 'late']);
    expect(text).toContain('event: recent\ndata: {"id":"early"');
    expect(text).toContain('event: finding\ndata: {"id":"late"');
  });

  it('shows a finding the feed delivered before Elasticsearch lets searches see it', async () => {
    const { url, live } = await start();
    live.publish(summarize('fresh', doc('fresh', 'operation:shop:GET /')), doc('fresh', 'operation:shop:GET /'));
    const res = await fetch(`${url}/api/findings/fresh`, { headers: bearer });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { summary: { id: string } }).summary.id).toBe('fresh');
    expect((await fetch(`${url}/api/findings/missing`, { headers: bearer })).status).toBe(404);
    expect((await fetch(`${url}/api/traces/not-a-trace`, { headers: bearer })).status).toBe(400);
    expect((await fetch(`${url}/api/traces/0123456789abcdef0123456789abcdef`, { headers: bearer })).status).toBe(404);
  });

  it('over TLS the session cookie is Secure; a missing certificate stops start-up naming the key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'console-tls-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
        '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'pipe' });
      const { url } = await start({ tls: { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') } });
      expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const trusting = new Agent({ connect: { ca: readFileSync(join(dir, 'cert.pem')) } });
      const login = await fetchWith(`${url}/login`, {
        method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: TOKEN, next: '/' }).toString(), dispatcher: trusting,
      });
      expect(login.headers.get('set-cookie')).toMatch(/; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/);
      await trusting.close();
      await running!.close();
      running = undefined;
      await expect(start({ tls: { cert: join(dir, 'missing.pem'), key: join(dir, 'key.pem') } })).rejects.toThrow(/console\.tls\.cert: cannot read/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
