/**
 * Shoppers: sessions that land on the home page, browse products, add to the cart, sometimes log in (and sometimes
 * mistype the password), check out or leave. Each page view is what the Demo's browser app sends: the page, then its
 * API calls. `sessions` slots each run one session after another; think times follow the scenario's rate and the
 * daily curve.
 */
import { PRODUCTS, type Product } from '../shop/catalog.ts';
import type { Random } from '../shop/random.ts';
import type { Account } from '../shop/state.ts';
import { SITE_HOST } from '../shop/topology.ts';
import type { Action, ClientRequest } from './actions.ts';
import { browser, consumerAddress } from './clients.ts';
import type { Actor } from './stream.ts';

/**
 * Requests per page view, net of the pauses between sessions: measured on the model so that the shoppers' rate over a
 * scenario comes out at its `rate` (shoppers_rate_matches_the_scenario in traffic.test.ts checks it).
 */
export const REQUESTS_PER_PAGE = 3.63;

const ADDRESSES = [
  { streetAddress: '1600 Amphitheatre Parkway', city: 'Mountain View', state: 'CA', country: 'United States', zipCode: '94043' },
  { streetAddress: '10 Downing Street', city: 'London', state: 'LND', country: 'United Kingdom', zipCode: 'SW1A 2AA' },
  { streetAddress: 'Unter den Linden 77', city: 'Berlin', state: 'BE', country: 'Germany', zipCode: '10117' },
  { streetAddress: '1 Yonge Street', city: 'Toronto', state: 'ON', country: 'Canada', zipCode: 'M5E 1W7' },
  { streetAddress: '2-8-1 Nishishinjuku', city: 'Tokyo', state: '13', country: 'Japan', zipCode: '163-8001' },
];

/** Test card numbers that pass the Luhn check, and a mistyped one that does not. */
const CARDS = ['4432801561520454', '4111111111111111', '5555555555554444', '378282246310005'];

interface Visitor {
  address: string;
  userAgent: string;
  sessionId: string;
  currency: string;
  account?: Account;
  loggedIn: boolean;
}

export interface ShopperOptions {
  rng: Random;
  sessions: number;
  /** Frontend requests per second at a time. */
  rateAt(timeMs: number): number;
  startMs: number;
  endMs: number;
  accounts: readonly Account[];
  /** Addresses of earlier visitors, shared by the slots (returning customers, households, mobile NAT). */
  returning: string[];
}

type Page = { kind: 'home' } | { kind: 'product'; product: Product } | { kind: 'add'; product: Product } | { kind: 'cart' } | { kind: 'checkout' }
  | { kind: 'login'; attempt: number } | { kind: 'account' };

/** One slot: sessions back to back. */
export class ShopperSlot implements Actor {
  nextMs: number;
  private visitor!: Visitor;
  private plan: Page[] = [];
  private cart: Array<{ productId: string; quantity: number }> = [];
  private lastPage = '/';

  constructor(private readonly options: ShopperOptions) {
    // Slots start spread over the first think time, as a shop that was already open.
    this.nextMs = options.startMs + options.rng.float() * this.thinkMean(options.startMs);
    this.newSession();
  }

  private thinkMean(t: number): number {
    return (this.options.sessions * REQUESTS_PER_PAGE * 1000) / Math.max(1e-6, this.options.rateAt(t));
  }

  private newSession(): void {
    const { rng } = this.options;
    const returning = this.options.returning;
    const address = returning.length > 20 && rng.chance(0.25) ? rng.pick(returning) : consumerAddress(rng);
    if (returning.length < 2000) returning.push(address);
    else returning[rng.int(0, returning.length - 1)] = address;
    const registered = rng.chance(0.3);
    this.visitor = {
      address, userAgent: browser(rng), sessionId: uuid(rng), currency: rng.weighted([['USD', 70], ['EUR', 12], ['GBP', 6], ['CAD', 6], ['JPY', 4], ['TRY', 2]]),
      account: registered ? rng.pick(this.options.accounts) : undefined, loggedIn: false,
    };
    this.cart = [];
    this.lastPage = '/';
    const plan: Page[] = [{ kind: 'home' }];
    if (this.visitor.account && rng.chance(0.45)) plan.push({ kind: 'login', attempt: 0 });
    const views = rng.weighted([[1, 30], [2, 25], [3, 18], [4, 12], [6, 10], [10, 5]] as const);
    for (let i = 0; i < views; i++) {
      const product = rng.weighted(PRODUCTS.map((p, n) => [p, n < 3 ? 3 : 1] as const));
      plan.push({ kind: 'product', product });
      if (rng.chance(0.28)) plan.push({ kind: 'add', product });
    }
    if (rng.chance(0.5)) plan.push({ kind: 'cart' });
    if (plan.some((p) => p.kind === 'login') && rng.chance(0.5)) plan.push({ kind: 'account' });
    this.plan = plan;
  }

  step(out: Action[]): void {
    const now = this.nextMs;
    const page = this.plan.shift();
    if (!page) {
      // Between sessions the slot stays empty for a while.
      this.newSession();
      this.nextMs = now + this.options.rng.exponential(this.thinkMean(now));
      return;
    }
    this.view(page, now, out);
    this.nextMs = now + Math.max(300, this.options.rng.exponential(this.thinkMean(now)));
  }

  private view(page: Page, t0: number, out: Action[]): void {
    const { rng } = this.options;
    const v = this.visitor;
    let t = t0;
    const send = (method: string, path: string, params?: Record<string, string>, body?: unknown, gapMs = 0) => {
      t += gapMs;
      out.push({ kind: 'request', timeMs: t, origin: 'shopper', request: this.request(method, path, params, body) });
    };
    const xhr = () => rng.float() * 40 + 5;
    const c = v.currency;
    switch (page.kind) {
      case 'home':
        send('GET', '/');
        send('GET', '/api/products', { currencyCode: c }, undefined, 180 + xhr());
        send('GET', '/api/currency', undefined, undefined, xhr());
        send('GET', '/api/data', undefined, undefined, xhr());
        send('GET', '/api/cart', { sessionId: v.sessionId, currencyCode: c }, undefined, xhr());
        this.lastPage = '/';
        break;
      case 'product': {
        const p = page.product;
        send('GET', `/product/${p.id}`);
        send('GET', `/api/products/${p.id}`, { currencyCode: c }, undefined, 150 + xhr());
        send('GET', '/api/recommendations', { productIds: p.id, sessionId: v.sessionId, currencyCode: c }, undefined, xhr());
        send('GET', '/api/data', { contextKeys: rng.pick(p.categories) }, undefined, xhr());
        send('GET', '/api/cart', { sessionId: v.sessionId, currencyCode: c }, undefined, xhr());
        this.lastPage = `/product/${p.id}`;
        break;
      }
      case 'add': {
        const quantity = rng.weighted([[1, 80], [2, 15], [3, 5]] as const);
        send('POST', '/api/cart', undefined, { userId: v.sessionId, item: { productId: page.product.id, quantity } });
        send('GET', '/api/cart', { sessionId: v.sessionId, currencyCode: c }, undefined, 60 + xhr());
        this.cart.push({ productId: page.product.id, quantity });
        break;
      }
      case 'cart': {
        send('GET', '/cart');
        send('GET', '/api/cart', { sessionId: v.sessionId, currencyCode: c }, undefined, 150 + xhr());
        if (this.cart.length > 0) {
          const address = rng.pick(ADDRESSES);
          send('GET', '/api/shipping', { itemList: JSON.stringify(this.cart), currencyCode: c, address: JSON.stringify(address) }, undefined, xhr());
          send('GET', '/api/recommendations', { productIds: this.cart.map((i) => i.productId).join(','), sessionId: v.sessionId, currencyCode: c }, undefined, xhr());
          if (rng.chance(0.55)) this.plan.unshift({ kind: 'checkout' });
        }
        this.lastPage = '/cart';
        break;
      }
      case 'checkout': {
        const address = rng.pick(ADDRESSES);
        const mistyped = rng.chance(0.02);
        const card = rng.pick(CARDS);
        send('POST', '/api/checkout', { currencyCode: c }, {
          userId: v.sessionId, userCurrency: c, address, email: v.account?.email ?? `${rng.token(8).toLowerCase()}@example.com`,
          creditCard: { creditCardNumber: mistyped ? `${card.slice(0, -1)}${(Number(card.at(-1)) + 1) % 10}` : card, creditCardCvv: rng.int(100, 999), creditCardExpirationYear: rng.int(2027, 2031), creditCardExpirationMonth: rng.int(1, 12) },
        });
        this.cart = [];
        break;
      }
      case 'login': {
        const account = v.account!;
        // People mistype their password now and then, and try again.
        const typo = rng.chance(page.attempt === 0 ? 0.07 : 0.25);
        const password = typo ? mistype(account.password, rng) : account.password;
        send('POST', '/api/login', undefined, { username: account.username, password });
        if (typo && page.attempt < 2 && rng.chance(0.85)) this.plan.unshift({ kind: 'login', attempt: page.attempt + 1 });
        else if (!typo) v.loggedIn = true;
        break;
      }
      case 'account':
        if (v.loggedIn) send('GET', '/api/account');
        break;
    }
  }

  private request(method: string, path: string, params?: Record<string, string>, body?: unknown): ClientRequest {
    const v = this.visitor;
    const headers: Array<[string, string]> = [
      ['host', SITE_HOST], ['user-agent', v.userAgent],
      ['accept', path.startsWith('/api/') ? 'application/json, text/plain, */*' : 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'],
      ['accept-language', 'en-US,en;q=0.9'], ['accept-encoding', 'gzip, deflate, br'], ['referer', `https://${SITE_HOST}${this.lastPage}`],
    ];
    // The session cookie is set on the first visit; a login binds it to the account.
    headers.push(['cookie', `shop_session=${v.sessionId}`]);
    const request: ClientRequest = { method, path, headers, clientAddress: v.address };
    if (params) request.query = new URLSearchParams(params).toString();
    if (body !== undefined) {
      request.body = JSON.stringify(body);
      headers.push(['content-type', 'application/json']);
    }
    return request;
  }
}

function mistype(password: string, rng: Random): string {
  const i = rng.int(0, password.length - 1);
  const kind = rng.int(0, 2);
  if (kind === 0) return password.slice(0, i) + password.slice(i + 1);
  if (kind === 1) return password.slice(0, i) + rng.token(1) + password.slice(i);
  return password.toLowerCase() === password ? password.toUpperCase() : password.toLowerCase();
}

export function uuid(rng: Random): string {
  const h = rng.hex(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${'89ab'[rng.int(0, 3)]}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
