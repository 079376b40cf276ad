import { describe, expect, it } from 'vitest';
import { isSensitiveField, luhnValid, redactArgs, redactBody, redactHeaders, redactTarget, scrubText } from './redact.ts';

const JWT = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';

describe('secret shapes in text', () => {
  it.each([
    ['jwt', `token=${JWT}`],
    ['jwt', 'cut eyJhbGciOiJIUzI1'], // the head of a JWT cut by an excerpt
    ['bearer', 'Authorization was Bearer abcDEF123456.xyz~+/='],
    ['aws-key', 'key AKIAIOSFODNN7EXAMPLE here'],
    ['gcp-key', 'AIzaSyA-1234567890abcdefghijklmnopqrstu'],
    ['github-token', 'ghp_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789'],
    ['slack-token', 'xoxb-1234567890-abcdefghijkl'],
    ['stripe-key', 'sk_live_51HxYzAbCdEfGhIjKlMnOpQr'],
    ['api-key', 'sk-proj-abcdefghijklmnopqrstuvwxyz012345'],
    ['private-key', '-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----'],
    ['url-credentials', 'postgres://admin:hunter2@db:5432/x'],
    ['card', 'pay 4111 1111 1111 1111 now'],
    ['card', 'pay 5500-0000-0000-0004 now'],
    ['card', '4012888888881881'],
  ])('masks %s', (kind, text) => {
    const out = scrubText(text);
    expect(out).toContain(`[REDACTED:${kind}]`);
    expect(out).not.toMatch(/hunter2|4111 1111|5500-0000|4012888888881881|AKIAIOSFODNN7EXAMPLE|abcDEF123456|eyJhbGciOiJIUzI1/);
  });

  it('leaves numbers that fail Luhn, and ordinary words', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(scrubText('order 4111111111111112 of 1234567890123')).toBe('order 4111111111111112 of 1234567890123');
    expect(scrubText('a plain sentence about tokens')).toBe('a plain sentence about tokens');
  });

  it('masks a digit run cut at the end of a truncated excerpt (it may be half a card number)', () => {
    expect(scrubText('card 4111 1111 1111', true)).toBe('card [REDACTED:truncated-digits]');
    expect(scrubText('card 4111 1111 1111', false)).toBe('card 4111 1111 1111');
  });
});

describe('fields', () => {
  it.each(['password', 'user_password', 'passwd', 'pwd', 'client_secret', 'api_key', 'apiKey', 'X-Auth-Token', 'access_token', 'refresh-token', 'cvv', 'ssn', 'privateKey'])(
    '%s is sensitive', (name) => expect(isSensitiveField(name)).toBe(true));
  it.each(['username', 'email', 'page', 'color', 'author', 'q'])('%s is not', (name) => expect(isSensitiveField(name)).toBe(false));
  it('accepts configured fields', () => expect(isSensitiveField('tenant-pin-2', { headers: [], fields: ['tenant_pin_2'] })).toBe(true));
});

describe('request parts', () => {
  it('redacts the query string by name and by shape, keeping the rest', () => {
    expect(redactTarget(`/login?user=ada&password=hunter2&next=%2Fhome&t=${JWT}`))
      .toBe('/login?user=ada&password=[REDACTED:field]&next=%2Fhome&t=%5BREDACTED%3Ajwt%5D');
    expect(redactTarget('/cards/4111111111111111/charge')).toBe('/cards/[REDACTED:card]/charge');
  });

  it('masks sensitive headers and scrubs the others', () => {
    const out = redactHeaders([
      ['Authorization', 'Basic YWxhZGRpbjpvcGVuc2VzYW1l'], ['Cookie', 'sid=abc'], ['Set-Cookie', 'sid=abc; HttpOnly'],
      ['Proxy-Authorization', 'x'], ['X-Custom', 'keep'], ['X-Forwarded-Token', 'shh'], ['X-Note', `jwt ${JWT}`],
      ['Referer', 'https://a/b?session=s3cr3t&x=1'], ['X-Mine', 'v'],
    ], { headers: ['x-mine'], fields: [] });
    expect(Object.fromEntries(out)).toEqual({
      Authorization: '[REDACTED:header]', Cookie: '[REDACTED:header]', 'Set-Cookie': '[REDACTED:header]',
      'Proxy-Authorization': '[REDACTED:header]', 'X-Custom': 'keep', 'X-Forwarded-Token': '[REDACTED:header]',
      'X-Note': 'jwt [REDACTED:jwt]', Referer: 'https://a/b?session=[REDACTED:field]&x=1', 'X-Mine': '[REDACTED:header]',
    });
  });
});

describe('bodies', () => {
  it('redacts JSON by key at any depth and by shape in values, keeping structure', () => {
    const body = JSON.stringify({ user: 'ada', password: 'pw', profile: { card: { number: '4111111111111111' }, note: `k=${JWT}` }, items: [{ token: 'x' }, 4111111111111111], n: 3 });
    expect(JSON.parse(redactBody(body, 'application/json'))).toEqual({
      user: 'ada', password: '[REDACTED:field]', profile: { card: '[REDACTED:field]', note: 'k=[REDACTED:jwt]' },
      items: [{ token: '[REDACTED:field]' }, '[REDACTED:card]'], n: 3,
    });
  });

  it('redacts JSON cut mid-document (an excerpt) with a pattern pass', () => {
    const cut = '{"user":"ada","password":"hunter2","card":"4111 1111 1111 1111","note":"ok","secret":"abc';
    const out = redactBody(cut, 'application/json', undefined, true);
    expect(out).toBe('{"user":"ada","password":"[REDACTED:field]","card":"[REDACTED:field]","note":"ok","secret":"[REDACTED:field]"');
  });

  it('redacts form bodies', () => {
    expect(redactBody('user=bob&passwd=abc%21&card=5500-0000-0000-0004&note=hi+there', 'application/x-www-form-urlencoded'))
      .toBe('user=bob&passwd=[REDACTED:field]&card=[REDACTED:field]&note=hi+there');
    expect(redactBody('x=1&cc=4111111111111111', undefined)).toBe('x=1&cc=%5BREDACTED%3Acard%5D');
  });

  it('redacts key=value pairs and shapes in free text', () => {
    expect(redactBody('login ok password=hunter2 user=ada api_key: K-123 ghp_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789', 'text/plain'))
      .toBe('login ok password=[REDACTED:field] user=ada api_key: [REDACTED:field] [REDACTED:github-token]');
  });

  it('masks the token of a header written out in free text, not only the word before it', () => {
    expect(redactBody("curl -H 'Authorization: Bearer 7f3c9a1e5b2d8f4a6c0e' http://x", 'text/plain'))
      .toBe("curl -H 'Authorization: [REDACTED:field] [REDACTED:bearer]' http://x");
  });
});

describe('command lines', () => {
  it('masks secret flags, flag values, header arguments and URL credentials', () => {
    expect(redactArgs(['mysql', '--password=hunter2', '--token', 'abc', '-u', 'root', 'API_KEY=xyz', '-H', 'Authorization: Bearer abcdefgh12',
      'https://u:pw@h/x?api_key=k&a=1', 'plain', '{"user":"ada","password":"pw1"}', 'user=bob&passwd=pw2', 'note password=pw3']))
      .toEqual(['mysql', '--password=[REDACTED:arg]', '--token', '[REDACTED:arg]', '-u', 'root', 'API_KEY=[REDACTED:arg]', '-H',
        'Authorization: [REDACTED:header]', 'https://u:[REDACTED:url-credentials]@h/x?api_key=[REDACTED:field]&a=1', 'plain',
        '{"user":"ada","password":"[REDACTED:field]"}', 'user=bob&passwd=[REDACTED:field]', 'note password=[REDACTED:field]']);
  });
});
