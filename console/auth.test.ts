import { describe, expect, it } from 'vitest';
import { parseCookies, safeNext, sessionCookie, Sessions, tokenMatches } from './auth.ts';

describe('console login', () => {
  it('compares tokens whatever their lengths', () => {
    expect(tokenMatches('s3cret-token-0123', 's3cret-token-0123')).toBe(true);
    expect(tokenMatches('s3cret-token-012', 's3cret-token-0123')).toBe(false);
    expect(tokenMatches('', 's3cret-token-0123')).toBe(false);
  });

  it('keeps sessions until they expire or end, and at most `max` of them', () => {
    let now = 0;
    const sessions = new Sessions(1000, 3, () => now);
    const a = sessions.create();
    expect(sessions.valid(a)).toBe(true);
    expect(sessions.valid(`${a}x`)).toBe(false);
    expect(sessions.valid(undefined)).toBe(false);
    now = 1000;
    expect(sessions.valid(a)).toBe(false);
    const [b, c, d, e] = [sessions.create(), sessions.create(), sessions.create(), sessions.create()];
    expect(sessions.size).toBe(3);
    expect(sessions.valid(b)).toBe(false);
    expect([c, d, e].every((s) => sessions.valid(s))).toBe(true);
    sessions.end(d);
    expect(sessions.valid(d)).toBe(false);
  });

  it('writes an HttpOnly SameSite=Strict cookie, Secure over TLS', () => {
    expect(sessionCookie('abc', { secure: false, maxAgeS: 60 })).toBe('peregrine_console=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=60');
    expect(sessionCookie('abc', { secure: true, maxAgeS: 60 })).toMatch(/; Secure$/);
    expect(parseCookies('a=1; peregrine_console=xyz; b')).toEqual(new Map([['a', '1'], ['peregrine_console', 'xyz']]));
  });

  it('goes back only to a path of this server after logging in', () => {
    expect(safeNext('/findings/abc?x=1')).toBe('/findings/abc?x=1');
    for (const bad of ['//evil.example', '/\\evil.example', 'https://evil.example', 'javascript:alert(1)', '/x\r\nSet-Cookie: a=b', null, '']) expect(safeNext(bad)).toBe('/');
  });
});
