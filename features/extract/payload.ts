/**
 * Character statistics of a request's query and body: what injection, traversal and encoded payloads change. Only
 * the first PAYLOAD_SCAN_LIMIT characters are read, so a huge body costs the same as a large one. Pure.
 */
import { charEntropy } from '../sketch/entropy.ts';

export const PAYLOAD_SCAN_LIMIT = 4096;

export interface PayloadStats {
  /** Characters in the whole payload (not only the scanned part). */
  length: number;
  alphaRatio: number;
  digitRatio: number;
  /** Characters neither letter, digit nor one of `-_.~` `=&` space (quotes, brackets, `<>;|$\``, slashes…). */
  specialRatio: number;
  /** Escapes per character: `%XX`, `\xXX`, `\uXXXX`, `&#…;` and `&name;` entities. */
  encodedDensity: number;
  entropy: number;
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** The payload of a request: its query and its body excerpt, joined. */
export function payloadOf(query: string | undefined, body: string | undefined): string | undefined {
  if (query && body) return `${query}&${body}`;
  return query || body || undefined;
}

/** `payload`'s statistics, written into `into` (a caller that reads them at once passes one object for every request). */
export function payloadStats(payload: string, into: PayloadStats = emptyPayloadStats()): PayloadStats {
  const n = Math.min(payload.length, PAYLOAD_SCAN_LIMIT);
  let alpha = 0;
  let digit = 0;
  let special = 0;
  let encoded = 0;
  for (let i = 0; i < n; i++) {
    const c = payload.charCodeAt(i);
    if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90)) alpha++;
    else if (c >= 48 && c <= 57) digit++;
    else if (c === 45 || c === 95 || c === 46 || c === 126 || c === 61 || c === 38 || c === 32) {
      // unreserved URL characters and the form separators
      if (c === 38 && isEntityAt(payload, i, n)) encoded++;
    } else {
      special++;
      if (c === 37 && i + 2 < n && isHex(payload.charCodeAt(i + 1)) && isHex(payload.charCodeAt(i + 2))) encoded++;
      else if (c === 92 && i + 1 < n) {
        const next = payload.charCodeAt(i + 1);
        if ((next === 120 && i + 3 < n && isHex(payload.charCodeAt(i + 2))) || (next === 117 && i + 5 < n && isHex(payload.charCodeAt(i + 2)))) encoded++;
      } else if (c === 43) special--; // '+' is a form-encoded space
    }
  }
  into.length = payload.length;
  into.alphaRatio = n === 0 ? 0 : alpha / n;
  into.digitRatio = n === 0 ? 0 : digit / n;
  into.specialRatio = n === 0 ? 0 : special / n;
  into.encodedDensity = n === 0 ? 0 : encoded / n;
  into.entropy = charEntropy(payload, PAYLOAD_SCAN_LIMIT);
  return into;
}

export function emptyPayloadStats(): PayloadStats {
  return { length: 0, alphaRatio: 0, digitRatio: 0, specialRatio: 0, encodedDensity: 0, entropy: 0 };
}

/** `&#60;`, `&#x3c;` or `&lt;` at `at` (an '&'): a name or number of at most 8 characters, then ';'. */
function isEntityAt(s: string, at: number, n: number): boolean {
  const end = Math.min(n, at + 10);
  let i = at + 1;
  if (i < end && s.charCodeAt(i) === 35) i++;
  const start = i;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c === 59) return i > start;
    if (!((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57))) return false;
    i++;
  }
  return false;
}
