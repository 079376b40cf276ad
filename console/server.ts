/**
 * The console's HTTP server (node:http, or node:https with `console.tls`): the two pages and their static assets, a
 * small JSON API, the live stream (Server-Sent Events), `/healthz` and `/metrics`. Pages are static HTML whose scripts
 * fetch the API and build the DOM with text nodes, so nothing a finding carries is ever parsed as markup; the CSP
 * forbids inline scripts and styles.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import path from 'node:path';
import { Counter, Gauge } from 'prom-client';
import { z } from 'zod';
import { PeregrineError, UnavailableError, errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { MetricsRegistry } from '../core/metrics.ts';
import { bearerMatches, readTlsFiles } from '../core/server-security.ts';
import { VERDICTS, type Feedback } from '../findings/feedback/store.ts';
import { traceLink } from '../findings/ecs/encode.ts';
import { clearedSessionCookie, parseCookies, safeNext, SESSION_COOKIE, sessionCookie, Sessions, tokenMatches } from './auth.ts';
import type { ConsoleConfig } from './config.ts';
import { BadRequestError, matchesFilters, parseFilters, SEVERITIES, SINCE_CHOICES, DEFAULT_SINCE, summarize, type FindingDocument, type FindingFilters, type FindingSummary } from './findings.ts';
import type { LiveFindings } from './live.ts';
import { requestView } from './request.ts';
import { isTraceId, type Waterfall } from './trace.ts';

/** What the server reads and writes through; startConsole gives it the real Elasticsearch, Kafka feed and Jaeger. */
export interface ConsoleBackends {
  findings: {
    list(filters: FindingFilters, limit: number, nowMs: number): Promise<{ findings: FindingSummary[]; total: number }>;
    get(id: string): Promise<FindingDocument | undefined>;
    related(entity: string, exceptId: string, limit: number): Promise<FindingSummary[]>;
    facets(): Promise<{ detectors: string[]; techniques: Array<{ id: string; name: string }> }>;
  };
  feedback: {
    of(ids: readonly string[]): Promise<Map<string, Feedback>>;
    /** Throws a PeregrineError saying so when the finding does not exist. */
    record(feedback: Feedback): Promise<void>;
  };
  traces: { get(traceId: string): Promise<Waterfall | undefined> };
  live: LiveFindings;
}

export interface ConsoleServerOptions {
  settings: ConsoleConfig;
  backends: ConsoleBackends;
  metrics: MetricsRegistry;
  links: { jaegerUiUrl?: string; kibanaUrl?: string };
  log: Logger;
  now?: () => number;
}

export interface RunningConsoleServer {
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

const STATIC_DIR = path.join(import.meta.dirname, 'static');
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml',
};
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};
const MAX_FORM_BYTES = 4096;
const MAX_JSON_BYTES = 16_384;
const LIST_LIMIT = 200;
const RELATED_LIMIT = 20;
const PING_MS = 15_000;
const FINDING_ID = /^[A-Za-z0-9_-]{1,128}$/;

const VerdictBody = z.strictObject({
  verdict: z.enum(VERDICTS),
  note: z.string().max(2000).optional(),
  analyst: z.string().max(100).optional(),
});

/** Every file of static/, read once: the package ships them, nothing is built or fetched at run time. */
function loadAssets(): Map<string, { type: string; body: Buffer }> {
  const assets = new Map<string, { type: string; body: Buffer }>();
  for (const name of readdirSync(STATIC_DIR)) {
    const type = CONTENT_TYPES[path.extname(name)];
    if (type) assets.set(name, { type, body: readFileSync(path.join(STATIC_DIR, name)) });
  }
  return assets;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, `request body larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function serveConsole(options: ConsoleServerOptions): Promise<RunningConsoleServer> {
  const { settings, backends, metrics, log } = options;
  const now = options.now ?? Date.now;
  const assets = loadAssets();
  const secure = Boolean(settings.tls);
  const sessions = new Sessions(settings.sessionHours * 3_600_000);
  const registers = [metrics.registry];
  const requests = new Counter({ name: 'peregrine_console_requests_total', help: 'Console HTTP requests by route and status', labelNames: ['route', 'status'], registers });
  const logins = new Counter({ name: 'peregrine_console_logins_total', help: 'Console logins by outcome', labelNames: ['outcome'], registers });
  const verdicts = new Counter({ name: 'peregrine_console_verdicts_total', help: 'Verdicts recorded from the console', labelNames: ['verdict'], registers });
  const pushed = new Counter({ name: 'peregrine_console_findings_pushed_total', help: 'Findings pushed to open pages (once per page)', registers });
  const streams = new Gauge({ name: 'peregrine_console_streams', help: 'Open live streams', registers });
  const open = new Set<ServerResponse>();

  const send = (res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string | string[]> = {}) => {
    res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'cache-control': 'no-store', ...extra });
    res.end(body);
  };
  const json = (res: ServerResponse, status: number, body: unknown) => send(res, status, 'application/json; charset=utf-8', JSON.stringify(body));
  const page = (res: ServerResponse, name: string, status = 200, extra: Record<string, string> = {}) => {
    const asset = assets.get(name)!;
    send(res, status, asset.type, asset.body, extra);
  };
  const redirect = (res: ServerResponse, location: string, extra: Record<string, string> = {}) => send(res, 303, 'text/plain; charset=utf-8', '', { location, ...extra });

  const authenticated = (req: IncomingMessage): boolean => {
    if (!settings.authToken) return true;
    if (req.headers.authorization && bearerMatches(req.headers.authorization, settings.authToken)) return true;
    return sessions.valid(parseCookies(req.headers.cookie).get(SESSION_COOKIE));
  };

  /** A state-changing request from another site: SameSite=Strict already keeps the cookie away; this is the second lock. */
  const crossSite = (req: IncomingMessage): boolean => {
    const origin = req.headers.origin;
    if (origin === undefined) return false;
    try {
      return new URL(origin).host !== req.headers.host;
    } catch {
      return true;
    }
  };

  const withVerdicts = async (list: FindingSummary[]): Promise<FindingSummary[]> => {
    const feedback = await backends.feedback.of(list.map((f) => f.id));
    return list.map((f) => (feedback.has(f.id) ? { ...f, verdict: feedback.get(f.id)!.verdict } : f));
  };

  const kibanaLink = (id: string) => settings.kibanaUrl
    ? `${settings.kibanaUrl.replace(/\/+$/, '')}/app/discover#/?_g=(time:(from:now-30d,to:now))&_a=(query:(language:kuery,query:'event.id:"${encodeURIComponent(id)}"'))`
    : undefined;

  async function findingDetail(id: string) {
    const document = (await backends.findings.get(id)) ?? backends.live.recentDocument(id);
    if (!document) return undefined;
    const summary = summarize(id, document);
    const [feedback, related] = await Promise.all([
      backends.feedback.of([id]),
      summary.entity ? backends.findings.related(summary.entity, id, RELATED_LIMIT).then(withVerdicts) : Promise.resolve([]),
    ]);
    if (feedback.has(id)) summary.verdict = feedback.get(id)!.verdict;
    const listOf = <T>(value: T[] | undefined): T[] => (Array.isArray(value) ? value : []);
    const explanation = listOf(document.peregrine?.explanation).map((e) => ({
      feature: String(e.feature ?? ''), actual: Number(e.actual ?? 0), typical: Number(e.typical ?? 0), share: Number(e.share ?? 0),
    }));
    const exemplars = listOf(document.peregrine?.exemplars).filter((e) => typeof e.trace_id === 'string' && isTraceId(e.trace_id)).map((e) => ({
      traceId: e.trace_id!, spanId: e.span_id, reason: e.reason ?? '',
      ...(options.links.jaegerUiUrl ? { jaegerUrl: traceLink(options.links.jaegerUiUrl, e.trace_id!) } : {}),
    }));
    const request = document.peregrine?.request;
    return {
      summary,
      document,
      feedback: feedback.get(id),
      related,
      explanation,
      exemplars,
      ...(request ? { request: requestView(request, explanation) } : {}),
      links: { ...(kibanaLink(id) ? { kibana: kibanaLink(id) } : {}) },
      context: {
        operation: document.peregrine?.operation, urlPath: document.url?.path, sourceIp: document.source?.ip,
        start: document.event?.start, end: document.event?.end, model: document.peregrine?.model, ruleDescription: document.rule?.description,
        tactic: document.threat?.tactic?.name?.[0],
      },
    };
  }

  function stream(req: IncomingMessage, res: ServerResponse, filters: FindingFilters): void {
    if (open.size >= settings.maxStreams) throw new HttpError(503, `more than ${settings.maxStreams} live pages open`);
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write('retry: 3000\n\n');
    // `recent`: read from the feed before this page connected (the page may have them from its list already).
    const push = (f: FindingSummary, event: 'finding' | 'recent') => {
      if (!matchesFilters(f, filters, now())) return;
      res.write(`event: ${event}\ndata: ${JSON.stringify(f)}\n\n`);
      pushed.inc();
    };
    for (const f of backends.live.recentFindings()) push(f.summary, 'recent');
    const unsubscribe = backends.live.subscribe((f) => push(f.summary, 'finding'));
    const ping = setInterval(() => res.write(': ping\n\n'), PING_MS);
    open.add(res);
    streams.set(open.size);
    const done = () => {
      clearInterval(ping);
      unsubscribe();
      open.delete(res);
      streams.set(open.size);
    };
    req.once('close', done);
    res.once('close', done);
  }

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<string> {
    const method = req.method ?? 'GET';
    const p = url.pathname;
    if (p === '/healthz' || p === '/metrics') {
      await metrics.respond(req, res, settings.authToken);
      return p;
    }
    if (p.startsWith('/static/')) {
      const asset = assets.get(p.slice('/static/'.length));
      if (!asset || method !== 'GET') throw new HttpError(404, 'not found');
      send(res, 200, asset.type, asset.body, { 'cache-control': 'no-cache' });
      return 'static';
    }
    if (p === '/login') {
      if (!settings.authToken) {
        redirect(res, '/');
      } else if (method === 'POST') {
        const form = new URLSearchParams(await readBody(req, MAX_FORM_BYTES));
        const next = safeNext(form.get('next'));
        if (!tokenMatches(form.get('token') ?? '', settings.authToken)) {
          logins.inc({ outcome: 'failed' });
          // A little wait makes guessing slower; the token's length makes it hopeless anyway.
          await new Promise((r) => setTimeout(r, 500));
          redirect(res, `/login?failed=1&next=${encodeURIComponent(next)}`);
        } else {
          logins.inc({ outcome: 'ok' });
          redirect(res, next, { 'set-cookie': sessionCookie(sessions.create(), { secure, maxAgeS: settings.sessionHours * 3600 }) });
        }
      } else page(res, 'login.html');
      return 'login';
    }
    if (p === '/logout' && method === 'POST') {
      if (crossSite(req)) throw new HttpError(403, 'cross-site request refused');
      sessions.end(parseCookies(req.headers.cookie).get(SESSION_COOKIE));
      redirect(res, '/', { 'set-cookie': clearedSessionCookie(secure) });
      return 'logout';
    }
    const isPage = method === 'GET' && (p === '/' || /^\/findings\/[^/]+$/.test(p));
    if (!authenticated(req)) {
      if (isPage) page(res, 'login.html', 401, { 'www-authenticate': 'Bearer realm="peregrine-console"' });
      else json(res, 401, { error: 'log in first (or send Authorization: Bearer <token>)' });
      return 'unauthenticated';
    }
    if (isPage) {
      page(res, p === '/' ? 'index.html' : 'finding.html');
      return p === '/' ? 'index' : 'finding';
    }
    if (p === '/api/config' && method === 'GET') {
      json(res, 200, {
        auth: Boolean(settings.authToken), jaegerUiUrl: options.links.jaegerUiUrl, kibanaUrl: settings.kibanaUrl,
        severities: SEVERITIES, since: SINCE_CHOICES, defaultSince: DEFAULT_SINCE,
      });
      return 'config';
    }
    if (p === '/api/facets' && method === 'GET') {
      json(res, 200, await backends.findings.facets());
      return 'facets';
    }
    if (p === '/api/findings' && method === 'GET') {
      const limit = Number(url.searchParams.get('limit') ?? LIST_LIMIT);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new BadRequestError('limit must be a whole number from 1 to 500');
      const result = await backends.findings.list(parseFilters(url.searchParams), limit, now());
      json(res, 200, { ...result, findings: await withVerdicts(result.findings) });
      return 'list';
    }
    if (p === '/api/stream' && method === 'GET') {
      stream(req, res, parseFilters(url.searchParams));
      return 'stream';
    }
    const detail = /^\/api\/findings\/([^/]+)(\/verdict)?$/.exec(p);
    if (detail) {
      const id = decodeURIComponent(detail[1]!);
      if (!FINDING_ID.test(id)) throw new BadRequestError('not a finding id');
      if (!detail[2] && method === 'GET') {
        const found = await findingDetail(id);
        if (!found) throw new HttpError(404, `no finding with id ${id}`);
        json(res, 200, found);
        return 'finding';
      }
      if (detail[2] && method === 'POST') {
        if (crossSite(req)) throw new HttpError(403, 'cross-site request refused');
        if (!(req.headers['content-type'] ?? '').startsWith('application/json')) throw new HttpError(415, 'send the verdict as application/json');
        let parsed: unknown;
        try {
          parsed = JSON.parse(await readBody(req, MAX_JSON_BYTES));
        } catch (e) {
          if (e instanceof HttpError) throw e;
          throw new BadRequestError('the body is not JSON');
        }
        const body = VerdictBody.safeParse(parsed);
        if (!body.success) throw new BadRequestError(`invalid verdict: ${body.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`);
        const feedback: Feedback = { findingId: id, verdict: body.data.verdict, note: body.data.note?.trim() || undefined, analyst: body.data.analyst?.trim() || undefined, atMs: now() };
        await backends.feedback.record(feedback);
        verdicts.inc({ verdict: feedback.verdict });
        log.info({ finding: id, verdict: feedback.verdict }, 'verdict recorded');
        json(res, 200, { feedback });
        return 'verdict';
      }
    }
    const traceMatch = /^\/api\/traces\/([^/]+)$/.exec(p);
    if (traceMatch && method === 'GET') {
      const traceId = traceMatch[1]!.toLowerCase();
      if (!isTraceId(traceId)) throw new BadRequestError('not a trace id (16 or 32 hex digits)');
      const waterfall = await backends.traces.get(traceId);
      if (!waterfall) throw new HttpError(404, `Jaeger has no trace ${traceId} (yet)`);
      json(res, 200, waterfall);
      return 'trace';
    }
    throw new HttpError(404, 'not found');
  }

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://console');
    } catch {
      json(res, 400, { error: 'bad URL' });
      return;
    }
    route(req, res, url).then(
      (name) => requests.inc({ route: name, status: String(res.statusCode) }),
      (e: unknown) => {
        const status = e instanceof HttpError ? e.status
          : e instanceof BadRequestError ? 400
            : e instanceof UnavailableError ? 503
              : e instanceof PeregrineError && /^no finding with id/.test(e.message) ? 404
                : 500;
        // Our own errors are messages for the analyst; anything else stays in the log.
        const message = e instanceof HttpError || e instanceof PeregrineError ? e.message : 'internal error';
        if (status >= 500) log.error({ err: errorMessage(e), path: url.pathname }, 'console request failed');
        requests.inc({ route: 'error', status: String(status) });
        if (res.headersSent) res.end();
        else json(res, status, { error: message });
      },
    );
  };

  const server = settings.tls ? createHttpsServer(readTlsFiles(settings.tls, 'console.tls'), handler) : createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : settings.port;
  const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
  return {
    server,
    port,
    url: `${secure ? 'https' : 'http'}://${host}:${port}`,
    async close() {
      for (const res of open) res.end();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
