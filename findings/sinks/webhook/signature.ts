/**
 * The webhook's signature, Stripe-style: `X-Peregrine-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
 * A receiver recomputes the HMAC over the timestamp and the raw body with the shared secret, compares in constant time,
 * and refuses a timestamp too far from its clock (replays). Pure.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-peregrine-signature';

export function signatureHeader(secret: string, timestampSec: number, body: string): string {
  return `t=${timestampSec},v1=${createHmac('sha256', secret).update(`${timestampSec}.${body}`).digest('hex')}`;
}

export type Verification = { ok: true } | { ok: false; reason: string };

/** Checks a signature header against the raw body; `toleranceSec` bounds the timestamp's distance from `nowSec`. */
export function verifySignature(header: string | undefined, body: string, secret: string, nowSec: number, toleranceSec = 300): Verification {
  if (!header) return { ok: false, reason: 'no signature header' };
  const parts = new Map<string, string[]>();
  for (const item of header.split(',')) {
    const eq = item.indexOf('=');
    if (eq > 0) parts.set(item.slice(0, eq).trim(), [...(parts.get(item.slice(0, eq).trim()) ?? []), item.slice(eq + 1).trim()]);
  }
  const t = Number(parts.get('t')?.[0]);
  if (!Number.isInteger(t)) return { ok: false, reason: 'no timestamp' };
  if (Math.abs(nowSec - t) > toleranceSec) return { ok: false, reason: 'timestamp outside the tolerance' };
  const expected = Buffer.from(createHmac('sha256', secret).update(`${t}.${body}`).digest('hex'));
  // Several v1 values may come while a secret is being rotated: one match is enough.
  const match = (parts.get('v1') ?? []).some((v) => {
    const given = Buffer.from(v);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  return match ? { ok: true } : { ok: false, reason: 'signature mismatch' };
}
