/** IP addresses: which are inside a deployment, and the client a trusted proxy forwarded a request for. Pure. */
import { isIP } from 'node:net';
import { arrayAttribute } from './events.ts';

/** Private, loopback, link-local, carrier-grade NAT and unique-local addresses: inside the deployment. */
export function isInternalAddress(ip: string): boolean {
  if (ip.includes(':')) {
    const lower = ip.toLowerCase();
    return lower === '::1' || lower.startsWith('fc') || lower.startsWith('fd') || lower.startsWith('fe80:') || (lower.startsWith('::ffff:') && isInternalAddress(lower.slice(7)));
  }
  const [a, b] = ip.split('.').map(Number);
  return a === 10 || a === 127 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254) || (a === 100 && b >= 64 && b <= 127);
}

/**
 * The original client of a request a proxy forwarded: the first address of `X-Forwarded-For` (as HTTP
 * instrumentations take it), when the request came from an internal address (the deployment's own proxy or load
 * balancer: a client talking straight to the service could write any header it likes). Undefined otherwise.
 * `forwardedFor` is the header's value, or its values as an OTLP array attribute flattened to JSON text.
 */
export function forwardedClient(peer: string | undefined, forwardedFor: string | undefined): string | undefined {
  if (peer === undefined || forwardedFor === undefined || isIP(peer) === 0 || !isInternalAddress(peer)) return undefined;
  const first = arrayAttribute(forwardedFor)?.[0] ?? forwardedFor;
  if (typeof first !== 'string') return undefined;
  const comma = first.indexOf(',');
  let address = (comma >= 0 ? first.slice(0, comma) : first).trim();
  if (address.startsWith('[') && address.includes(']')) address = address.slice(1, address.indexOf(']'));
  return isIP(address) === 0 ? undefined : address;
}
