/**
 * The console's login: the token is POSTed once from a form and checked in constant time; the browser then holds a
 * random session id in an HttpOnly, SameSite=Strict cookie (Secure over TLS). The token never appears in a URL or a
 * cookie, and a stolen cookie dies with its session.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'peregrine_console';

/** Constant-time comparison whatever the lengths (both sides are hashed to the same size first). */
export function tokenMatches(given: string, token: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(token)) && given.length === token.length;
}

/** Server-side sessions, bounded: past `max` the oldest goes. Ids are kept hashed, so a memory dump holds no usable id. */
export class Sessions {
  private readonly expiries = new Map<string, number>();

  constructor(private readonly ttlMs: number, private readonly max = 1000, private readonly now: () => number = Date.now) {}

  private key(id: string): string {
    return createHash('sha256').update(id).digest('base64url');
  }

  create(): string {
    const id = randomBytes(32).toString('base64url');
    this.expiries.set(this.key(id), this.now() + this.ttlMs);
    while (this.expiries.size > this.max) this.expiries.delete(this.expiries.keys().next().value as string);
    return id;
  }

  valid(id: string | undefined): boolean {
    if (!id) return false;
    const key = this.key(id);
    const expiry = this.expiries.get(key);
    if (expiry === undefined) return false;
    if (expiry <= this.now()) {
      this.expiries.delete(key);
      return false;
    }
    return true;
  }

  end(id: string | undefined): void {
    if (id) this.expiries.delete(this.key(id));
  }

  get size(): number {
    return this.expiries.size;
  }
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) cookies.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return cookies;
}

export function sessionCookie(id: string, options: { secure: boolean; maxAgeS: number }): string {
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${options.maxAgeS}${options.secure ? '; Secure' : ''}`;
}

export function clearedSessionCookie(secure: boolean): string {
  return sessionCookie('', { secure, maxAgeS: 0 });
}

/** Where to go after logging in: a path on this server only (`//host` and `/\host` would leave it). */
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\') || /[\r\n]/.test(next)) return '/';
  return next;
}
