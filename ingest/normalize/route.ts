/**
 * Route templates for requests whose instrumentation gave no `http.route`: path segments that look
 * like identifiers become `{id}`, so `/users/42/orders/9f1c…` and `/users/7/orders/0ab3…` are one
 * operation (`/users/{id}/orders/{id}`) instead of thousands.
 */

export const ID_PLACEHOLDER = '{id}';

const CACHE_LIMIT = 20_000;
const cache = new Map<string, string>();

/** `/users/123?x=1` → `/users/{id}`. The query (and fragment) are dropped; an empty path becomes `/`. */
export function routeTemplate(path: string): string {
  const cached = cache.get(path);
  if (cached !== undefined) return cached;
  const route = computeTemplate(path);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(path, route);
  return route;
}

function computeTemplate(path: string): string {
  let end = path.length;
  const q = path.indexOf('?');
  if (q >= 0) end = q;
  const hash = path.indexOf('#');
  if (hash >= 0 && hash < end) end = hash;
  if (end === 0) return '/';
  let out = '';
  let start = 0;
  while (start <= end) {
    let slash = path.indexOf('/', start);
    if (slash < 0 || slash > end) slash = end;
    const segment = path.slice(start, slash);
    out += isIdentifier(segment) ? ID_PLACEHOLDER : segment;
    if (slash < end) out += '/';
    start = slash + 1;
  }
  return out;
}

/**
 * Whether a path segment names one thing among many rather than a fixed resource: numbers, UUIDs,
 * hex strings of 8+ characters with a digit, and long tokens (16+ characters mixing letters and
 * digits, as base64/base62 ids, hashes and session tokens do).
 */
export function isIdentifier(segment: string): boolean {
  const n = segment.length;
  if (n === 0) return false;
  let digits = 0;
  let hex = 0;
  let letters = 0;
  let token = 0;
  let dashes = 0;
  for (let i = 0; i < n; i++) {
    const c = segment.charCodeAt(i);
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
  if (n === 36 && dashes === 4 && hex === 32 && isUuidShape(segment)) return true;
  if (hex === n && n >= 8 && digits > 0) return true;
  if (token === n && n >= 16 && digits > 0 && letters > 0) return true;
  // Numbers with a unit or separator (`v2` stays, `12345-abc` or `2024-01-31` do not).
  if (digits >= 4 && digits * 2 >= n) return true;
  return false;
}

function isUuidShape(s: string): boolean {
  return s.charCodeAt(8) === 45 && s.charCodeAt(13) === 45 && s.charCodeAt(18) === 45 && s.charCodeAt(23) === 45;
}
