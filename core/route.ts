/**
 * Route templates for requests whose instrumentation gave no `http.route`: path segments that look
 * like identifiers become `{id}`, so `/users/42/orders/9f1c…` and `/users/7/orders/0ab3…` are one
 * operation (`/users/{id}/orders/{id}`) instead of thousands.
 */

export const ID_PLACEHOLDER = '{id}';

/** `/users/123?x=1` → `/users/{id}`. The query (and fragment) are dropped; an empty path becomes `/`. */
export function routeTemplate(path: string): string {
  // One pass over the path; strings are only built when a segment is replaced (most paths are returned as they are).
  let end = path.length;
  let out = '';
  let copied = 0;
  let segmentStart = 0;
  for (let i = 0; i <= end; i++) {
    const c = i < end ? path.charCodeAt(i) : 47;
    if (c === 63 || c === 35) {
      end = i; // '?' or '#': the route ends here
      i--;
      continue;
    }
    if (c !== 47) continue;
    if (i > segmentStart && isIdentifierRange(path, segmentStart, i)) {
      out += path.slice(copied, segmentStart) + ID_PLACEHOLDER;
      copied = i;
    }
    segmentStart = i + 1;
  }
  if (end === 0) return '/';
  if (copied === 0) return end === path.length ? path : path.slice(0, end);
  return copied < end ? out + path.slice(copied, end) : out;
}

/**
 * Whether a path segment names one thing among many rather than a fixed resource: numbers, UUIDs,
 * hex strings of 8+ characters with a digit, and long tokens (16+ characters mixing letters and
 * digits, as base64/base62 ids, hashes and session tokens do).
 */
export function isIdentifier(segment: string): boolean {
  return segment.length > 0 && isIdentifierRange(segment, 0, segment.length);
}

function isIdentifierRange(s: string, start: number, end: number): boolean {
  const n = end - start;
  let digits = 0;
  let hex = 0;
  let letters = 0;
  let token = 0;
  let dashes = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      digits++;
      hex++;
      token++;
    } else if ((c >= 97 && c <= 102) || (c >= 65 && c <= 70)) {
      hex++;
      letters++;
      token++;
    } else if ((c >= 103 && c <= 122) || (c >= 71 && c <= 90)) {
      letters++;
      token++;
    } else if (c === 45) {
      dashes++;
      token++;
    } else if (c === 95 || c === 46 || c === 126 || c === 61 || c === 43 || c === 37) {
      token++; // _ . ~ = + % appear in base64url tokens and encoded ids
    }
  }
  if (digits === n) return true;
  if (n === 36 && dashes === 4 && hex === 32 && isUuidShape(s, start)) return true;
  if (hex === n && n >= 8 && digits > 0) return true;
  if (token === n && n >= 16 && digits > 0 && letters > 0) return true;
  // Numbers with a unit or separator (`v2` stays, `12345-abc` or `2024-01-31` do not).
  if (digits >= 4 && digits * 2 >= n) return true;
  return false;
}

function isUuidShape(s: string, at: number): boolean {
  return s.charCodeAt(at + 8) === 45 && s.charCodeAt(at + 13) === 45 && s.charCodeAt(at + 18) === 45 && s.charCodeAt(at + 23) === 45;
}
