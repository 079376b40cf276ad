/**
 * Seeded, varied normal traffic of a JSON shop as request events (what the span decoder hands the detector): product
 * pages with ids in the path, searches with apostrophes, ampersands and quotes, JSON carts with notes, logins with
 * passwords, checkouts with card numbers, reviews, static files — from a set of clients with browser user agents.
 * Tests and the integration tests use it as "normal traffic"; nothing here is an attack.
 */
import { randomBytes } from 'node:crypto';
import type { RequestEvent } from '../../../core/events.ts';
import { mulberry32 } from '../../../core/random.ts';

const SEARCHES = [
  "O'Brien", 'rock & roll', 'Tom & Jerry', 'salt & pepper & more', 'fish | chips', 'milk; eggs; cheese', "it's 5 o'clock", '5 or 6 items',
  '100% cotton', '"The Hobbit"', 'C++ (2nd ed)', 'javascript: the good parts', 'drop-leaf table', 'order by phone', 'union jack t-shirt',
  'select all', 'Jamón Ibérico', 'Señor Muñoz', 'd\'Artagnan', 'x < y', '<3 gifts', 'sleep mask', 'more info', 'cat toy; dog leash',
  'ping pong table', 'echo dot', '12" pizza', "He's 5'10\"", '1/2 cup', 'a+b=c', 'red shoes', 'blue jeans', 'wireless mouse', 'usb-c cable',
];
const NAMES = ["Seán O'Neill", 'Ana García', 'Luis Pérez', 'Mary-Jane Watson', 'Jean-Luc Picard', "D'Angelo Russell", 'Zoë Saldaña', 'Kim Lee'];
const NOTES = ['Leave at door; ring twice & wait', 'Gift wrap please!', "It's for my mum's birthday <3", 'Call before delivery (555) 123-4567', '', 'Thanks -- great shop', 'No rush'];
const AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
];
const SKUS = ['TSHIRT-M-RED', 'JEANS-32-BLUE', 'MUG-WHITE', 'BOOK-0451', 'SOCKS-L', 'CAP-ONE'];

export interface TrafficOptions {
  seed: number;
  startMs: number;
  /** Requests per second of event time. */
  perSecond: number;
  count: number;
  service?: string;
  clients?: number;
}

/** A Luhn-valid 16-digit card number. */
function cardNumber(random: () => number): string {
  const digits = [4, ...Array.from({ length: 14 }, () => Math.floor(random() * 10))];
  let sum = 0;
  for (let i = 0; i < 15; i++) {
    let d = digits[14 - i];
    if (i % 2 === 0) { d *= 2; if (d > 9) d -= 9; }
    sum += d;
  }
  return [...digits, (10 - (sum % 10)) % 10].join('');
}

function hex(random: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += '0123456789abcdef'[Math.floor(random() * 16)];
  return s;
}

export interface ShopRequest {
  method: string;
  route: string;
  path: string;
  query?: string;
  body?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

/** One normal request of the shop. */
export function shopRequest(random: () => number): ShopRequest {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  const id = String(1 + Math.floor(random() * 5000));
  const k = random();
  if (k < 0.25) return { method: 'GET', route: '/api/products/{id}', path: `/api/products/${id}` };
  if (k < 0.45) return { method: 'GET', route: '/api/products', path: '/api/products', query: `q=${encodeURIComponent(pick(SEARCHES)).replace(/%20/g, '+')}&page=${1 + Math.floor(random() * 5)}&sort=${pick(['price', '-price', 'name'])}` };
  if (k < 0.55) return { method: 'GET', route: '/api/products/{id}/reviews', path: `/api/products/${id}/reviews`, query: `page=${1 + Math.floor(random() * 3)}` };
  if (k < 0.68) {
    const body = JSON.stringify({ items: [{ sku: pick(SKUS), qty: 1 + Math.floor(random() * 3) }, ...(random() < 0.5 ? [{ sku: pick(SKUS), qty: 1 }] : [])], note: pick(NOTES) });
    return { method: 'POST', route: '/api/cart', path: '/api/cart', body, contentType: 'application/json' };
  }
  if (k < 0.76) {
    const name = pick(NAMES);
    const body = JSON.stringify({ email: `${name.split(' ')[0].toLowerCase().replace(/[^a-z]/g, '')}${Math.floor(random() * 100)}@example.com`, password: `${hex(random, 6)}-${pick(['Blue', 'Tiger', 'Maple'])}!${Math.floor(random() * 99)}` });
    return { method: 'POST', route: '/api/login', path: '/api/login', body, contentType: 'application/json' };
  }
  if (k < 0.82) {
    const body = `name=${encodeURIComponent(pick(NAMES))}&address=${encodeURIComponent(`Apt. #${Math.floor(random() * 9)}B, ${Math.floor(random() * 200)} Main St.`)}&card_number=${cardNumber(random)}&exp=${encodeURIComponent(`${1 + Math.floor(random() * 12)}/${28 + Math.floor(random() * 4)}`)}`;
    return { method: 'POST', route: '/api/checkout', path: '/api/checkout', body, contentType: 'application/x-www-form-urlencoded' };
  }
  if (k < 0.88) {
    const body = JSON.stringify({ rating: 1 + Math.floor(random() * 5), review: `${pick(['Works great!!', 'Not bad.', 'Would buy again', 'Meh :('])} ${pick(SEARCHES)} -- ${pick(NAMES)}` });
    return { method: 'POST', route: '/api/products/{id}/reviews', path: `/api/products/${id}/reviews`, body, contentType: 'application/json' };
  }
  if (k < 0.94) return { method: 'GET', route: '/api/orders/{id}', path: `/api/orders/${id}`, headers: { authorization: `Bearer ${hex(random, 32)}` } };
  return { method: 'GET', route: '/static/{file}', path: `/static/${pick(['app.js', 'style.css', 'logo.png'])}` };
}

let traceCounter = 0;

/** A request as the span decoder makes it (a server span of the shop); ids from `random` when given. */
export function requestEvent(r: ShopRequest, at: { timeMs: number; client: string; userAgent: string; service?: string }, random?: () => number): RequestEvent {
  traceCounter++;
  const id = (bytes: number) => (random ? hex(random, bytes * 2) : randomBytes(bytes).toString('hex'));
  const attributes: Record<string, string> = { 'http.request.header.accept': 'application/json' };
  if (r.contentType) attributes['http.request.header.content-type'] = r.contentType;
  for (const [k, v] of Object.entries(r.headers ?? {})) attributes[`http.request.header.${k}`] = v;
  return {
    kind: 'request', timeMs: at.timeMs, durationMs: 3, service: at.service ?? 'shop', operation: `${r.method} ${r.route}`, spanKind: 'server', protocol: 'http',
    traceId: id(16), spanId: random ? id(8) : `${traceCounter.toString(16).padStart(8, '0')}${id(4)}`,
    error: false, method: r.method, route: r.route, path: r.path, query: r.query, httpStatus: 200, clientAddress: at.client, userAgent: at.userAgent,
    requestBytes: r.body ? Buffer.byteLength(r.body) : 0, requestBody: r.body, attributes, resource: { 'service.name': at.service ?? 'shop' },
  };
}

/** `count` normal requests, `perSecond` of event time from `startMs`. */
export function shopTraffic(o: TrafficOptions): RequestEvent[] {
  const random = mulberry32(o.seed);
  const clients = Array.from({ length: o.clients ?? 25 }, (_, i) => `198.51.100.${10 + i}`);
  return Array.from({ length: o.count }, (_, i) => requestEvent(shopRequest(random), {
    timeMs: o.startMs + Math.floor((i * 1000) / o.perSecond), client: clients[Math.floor(random() * clients.length)], userAgent: AGENTS[Math.floor(random() * AGENTS.length)], service: o.service,
  }, random));
}

/**
 * A request as an OpenTelemetry SDK server span would record it with body and header capture on (the attributes the
 * span decoder reads: method, path, query, route, client address, user agent, body, request headers).
 */
export function shopSpanAttributes(r: ShopRequest, at: { client: string; userAgent: string }): Record<string, string | number | string[]> {
  const attributes: Record<string, string | number | string[]> = {
    'http.request.method': r.method, 'url.path': r.path, 'http.route': r.route, 'client.address': at.client, 'user_agent.original': at.userAgent,
    'http.response.status_code': 200, 'url.scheme': 'https', 'server.address': 'shop.example',
  };
  if (r.query !== undefined) attributes['url.query'] = r.query;
  if (r.body !== undefined) {
    attributes['http.request.body'] = r.body;
    attributes['http.request.body.size'] = Buffer.byteLength(r.body);
  }
  if (r.contentType) attributes['http.request.header.content-type'] = [r.contentType];
  for (const [k, v] of Object.entries(r.headers ?? {})) attributes[`http.request.header.${k}`] = [v];
  return attributes;
}

/** `count` normal requests as span specs (service, name, time, attributes), `perSecond` of event time from `startMs`. */
export function shopSpanSpecs(o: TrafficOptions): Array<{ service: string; name: string; startMs: number; durationMs: number; attributes: Record<string, string | number | string[]> }> {
  const random = mulberry32(o.seed);
  const clients = Array.from({ length: o.clients ?? 25 }, (_, i) => `198.51.100.${10 + i}`);
  return Array.from({ length: o.count }, (_, i) => {
    const r = shopRequest(random);
    const at = { client: clients[Math.floor(random() * clients.length)], userAgent: AGENTS[Math.floor(random() * AGENTS.length)] };
    return { service: o.service ?? 'shop', name: `${r.method} ${r.route}`, startMs: o.startMs + Math.floor((i * 1000) / o.perSecond), durationMs: 3, attributes: shopSpanAttributes(r, at) };
  });
}
