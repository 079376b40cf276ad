/**
 * Deterministic synthetic shop traffic for tests: a few routes with enumerated, numeric and free-form fields, as
 * http_events-shaped rows. Seeded PRNG (mulberry32), so every run sees the same requests.
 */
import { mulberry32 } from '../../core/random.ts';

export type Row = Record<string, unknown>;


const NAMES = ['ana', 'luis', 'marta', 'jorge', 'elena', 'pablo', 'sofia', 'diego', 'lucia', 'mario', 'irene', 'raul'];
const DOMAINS = ['mail', 'correo', 'shop', 'example', 'tienda', 'web'];
const TLDS = ['es', 'com', 'org', 'net'];
const HEADERS = { 'User-Agent': 'Mozilla/5.0 (test)', Host: 'localhost:8080', Accept: 'text/html' };

export function syntheticRow(random: () => number, id: string): Row {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  const kind = random();
  if (kind < 0.4) {
    return { id, req_method: 'GET', req_path: `/shop/item.jsp?id=${pick([1, 2, 3])}&qty=${1 + Math.floor(random() * 99)}&B1=Add`, req_headers: JSON.stringify({ ...HEADERS, Cookie: `SID=${token(random)}` }), req_body: '', label: 'normal' };
  }
  if (kind < 0.7) return { id, req_method: 'GET', req_path: '/shop/index.jsp', req_headers: JSON.stringify({ ...HEADERS, Cookie: `SID=${token(random)}` }), req_body: '', label: 'normal' };
  const name = pick(NAMES) + (random() < 0.3 ? String(Math.floor(random() * 100)) : '');
  const body = `name=${pick(NAMES)}&email=${name}%40${pick(DOMAINS)}${random() < 0.5 ? pick(DOMAINS) : ''}.${pick(TLDS)}&zip=${String(10000 + Math.floor(random() * 40000))}&B1=Register`;
  return {
    id, req_method: 'POST', req_path: '/shop/register.jsp', req_body: body, req_body_size: body.length,
    req_headers: JSON.stringify({ ...HEADERS, Cookie: `SID=${token(random)}`, 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': String(body.length) }),
    label: 'normal',
  };
}

function token(random: () => number): string {
  let s = '';
  for (let i = 0; i < 16; i++) s += '0123456789ABCDEF'[Math.floor(random() * 16)];
  return s;
}

export function syntheticRows(count: number, seed: number, prefix = 'n'): Row[] {
  const random = mulberry32(seed);
  return Array.from({ length: count }, (_, i) => syntheticRow(random, `${prefix}-${i}`));
}

/** Tampered requests that look ordinary character by character, plus classic injections and a new route. */
export function syntheticAttacks(): Row[] {
  const headers = (body: string) => JSON.stringify({ ...HEADERS, Cookie: 'SID=0A1B2C3D4E5F6A7B', 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': String(body.length) });
  const post = (id: string, body: string): Row => ({ id, req_method: 'POST', req_path: '/shop/register.jsp', req_body: body, req_body_size: body.length, req_headers: headers(body), label: 'anomalous' });
  const get = (id: string, path: string): Row => ({ id, req_method: 'GET', req_path: path, req_headers: JSON.stringify({ ...HEADERS, Cookie: 'SID=0A1B2C3D4E5F6A7B' }), req_body: '', label: 'anomalous' });
  return [
    post('two-at', 'name=ana&email=ana%40mail%40web.es&zip=12345&B1=Register'),
    post('zip-letter', 'name=ana&email=ana%40mail.es&zip=1234A&B1=Register'),
    post('zip-long', 'name=ana&email=ana%40mail.es&zip=123456789&B1=Register'),
    post('sqli', 'name=ana%27+OR+%271%27%3D%271&email=ana%40mail.es&zip=12345&B1=Register'),
    post('unknown-param', 'name=ana&emailX=ana%40mail.es&zip=12345&B1=Register'),
    post('button', 'name=ana&email=ana%40mail.es&zip=12345&B1=Register%2F'),
    get('qty-range', '/shop/item.jsp?id=2&qty=100000&B1=Add'),
    get('new-route', '/shop/admin.jsp'),
    { ...get('put', '/shop/index.jsp'), req_method: 'PUT' },
  ];
}
