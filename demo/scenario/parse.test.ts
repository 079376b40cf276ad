import { describe, expect, it } from 'vitest';
import { parseDuration, parseScenario, parseSource, ScenarioError } from './parse.ts';

const ISSUE_EXAMPLE = `name: stuffing-and-scan        # [a-z0-9-]+
seed: 7
duration: 30m                  # s, m, h
traffic:
  sessions: 200                # concurrent shopper sessions
  rate: 30                     # frontend requests per second on average
  bots: true                   # crawlers and health checks as normal noise
events:
  - kind: credential_stuffing
    at: 10m                    # offset from the start
    duration: 2m
    source: 203.0.113.7        # one address, or a CIDR to draw addresses from
    target: POST /api/login    # method and route
    rate: 15                   # attack requests per second
    payloads: creds.txt        # optional, relative to this file, one a line
    expect:
      technique: T1110         # the ATT&CK id the finding must carry
      entity: client:203.0.113.7   # optional
`;

const files: Record<string, string> = { '/s/creds.txt': 'admin:admin\nroot:toor\n\nalice:Summer2024!\n' };
const readFile = (f: string) => {
  if (!(f in files)) throw new Error('ENOENT: no such file');
  return files[f]!;
};
const parse = (text: string) => parseScenario(text, { file: '/s/test.yaml', readFile });

/** The error a scenario text is refused with. */
function refusal(text: string): ScenarioError {
  try {
    parse(text);
  } catch (e) {
    if (e instanceof ScenarioError) return e;
    throw e;
  }
  throw new Error('the scenario was accepted');
}

const event = (lines: string) => `name: t\nduration: 30m\nevents:\n  - kind: sql_injection\n    at: 1m\n    duration: 1m\n${lines}`;

describe('scenario files', () => {
  it('reads the example of the issue, payloads relative to the file', () => {
    const s = parse(ISSUE_EXAMPLE);
    expect(s).toMatchObject({ name: 'stuffing-and-scan', seed: 7, durationMs: 1_800_000, traffic: { sessions: 200, rate: 30, bots: true } });
    expect(s.events).toHaveLength(1);
    const e = s.events[0]!;
    expect(e).toMatchObject({
      kind: 'credential_stuffing', line: 9, atMs: 600_000, durationMs: 120_000, rate: 15,
      source: { kind: 'address', address: '203.0.113.7' },
      expect: { technique: 'T1110', entity: 'client:203.0.113.7' },
      payloads: ['admin:admin', 'root:toor', 'alice:Summer2024!'],
    });
    expect(e.target).toMatchObject({ kind: 'route', route: { method: 'POST', route: '/api/login' } });
  });

  it('accepts events: [] (normal traffic only) and fills defaults', () => {
    const s = parse('name: quiet\nduration: 6h\nevents: []\n');
    expect(s.events).toEqual([]);
    expect(s.seed).toBe(1);
    expect(s.traffic).toEqual({ sessions: 50, rate: 10, bots: true });
  });

  it('reads CIDR sources, edges, services and fault detectors', () => {
    const s = parse(`name: mixed
duration: 1h
events:
  - kind: flood
    at: 5m
    duration: 1m
    source: 198.51.100.0/24
    target: GET /api/products
    rate: 400
    expect: {technique: T1499}
  - kind: lateral_movement
    at: 10m
    duration: 2m
    target: recommendation -> payment
    expect: {technique: T1021, entity: "edge:recommendation->payment"}
  - kind: product_catalog_failure
    at: 20m
    duration: 3m
    expect: {detector: error_ratio}
  - kind: cryptominer
    at: 30m
    duration: 5m
    target: ad
    expect: {technique: T1496}
`);
    expect(s.events.map((e) => e.kind)).toEqual(['flood', 'lateral_movement', 'product_catalog_failure', 'cryptominer']);
    expect(s.events[0]!.source).toEqual({ kind: 'cidr', cidr: '198.51.100.0/24', family: 4, network: '198.51.100.0', prefix: 24 });
    expect(s.events[1]!.target).toEqual({ kind: 'edge', caller: 'recommendation', callee: 'payment' });
    expect(s.events[1]!.rate).toBe(2);
    expect(s.events[2]!.target).toEqual({ kind: 'product', productId: 'OLJCESPC7Z' });
    expect(s.events[2]!.expect).toEqual({ detector: 'error_ratio' });
    expect(s.events[3]!.target).toEqual({ kind: 'service', service: 'ad' });
  });

  it.each([
    ['an unknown top-level key', 'name: t\nduration: 1m\nspeed: 3\n', 3, /unknown key "speed" in the scenario/],
    ['an unknown traffic key', 'name: t\nduration: 1m\ntraffic:\n  sessions: 3\n  users: 4\n', 5, /unknown key "users" in traffic/],
    ['an unknown event key', event('    target: GET /api/products\n    colour: red\n    expect: {technique: T1190}\n'), 8, /unknown key "colour" in an event/],
    ['an unknown expect key', event('    target: GET /api/products\n    expect:\n      technique: T1190\n      severity: high\n'), 10, /unknown key "severity" in expect/],
    ['an unknown kind', 'name: t\nduration: 1m\nevents:\n  - kind: ddos\n    at: 1s\n    duration: 1s\n', 4, /unknown kind "ddos"/],
    ['a bad scenario duration', 'name: t\nduration: 30\n', 2, /duration: bad duration 30/],
    ['a duration with a bad unit', 'name: t\nduration: 3d\n', 2, /bad duration "3d"/],
    ['a bad event duration', event('    target: GET /api/products\n    expect: {technique: T1190}\n').replace('duration: 1m\n    target', 'duration: soon\n    target'), 6, /bad duration "soon"/],
    ['an event past the end', event('    target: GET /api/products\n    expect: {technique: T1190}\n').replace('at: 1m', 'at: 29m30s').replace('at: 29m30s', 'at: 29.5m'), 6, /ends at 30.5m, past the end of the scenario \(30m\)/],
    ['an event starting at the end', event('    target: GET /api/products\n    expect: {technique: T1190}\n').replace('at: 1m', 'at: 30m'), 5, /starts at 30m, at or past the end/],
    ['a bad CIDR', event('    source: 10.0.0.0/33\n    target: GET /api/products\n    expect: {technique: T1190}\n'), 7, /bad source: CIDR "10.0.0.0\/33": the prefix length must be 0..32/],
    ['a bad address', event('    source: 300.1.2.3\n    target: GET /api/products\n    expect: {technique: T1190}\n'), 7, /bad source: "300.1.2.3" is neither/],
    ['a route the shop does not have', event('    target: GET /admin\n    expect: {technique: T1190}\n'), 7, /bad target for sql_injection: "GET \/admin" is not a route of the frontend/],
    ['an injection into a route without parameters', event('    target: GET /api/currency\n    expect: {technique: T1190}\n'), 7, /GET \/api\/currency takes no parameters/],
    ['credentials not sent to the login', 'name: t\nduration: 1h\nevents:\n  - kind: credential_stuffing\n    at: 1m\n    duration: 1m\n    target: POST /api/cart\n    expect: {technique: T1110}\n', 7, /credential attempts go to POST \/api\/login/],
    ['an unknown service', 'name: t\nduration: 1h\nevents:\n  - kind: new_binary\n    at: 1m\n    duration: 1m\n    target: billing\n    expect: {technique: T1059}\n', 7, /"billing" is not a service of the shop/],
    ['an edge without an arrow', 'name: t\nduration: 1h\nevents:\n  - kind: lateral_movement\n    at: 1m\n    duration: 1m\n    target: cart payment\n    expect: {technique: T1021}\n', 7, /is not "caller -> callee"/],
    ['a missing target', 'name: t\nduration: 1h\nevents:\n  - kind: latency_degradation\n    at: 1m\n    duration: 1m\n    expect: {detector: latency}\n', 4, /needs "target"/],
    ['a source on a fault', 'name: t\nduration: 1h\nevents:\n  - kind: product_catalog_failure\n    at: 1m\n    duration: 1m\n    source: 1.2.3.4\n    expect: {detector: error_ratio}\n', 7, /source does not apply to product_catalog_failure/],
    ['a technique on a fault', 'name: t\nduration: 1h\nevents:\n  - kind: product_catalog_failure\n    at: 1m\n    duration: 1m\n    expect: {technique: T1499}\n', 7, /is a fault: expect names the detector/],
    ['a detector on an attack', event('    target: GET /api/products\n    expect: {detector: error_ratio}\n'), 8, /is an attack: expect names the ATT&CK technique/],
    ['a malformed technique', event('    target: GET /api/products\n    expect: {technique: sqli}\n'), 8, /"sqli" is not an ATT&CK id/],
    ['a malformed entity', event('    target: GET /api/products\n    expect: {technique: T1190, entity: 203.0.113.7}\n'), 8, /entity "203.0.113.7" is not an entity id/],
    ['a missing expect', event('    target: GET /api/products\n'), 4, /needs "expect"/],
    ['a missing payloads file', event('    target: GET /api/products\n    payloads: nope.txt\n    expect: {technique: T1190}\n'), 8, /cannot read payloads file \/s\/nope.txt/],
    ['payloads on a kind without them', 'name: t\nduration: 1h\nevents:\n  - kind: flood\n    at: 1m\n    duration: 1m\n    target: GET /api/products\n    payloads: creds.txt\n    expect: {technique: T1499}\n', 8, /payloads do not apply to flood/],
    ['rate on a kind without one', 'name: t\nduration: 1h\nevents:\n  - kind: new_binary\n    at: 1m\n    duration: 1m\n    target: cart\n    rate: 3\n    expect: {technique: T1059}\n', 8, /rate does not apply to new_binary/],
    ['a negative rate', event('    target: GET /api/products\n    rate: -1\n    expect: {technique: T1190}\n'), 8, /rate must be a number above 0/],
    ['a bad name', 'name: Big_Scenario\nduration: 1h\n', 1, /name "Big_Scenario" may only hold/],
    ['a key given twice', 'name: t\nname: u\nduration: 1h\n', 2, /"name" given twice/],
    ['events that are not a list', 'name: t\nduration: 1h\nevents: none\n', 3, /events must be a list/],
    ['sessions that are not an integer', 'name: t\nduration: 1h\ntraffic:\n  sessions: 2.5\n', 4, /sessions must be an integer/],
    ['bots that are not a boolean', 'name: t\nduration: 1h\ntraffic:\n  bots: maybe\n', 4, /bots must be true or false/],
    ['invalid YAML', 'name: t\nduration: [1h\n', 2, /not valid YAML/],
  ])('refuses %s, naming the line', (_what, text, line, message) => {
    const e = refusal(text);
    expect(e.line).toBe(line);
    expect(e.message).toMatch(message);
    expect(e.message.startsWith(`/s/test.yaml:${line}: `)).toBe(true);
  });

  it('refuses a credentials file whose lines are not user:password, naming the payload line', () => {
    files['/s/bad.txt'] = 'admin:admin\njustaname\n';
    const e = refusal('name: t\nduration: 1h\nevents:\n  - kind: credential_stuffing\n    at: 1m\n    duration: 1m\n    payloads: bad.txt\n    expect: {technique: T1110}\n');
    expect(e.line).toBe(7);
    expect(e.message).toMatch(/bad.txt line 2: expected user:password/);
  });

  it('refuses the same fault or attack running twice at once, naming both lines', () => {
    const e = refusal(`name: t
duration: 1h
events:
  - kind: product_catalog_failure
    at: 10m
    duration: 5m
    expect: {detector: error_ratio}
  - kind: product_catalog_failure
    at: 12m
    duration: 5m
    expect: {detector: error_ratio}
`);
    expect(e.line).toBe(8);
    expect(e.message).toMatch(/overlaps the one at line 4/);
  });

  it('accepts overlapping events that are possible: other sources, other targets, one after the other', () => {
    const s = parse(`name: t
duration: 1h
events:
  - kind: scanning
    at: 10m
    duration: 5m
    source: 203.0.113.7
    expect: {technique: T1595}
  - kind: scanning
    at: 12m
    duration: 5m
    source: 203.0.113.8
    expect: {technique: T1595}
  - kind: latency_degradation
    at: 10m
    duration: 5m
    target: currency
    expect: {detector: latency}
  - kind: latency_degradation
    at: 15m
    duration: 5m
    target: currency
    expect: {detector: latency}
`);
    expect(s.events).toHaveLength(4);
  });
});

describe('durations and sources', () => {
  it('reads s, m and h', () => {
    expect(parseDuration('45s')).toBe(45_000);
    expect(parseDuration('10m')).toBe(600_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('10')).toBeUndefined();
    expect(parseDuration('10 min')).toBeUndefined();
  });

  it('reads addresses and CIDRs of both families', () => {
    expect(parseSource('2001:db8::1')).toEqual({ kind: 'address', address: '2001:db8::1' });
    expect(parseSource('2001:db8::/32')).toMatchObject({ kind: 'cidr', family: 6, prefix: 32 });
    expect(parseSource('10.0.0.0/8')).toMatchObject({ kind: 'cidr', family: 4, prefix: 8 });
    expect(typeof parseSource('10.0.0.0/x')).toBe('string');
    expect(typeof parseSource('example.com')).toBe('string');
  });
});
