/**
 * The shop's fixed contract: service names as in the current OpenTelemetry Demo, the frontend's API (the Demo
 * frontend's routes plus a login and an account page), the Demo's telescope catalog. Scenario files name these.
 */

export const SERVICES = [
  'frontend', 'product-catalog', 'cart', 'checkout', 'payment', 'shipping', 'currency', 'email', 'recommendation', 'ad',
  'quote', 'fraud-detection', 'accounting',
] as const;
export type ServiceName = (typeof SERVICES)[number];

export function isService(name: string): name is ServiceName {
  return (SERVICES as readonly string[]).includes(name);
}

/** Where the frontend takes a request's parameters from. */
export type ParameterPlace = 'query' | 'body' | 'path';

export interface FrontendRoute {
  method: 'GET' | 'POST';
  /** The `http.route` template. */
  route: string;
  /** The parameters a client sends (query for GET, JSON body for POST), and path parameters. */
  parameters: ReadonlyArray<{ name: string; place: ParameterPlace }>;
}

const q = (...names: string[]) => names.map((name) => ({ name, place: 'query' as const }));
const b = (...names: string[]) => names.map((name) => ({ name, place: 'body' as const }));

export const FRONTEND_ROUTES: readonly FrontendRoute[] = [
  { method: 'GET', route: '/api/products', parameters: q('currencyCode') },
  { method: 'GET', route: '/api/products/{productId}', parameters: [{ name: 'productId', place: 'path' }, ...q('currencyCode')] },
  { method: 'GET', route: '/api/cart', parameters: q('sessionId', 'currencyCode') },
  { method: 'POST', route: '/api/cart', parameters: b('userId', 'item.productId', 'item.quantity') },
  { method: 'POST', route: '/api/checkout', parameters: [...b('userId', 'userCurrency', 'email', 'address.streetAddress', 'address.city', 'address.state', 'address.country', 'address.zipCode'), ...q('currencyCode')] },
  { method: 'GET', route: '/api/recommendations', parameters: q('productIds', 'sessionId', 'currencyCode') },
  { method: 'GET', route: '/api/data', parameters: q('contextKeys') },
  { method: 'GET', route: '/api/currency', parameters: [] },
  { method: 'GET', route: '/api/shipping', parameters: q('itemList', 'currencyCode', 'address') },
  { method: 'POST', route: '/api/login', parameters: b('username', 'password') },
  { method: 'GET', route: '/api/account', parameters: [] },
  { method: 'GET', route: '/api/health', parameters: [] },
];

export const LOGIN_ROUTE = '/api/login';

/** The frontend route a method and path match (path parameters as in the templates), or undefined. */
export function matchRoute(method: string, path: string): FrontendRoute | undefined {
  for (const r of FRONTEND_ROUTES) {
    if (r.method !== method) continue;
    if (routePattern(r.route).test(path)) return r;
  }
  return undefined;
}

const patterns = new Map<string, RegExp>();
function routePattern(route: string): RegExp {
  let re = patterns.get(route);
  if (!re) {
    re = new RegExp(`^${route.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    patterns.set(route, re);
  }
  return re;
}

/** A route as the scenario file names it: `POST /api/login`, `GET /api/products/{productId}`. */
export function findRoute(target: string): FrontendRoute | undefined {
  const m = /^(GET|POST)\s+(\/\S*)$/.exec(target.trim());
  if (!m) return undefined;
  return FRONTEND_ROUTES.find((r) => r.method === m[1] && r.route === m[2]);
}

export interface Product {
  id: string;
  name: string;
  categories: string[];
  priceUsd: number;
}

/** The OpenTelemetry Demo's catalog. */
export const PRODUCTS: readonly Product[] = [
  { id: 'OLJCESPC7Z', name: 'National Park Foundation Explorascope', categories: ['telescopes'], priceUsd: 101.96 },
  { id: '66VCHSJNUP', name: 'Starsense Explorer Refractor Telescope', categories: ['telescopes'], priceUsd: 349.95 },
  { id: '1YMWWN1N4O', name: 'Eclipsmart Travel Refractor Telescope', categories: ['telescopes', 'travel'], priceUsd: 129.95 },
  { id: 'L9ECAV7KIM', name: 'Lens Cleaning Kit', categories: ['accessories'], priceUsd: 21.95 },
  { id: '2ZYFJ3GM2N', name: 'Roof Binoculars', categories: ['binoculars'], priceUsd: 209.95 },
  { id: '0PUK6V6EV0', name: 'Solar System Color Imager', categories: ['accessories', 'telescopes'], priceUsd: 175.0 },
  { id: 'LS4PSXUNUM', name: 'Red Flashlight', categories: ['accessories', 'flashlights'], priceUsd: 57.08 },
  { id: '9SIQT8TOJO', name: 'Optical Tube Assembly', categories: ['accessories', 'telescopes', 'assembly'], priceUsd: 3599.0 },
  { id: '6E92ZMYYFZ', name: 'Solar Filter', categories: ['accessories', 'telescopes'], priceUsd: 69.95 },
  { id: 'HQTGWGPNH4', name: 'The Comet Book', categories: ['books'], priceUsd: 0.99 },
];
export const PRODUCT_IDS: readonly string[] = PRODUCTS.map((p) => p.id);
export const CATEGORIES: readonly string[] = [...new Set(PRODUCTS.flatMap((p) => p.categories))];
/** The product the Demo's `productCatalogFailure` flag breaks. */
export const FLAG_FAILURE_PRODUCT = 'OLJCESPC7Z';

export const CURRENCIES: readonly string[] = ['USD', 'EUR', 'CAD', 'JPY', 'GBP', 'TRY'];
