import { describe, expect, it } from 'vitest';
import { parseScenario } from '../scenario/parse.ts';
import { matchRoute, PRODUCT_IDS } from '../shop/catalog.ts';
import { Flags } from '../shop/state.ts';
import { TOPOLOGY } from '../shop/topology.ts';
import type { Action } from './actions.ts';
import { injectedRequest, scanWords, TOOL_AGENTS } from './attacks.ts';
import { DIRB_COMMON } from './payloads.ts';
import { scenarioActions } from './scenario.ts';
import { Random } from '../shop/random.ts';
import { findRoute } from '../shop/catalog.ts';

const START = Date.UTC(2026, 10, 20, 6, 0, 0);

/** The attack actions of one event (quiet background: one session, no bots). */
function attack(event: string, files: Record<string, string> = {}): Action[] {
  const s = parseScenario(`name: a\nseed: 5\nduration: 10m\ntraffic: {sessions: 1, rate: 0.1, bots: false}\nevents:\n${event}`, { file: '/s/a.yaml', readFile: (f) => files[f]! });
  return [...scenarioActions(s, { startMs: START })].filter((a) => a.origin === 'attack');
}
type RequestAction = Action & { kind: 'request' };
const reqs = (actions: Action[]) => actions.filter((a): a is RequestAction => a.kind === 'request');
const ua = (a: RequestAction) => a.request.headers.find(([n]) => n === 'user-agent')?.[1];
const json = (a: RequestAction) => JSON.parse(a.request.body!) as Record<string, unknown>;

describe('attack generators', () => {
  it('credential stuffing looks like hydra: POST /api/login JSON from the list, at the rate, from the source', () => {
    const files = { '/s/creds.txt': 'admin:admin\nroot:toor\nalice:Summer2024!\n' };
    const sent = reqs(attack('  - kind: credential_stuffing\n    at: 1m\n    duration: 30s\n    source: 203.0.113.7\n    rate: 15\n    payloads: creds.txt\n    expect: {technique: T1110}\n', files));
    // The list has three lines: the tool stops when it is done.
    expect(sent).toHaveLength(3);
    expect(sent.map((a) => json(a))).toEqual([{ username: 'admin', password: 'admin' }, { username: 'root', password: 'toor' }, { username: 'alice', password: 'Summer2024!' }]);
    for (const a of sent) {
      expect(a.request).toMatchObject({ method: 'POST', path: '/api/login', clientAddress: '203.0.113.7' });
      expect(ua(a)).toBe('Mozilla/4.0 (Hydra)');
      expect(a.eventIndex).toBe(0);
    }
    expect(sent[0]!.timeMs).toBe(START + 60_000);
    const built = reqs(attack('  - kind: credential_stuffing\n    at: 1m\n    duration: 30s\n    rate: 15\n    expect: {technique: T1110}\n'));
    expect(built.length).toBeGreaterThan(15 * 30 * 0.85);
    expect(built.length).toBeLessThan(15 * 30 * 1.15);
    expect(new Set(built.map((a) => json(a).username)).size).toBeGreaterThan(300);
  });

  it('password spraying tries few passwords on many users, drawing addresses from the CIDR', () => {
    const sent = reqs(attack('  - kind: password_spraying\n    at: 1m\n    duration: 5m\n    source: 198.51.100.0/24\n    rate: 2\n    expect: {technique: T1110}\n'));
    const passwords = new Set(sent.map((a) => json(a).password));
    const users = new Set(sent.map((a) => json(a).username));
    expect(passwords.size).toBeLessThanOrEqual(4);
    expect(users.size).toBeGreaterThan(50);
    for (const a of sent) expect(a.request.clientAddress).toMatch(/^198\.51\.100\.(\d+)$/);
    expect(new Set(sent.map((a) => a.request.clientAddress)).size).toBeGreaterThan(20);
  });

  it('SQL injection looks like sqlmap: its user agent, its probes in each parameter of the route', () => {
    const sent = reqs(attack('  - kind: sql_injection\n    at: 1m\n    duration: 1m\n    source: 198.51.100.23\n    target: GET /api/products/{productId}\n    rate: 8\n    expect: {technique: T1190}\n'));
    expect(sent.length).toBeGreaterThan(300);
    for (const a of sent) {
      expect(ua(a)).toMatch(/^sqlmap\/1\.\d/);
      expect(matchRoute('GET', a.request.path)?.route).toBe('/api/products/{productId}');
    }
    const decoded = sent.map((a) => decodeURIComponent(`${a.request.path}?${a.request.query ?? ''}`));
    expect(decoded.some((d) => /\/api\/products\/[A-Z0-9]+ AND (\d+)=\1\?/.test(d))).toBe(true);
    expect(decoded.some((d) => /UNION ALL SELECT NULL,NULL/.test(d))).toBe(true);
    expect(decoded.some((d) => /SLEEP\(5\)/.test(d))).toBe(true);
    expect(decoded.some((d) => /currencyCode=USD' AND/.test(d) || /currencyCode=USD AND/.test(d))).toBe(true);
  });

  it('puts injection payloads where the route takes parameters: query, path, JSON body', () => {
    const rng = new Random(1);
    const login = injectedRequest(findRoute('POST /api/login')!, 'username', "admin' OR '1'='1", rng, 'x', '1.2.3.4');
    expect(JSON.parse(login.body!)).toEqual({ username: "admin' OR '1'='1", password: 'admin' });
    const cart = injectedRequest(findRoute('POST /api/cart')!, 'item.productId', '<script>alert(1)</script>', rng, 'x', '1.2.3.4');
    expect(JSON.parse(cart.body!)).toMatchObject({ item: { productId: '<script>alert(1)</script>', quantity: 1 } });
    const traversal = injectedRequest(findRoute('GET /api/products/{productId}')!, 'productId', '..%2f..%2fetc%2fpasswd', rng, 'x', '1.2.3.4');
    expect(traversal.path).toBe('/api/products/..%2f..%2fetc%2fpasswd');
    const ads = injectedRequest(findRoute('GET /api/data')!, 'contextKeys', ';cat /etc/passwd', rng, 'x', '1.2.3.4');
    expect(ads.query).toBe('contextKeys=%3Bcat%20%2Fetc%2Fpasswd');
  });

  it('XSS, traversal and command injection carry their tools\' payloads', () => {
    const xss = reqs(attack('  - kind: xss\n    at: 1m\n    duration: 30s\n    target: GET /api/data\n    expect: {technique: T1190}\n'));
    expect(xss.some((a) => decodeURIComponent(a.request.query!).includes('<script>alert(1)</script>'))).toBe(true);
    const traversal = reqs(attack('  - kind: path_traversal\n    at: 1m\n    duration: 30s\n    target: GET /api/recommendations\n    expect: {technique: T1190}\n'));
    expect(traversal.some((a) => /productIds=(\.\.%2f)+etc%2fpasswd/.test(a.request.query!))).toBe(true);
    expect(traversal.every((a) => ua(a) === TOOL_AGENTS.dotdotpwn)).toBe(true);
    const commix = reqs(attack('  - kind: command_injection\n    at: 1m\n    duration: 30s\n    target: POST /api/checkout\n    expect: {technique: T1190}\n'));
    expect(commix.every((a) => ua(a) === TOOL_AGENTS.commix)).toBe(true);
    expect(commix.some((a) => /;id"/.test(a.request.body ?? ''))).toBe(true);
  });

  it('scanning walks a dirb or nikto list under the base path, mostly paths the shop does not have, and stops at its end', () => {
    const sent = reqs(attack('  - kind: scanning\n    at: 1m\n    duration: 5m\n    source: 192.0.2.44\n    rate: 25\n    expect: {technique: T1595}\n'));
    const agent = ua(sent[0]!)!;
    expect([TOOL_AGENTS.dirb, TOOL_AGENTS.gobuster].includes(agent as never) || /Nikto\/2/.test(agent)).toBe(true);
    const unknown = sent.filter((a) => !matchRoute(a.request.method === 'HEAD' ? 'GET' : a.request.method, a.request.path));
    expect(unknown.length / sent.length).toBeGreaterThan(0.95);
    expect(new Set(sent.map((a) => `${a.request.method} ${a.request.path}?${a.request.query}`)).size / sent.length).toBeGreaterThan(0.95);
    expect(sent.length).toBeLessThan(25 * 300);
    const under = reqs(attack('  - kind: scanning\n    at: 1m\n    duration: 1m\n    target: GET /api\n    payloads: paths.txt\n    expect: {technique: T1595}\n', { '/s/paths.txt': 'admin\n.env\n/backup.zip\n' }));
    expect(under.map((a) => a.request.path)).toEqual(['/api/admin', '/api/.env', '/api/backup.zip']);
    expect(scanWords(DIRB_COMMON)).toContain('admin.php');
  });

  it('a flood sends the rate from many addresses of the CIDR', () => {
    const sent = reqs(attack('  - kind: flood\n    at: 1m\n    duration: 20s\n    source: 45.128.0.0/16\n    target: GET /api/products\n    rate: 400\n    expect: {technique: T1499}\n'));
    expect(sent.length).toBeGreaterThan(400 * 20 * 0.85);
    expect(new Set(sent.map((a) => a.request.clientAddress)).size).toBeGreaterThan(1000);
    expect(sent.every((a) => a.request.path === '/api/products' && a.request.clientAddress.startsWith('45.128.'))).toBe(true);
  });

  it('faults turn a flag on at the start and off at the end', () => {
    const actions = attack('  - kind: product_catalog_failure\n    at: 2m\n    duration: 1m\n    expect: {detector: error_ratio}\n  - kind: latency_degradation\n    at: 4m\n    duration: 1m\n    target: currency\n    expect: {detector: latency}\n');
    const flags: Flags = { slowServices: {} };
    const seen: string[] = [];
    for (const a of actions) {
      expect(a.kind).toBe('flags');
      if (a.kind !== 'flags') continue;
      a.change(flags);
      seen.push(`${(a.timeMs - START) / 1000}s ${flags.failingProduct ?? '-'} ${flags.slowServices.currency ?? '-'}`);
    }
    expect(seen[0]).toBe(`120s ${PRODUCT_IDS[0]} -`);
    expect(seen[1]).toBe('180s - -');
    expect(seen[2]).toMatch(/^240s - \d+$/);
    expect(seen[3]).toBe('300s - -');
  });

  it('new_binary runs a shell and its commands in the service\'s process tree, then a dropped binary that beacons', () => {
    const actions = attack('  - kind: new_binary\n    at: 1m\n    duration: 3m\n    target: cart\n    expect: {technique: T1059}\n');
    const execs = actions.filter((a): a is Action & { kind: 'exec' } => a.kind === 'exec');
    const cart = TOPOLOGY.cart.pid;
    const shells = execs.filter((e) => e.binary === '/bin/sh');
    expect(shells[0]).toMatchObject({ parentPid: cart, args: ['sh', '-c', 'id'], timeMs: START + 60_000 });
    const id = execs.find((e) => e.binary === '/usr/bin/id')!;
    expect(id.parentPid).toBe(shells[0]!.pid);
    const dropped = execs.find((e) => e.binary.startsWith('/tmp/.'))!;
    expect(dropped.parentPid).toBe(cart);
    expect(actions.some((a) => a.kind === 'connection' && a.pid === dropped.pid)).toBe(true);
    expect(actions.every((a) => a.timeMs < START + 240_000)).toBe(true);
  });

  it('cryptominer drops a miner that keeps the cores busy and talks stratum to its pool', () => {
    const actions = attack('  - kind: cryptominer\n    at: 1m\n    duration: 5m\n    target: ad\n    source: 185.12.7.9\n    expect: {technique: T1496}\n');
    const miner = actions.find((a): a is Action & { kind: 'exec' } => a.kind === 'exec' && (a.cpuCores ?? 0) > 1)!;
    expect(miner.args).toContain('stratum+tcp://185.12.7.9:3333');
    expect(miner.runMs).toBeGreaterThan(290_000);
    expect(actions.some((a) => a.kind === 'connection' && a.remote.port === 3333 && a.pid === miner.pid && a.durationMs > 290_000)).toBe(true);
  });

  it('lateral movement calls the callee from the caller\'s process; exfiltration uploads to the source', () => {
    const lateral = attack('  - kind: lateral_movement\n    at: 1m\n    duration: 30s\n    target: recommendation -> payment\n    rate: 1\n    expect: {technique: T1021}\n');
    const calls = lateral.filter((a): a is Action & { kind: 'call' } => a.kind === 'call');
    expect(calls.length).toBeGreaterThan(20);
    expect(calls.every((c) => c.from === 'recommendation' && c.operation === 'oteldemo.PaymentService/Charge')).toBe(true);
    const exfil = attack('  - kind: exfiltration\n    at: 1m\n    duration: 30s\n    target: accounting\n    source: 203.0.113.99\n    rate: 1\n    expect: {technique: T1048}\n');
    const uploads = exfil.filter((a): a is Action & { kind: 'connection' } => a.kind === 'connection');
    expect(uploads.length).toBeGreaterThan(20);
    expect(uploads.every((u) => u.service === 'accounting' && u.remote.address === '203.0.113.99' && u.bytesSent > 1_000_000)).toBe(true);
  });
});
