/**
 * The shop's behaviour, modelled on the OpenTelemetry Demo: which service calls which, with which span names and
 * attributes (OpenTelemetry semantic conventions as the Demo's instrumentations record them), how long each one works,
 * and what fails when a flag is on. Written once against `Runtime`: live mode runs it behind real HTTP servers, fast
 * mode in simulated time.
 */
import { SpanKind, SpanStatusCode, type Attributes, type Span } from '@opentelemetry/api';
import { CATEGORIES, CURRENCIES, matchRoute, PRODUCTS, type Product, type ServiceName } from './catalog.ts';
import { GRPC, isClientError, isServerError, jsonBytes, type Reply, type Runtime } from './runtime.ts';
import type { CartItem } from './state.ts';
import { KAFKA, POSTGRES, TOPOLOGY, VALKEY } from './topology.ts';

export interface OperationDef {
  id: string;
  service: ServiceName;
  protocol: 'grpc' | 'http';
  /** Span name: `oteldemo.CartService/GetCart`, or `POST /get-quote` for HTTP servers. */
  spanName: string;
  /** Where live mode serves it. */
  path: string;
  rpcService?: string;
  rpcMethod?: string;
  route?: string;
  /** Attributes the service's own code puts on its server span (as the Demo's services do: `app.product.id`...). */
  spanAttributes?(request: any): Attributes;
  handler(rt: Runtime, request: any): Promise<Reply>;
}

/** Where a call came from, as the callee's socket sees it. */
export interface Peer {
  address: string;
  port: number;
}

const grpc = (service: ServiceName, rpcService: string, rpcMethod: string, handler: OperationDef['handler']): OperationDef => ({
  id: `${rpcService}/${rpcMethod}`, service, protocol: 'grpc', spanName: `${rpcService}/${rpcMethod}`, path: `/${rpcService}/${rpcMethod}`, rpcService, rpcMethod, handler,
});
const http = (service: ServiceName, route: string, handler: OperationDef['handler']): OperationDef => ({
  id: `${service} POST ${route}`, service, protocol: 'http', spanName: `POST ${route}`, path: route, route, handler,
});

const work = (rt: Runtime, median: number, sigma = 0.35) => rt.work(rt.rng.logNormal(median, sigma));

export const ORDERS_TOPIC = 'orders';

function productJson(p: Product, currencyCode = 'USD', price = p.priceUsd) {
  const units = Math.floor(price);
  return {
    id: p.id, name: p.name, description: `${p.name}: a quality piece for stargazers of every level.`,
    picture: `${p.id.toLowerCase()}.jpg`, priceUsd: { currencyCode, units, nanos: Math.round((price - units) * 1e9) }, categories: p.categories,
  };
}

const RATES: Readonly<Record<string, number>> = { USD: 1, EUR: 0.92, CAD: 1.36, JPY: 151.2, GBP: 0.79, TRY: 32.4 };

/** Valkey (the cart's cache) commands, as the .NET Redis instrumentation records them. */
async function valkey(rt: Runtime, command: string, median: number): Promise<void> {
  await rt.span('cart', command, {
    kind: SpanKind.CLIENT,
    attributes: { 'db.system.name': 'redis', 'db.operation.name': command, 'server.address': VALKEY.name, 'server.port': VALKEY.port, 'network.peer.address': VALKEY.address, 'network.peer.port': VALKEY.port },
  }, (inner) => work(inner, median, 0.4));
}

/** A PostgreSQL statement (parameterised: values never reach the statement text). */
async function postgres(rt: Runtime, service: ServiceName, operation: string, table: string, statement: string, median: number): Promise<void> {
  await rt.span(service, `${operation} ${table}`, {
    kind: SpanKind.CLIENT,
    attributes: {
      'db.system.name': 'postgresql', 'db.namespace': 'otel', 'db.operation.name': operation, 'db.collection.name': table, 'db.query.text': statement,
      'server.address': POSTGRES.name, 'server.port': POSTGRES.port, 'network.peer.address': POSTGRES.address, 'network.peer.port': POSTGRES.port,
    },
  }, (inner) => work(inner, median, 0.5));
}

const luhn = (digits: string) => {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return digits.length >= 12 && sum % 10 === 0;
};

export const GET_PRODUCT = 'oteldemo.ProductCatalogService/GetProduct';
export const PRODUCT_CATALOG_FAILURE = 'Error: Product Catalog Fail Feature Flag Enabled';

async function getProduct(rt: Runtime, req: { id?: string }): Promise<Reply> {
  await work(rt, 0.9);
  const id = String(req.id ?? '');
  if (id !== '' && id === rt.state.flags.failingProduct) {
    const message = PRODUCT_CATALOG_FAILURE;
    rt.log('product-catalog', { severity: 'ERROR', body: message, attributes: { 'app.product.id': id } });
    return { status: GRPC.INTERNAL, error: message };
  }
  const p = PRODUCTS.find((x) => x.id === id);
  if (!p) return { status: GRPC.NOT_FOUND, error: `no product with ID ${id}` };
  return { status: GRPC.OK, body: productJson(p) };
}

export const OPERATIONS: readonly OperationDef[] = [
  grpc('product-catalog', 'oteldemo.ProductCatalogService', 'ListProducts', async (rt) => {
    await work(rt, 1.6);
    return { status: GRPC.OK, body: { products: PRODUCTS.map((p) => productJson(p)) } };
  }),
  { ...grpc('product-catalog', 'oteldemo.ProductCatalogService', 'GetProduct', getProduct), spanAttributes: (req: { id?: unknown }) => ({ 'app.product.id': String(req.id ?? '').slice(0, 128) }) },
  grpc('currency', 'oteldemo.CurrencyService', 'GetSupportedCurrencies', async (rt) => {
    await work(rt, 0.3);
    return { status: GRPC.OK, body: { currencyCodes: CURRENCIES } };
  }),
  grpc('currency', 'oteldemo.CurrencyService', 'Convert', async (rt, req: { from?: { units?: number; currencyCode?: string }; toCode?: string }) => {
    await work(rt, 0.25);
    const to = String(req.toCode ?? '');
    if (!(to in RATES)) return { status: GRPC.INVALID_ARGUMENT, error: `unsupported currency: ${to.slice(0, 40)}` };
    return { status: GRPC.OK, body: { currencyCode: to, units: Math.round(Number(req.from?.units ?? 0) * RATES[to]!), nanos: 0 } };
  }),
  grpc('cart', 'oteldemo.CartService', 'AddItem', async (rt, req: { userId?: string; item?: CartItem }) => {
    await work(rt, 0.4);
    await valkey(rt, 'HGET', 0.4);
    await valkey(rt, 'HSET', 0.5);
    await valkey(rt, 'EXPIRE', 0.3);
    rt.state.addToCart(String(req.userId ?? ''), { productId: String(req.item?.productId ?? ''), quantity: Number(req.item?.quantity ?? 1) });
    return { status: GRPC.OK, body: {} };
  }),
  grpc('cart', 'oteldemo.CartService', 'GetCart', async (rt, req: { userId?: string }) => {
    await work(rt, 0.3);
    await valkey(rt, 'HGET', 0.4);
    const userId = String(req.userId ?? '');
    return { status: GRPC.OK, body: { userId, items: rt.state.cart(userId) } };
  }),
  grpc('cart', 'oteldemo.CartService', 'EmptyCart', async (rt, req: { userId?: string }) => {
    await work(rt, 0.3);
    await valkey(rt, 'HSET', 0.5);
    await valkey(rt, 'EXPIRE', 0.3);
    rt.state.emptyCart(String(req.userId ?? ''));
    return { status: GRPC.OK, body: {} };
  }),
  grpc('recommendation', 'oteldemo.RecommendationService', 'ListRecommendations', async (rt, req: { userId?: string; productIds?: string[] }) => {
    await work(rt, 1.5);
    const all = await rt.call('recommendation', 'oteldemo.ProductCatalogService/ListProducts', {});
    if (all.status !== GRPC.OK) return { status: GRPC.UNAVAILABLE, error: 'product catalog unavailable' };
    const exclude = new Set(req.productIds ?? []);
    const candidates = PRODUCTS.map((p) => p.id).filter((id) => !exclude.has(id));
    const picked: string[] = [];
    while (picked.length < Math.min(5, candidates.length)) {
      const id = rt.rng.pick(candidates);
      if (!picked.includes(id)) picked.push(id);
    }
    await work(rt, 0.8);
    rt.log('recommendation', { severity: 'INFO', body: `Receive ListRecommendations for product ids:${JSON.stringify(picked)}` });
    return { status: GRPC.OK, body: { productIds: picked } };
  }),
  grpc('ad', 'oteldemo.AdService', 'GetAds', async (rt, req: { contextKeys?: string[] }) => {
    await work(rt, 1.8);
    const keys = (req.contextKeys ?? []).filter((k) => CATEGORIES.includes(k));
    const products = keys.length > 0 ? PRODUCTS.filter((p) => p.categories.some((c) => keys.includes(c))) : PRODUCTS;
    const ad = rt.rng.pick(products);
    rt.log('ad', { severity: 'INFO', body: `Targeted ad request received for ${JSON.stringify(req.contextKeys ?? []).slice(0, 200)}` });
    return { status: GRPC.OK, body: { ads: [{ redirectUrl: `/product/${ad.id}`, text: `${ad.name} for sale. Buy one, get the second kit for free` }] } };
  }),
  grpc('payment', 'oteldemo.PaymentService', 'Charge', async (rt, req: { amount?: { units?: number; currencyCode?: string }; creditCard?: { creditCardNumber?: string; creditCardExpirationYear?: number } }) => {
    await work(rt, 2.2);
    const number = String(req.creditCard?.creditCardNumber ?? '').replace(/[\s-]/g, '');
    if (!/^\d+$/.test(number) || !luhn(number)) {
      rt.log('payment', { severity: 'WARN', body: 'Credit card info is invalid' });
      return { status: GRPC.INVALID_ARGUMENT, error: 'Credit card info is invalid.' };
    }
    if (Number(req.creditCard?.creditCardExpirationYear ?? 0) < 2026) {
      return { status: GRPC.INVALID_ARGUMENT, error: `The credit card (ending ${number.slice(-4)}) expired.` };
    }
    const transactionId = rt.rng.hex(16);
    rt.log('payment', { severity: 'INFO', body: 'Transaction complete.', attributes: { 'app.payment.transaction.id': transactionId, 'app.payment.amount': Number(req.amount?.units ?? 0) } });
    return { status: GRPC.OK, body: { transactionId } };
  }),
  http('shipping', '/get-quote', async (rt, req: { items?: CartItem[] }) => {
    await work(rt, 0.8);
    const count = (req.items ?? []).reduce((n, i) => n + Number(i.quantity ?? 1), 0);
    const quote = await rt.call('shipping', 'quote POST /getquote', { numberOfItems: count });
    if (quote.status !== 200) return { status: 500, error: 'failed to get quote' };
    return { status: 200, body: { cost_usd: { currencyCode: 'USD', units: Math.floor(Number((quote.body as { cost?: number }).cost ?? 0)), nanos: 0 } } };
  }),
  http('shipping', '/ship-order', async (rt) => {
    await work(rt, 0.9);
    return { status: 200, body: { tracking_id: `${rt.rng.hex(4)}-${rt.rng.hex(2)}-${rt.rng.hex(2)}-${rt.rng.hex(6)}` } };
  }),
  http('quote', '/getquote', async (rt, req: { numberOfItems?: number }) => {
    await work(rt, 3.5, 0.5);
    const n = Math.max(0, Number(req.numberOfItems ?? 0));
    return { status: 200, body: { cost: Math.round((8.9 + n * 3.2) * 100) / 100 } };
  }),
  http('email', '/send_order_confirmation', async (rt, req: { email?: string; order?: { orderId?: string } }) => {
    await work(rt, 18, 0.4);
    rt.log('email', { severity: 'INFO', body: `Order confirmation email sent to: ${String(req.email ?? '').slice(0, 100)}`, attributes: { 'app.order.id': String(req.order?.orderId ?? '') } });
    return { status: 200, body: {} };
  }),
  grpc('checkout', 'oteldemo.CheckoutService', 'PlaceOrder', placeOrder),
];

const OPERATION_BY_ID = new Map(OPERATIONS.map((o) => [o.id, o]));
export function operation(id: string): OperationDef {
  const op = OPERATION_BY_ID.get(id);
  if (!op) throw new Error(`the shop has no operation ${id}`);
  return op;
}
export function operationsOf(service: ServiceName): OperationDef[] {
  return OPERATIONS.filter((o) => o.service === service);
}

interface PlaceOrderRequest {
  userId?: string;
  userCurrency?: string;
  email?: string;
  address?: Record<string, unknown>;
  creditCard?: { creditCardNumber?: string; creditCardExpirationYear?: number };
}

async function placeOrder(rt: Runtime, req: PlaceOrderRequest): Promise<Reply> {
  const userId = String(req.userId ?? '');
  const currency = String(req.userCurrency ?? 'USD');
  rt.log('checkout', { severity: 'INFO', body: `[PlaceOrder] user_id=${userId.slice(0, 64)} user_currency=${currency.slice(0, 16)}` });
  const prep = await rt.span('checkout', 'prepareOrderItemsAndShippingQuoteFromCart', { kind: SpanKind.INTERNAL }, async (inner) => {
    const cart = await inner.call('checkout', 'oteldemo.CartService/GetCart', { userId });
    if (cart.status !== GRPC.OK) return { error: `cart failure: ${cart.error}` };
    const items = (cart.body as { items: CartItem[] }).items;
    const orderItems: Array<{ item: CartItem; cost: unknown }> = [];
    for (const item of items) {
      const product = await inner.call('checkout', 'oteldemo.ProductCatalogService/GetProduct', { id: item.productId });
      if (product.status !== GRPC.OK) return { error: `failed to prepare order: failed to get product #"${item.productId}"` };
      const price = await inner.call('checkout', 'oteldemo.CurrencyService/Convert', { from: (product.body as ReturnType<typeof productJson>).priceUsd, toCode: currency });
      if (price.status !== GRPC.OK) return { error: `failed to convert price of "${item.productId}" to ${currency}` };
      orderItems.push({ item, cost: price.body });
    }
    const quote = await inner.call('checkout', 'shipping POST /get-quote', { address: req.address, items });
    if (quote.status !== 200) return { error: 'shipping quote failure' };
    const shipping = await inner.call('checkout', 'oteldemo.CurrencyService/Convert', { from: (quote.body as { cost_usd: unknown }).cost_usd, toCode: currency });
    if (shipping.status !== GRPC.OK) return { error: 'failed to convert shipping cost to currency' };
    return { items, orderItems, shipping: shipping.body };
  });
  if ('error' in prep) return { status: GRPC.INTERNAL, error: prep.error };
  if (prep.items.length === 0) return { status: GRPC.INVALID_ARGUMENT, error: 'cart is empty' };
  const charge = await rt.call('checkout', 'oteldemo.PaymentService/Charge', { amount: { currencyCode: currency, units: 100 }, creditCard: req.creditCard });
  if (charge.status !== GRPC.OK) return { status: GRPC.INTERNAL, error: `failed to charge card: could not charge the card: rpc error: code = ${charge.status} desc = ${charge.error}` };
  rt.log('checkout', { severity: 'INFO', body: `payment went through (transaction_id: ${(charge.body as { transactionId: string }).transactionId})` });
  const shipped = await rt.call('checkout', 'shipping POST /ship-order', { address: req.address, items: prep.items });
  if (shipped.status !== 200) return { status: GRPC.UNAVAILABLE, error: 'shipping error' };
  await rt.call('checkout', 'oteldemo.CartService/EmptyCart', { userId });
  const orderId = `${rt.rng.hex(4)}-${rt.rng.hex(2)}-${rt.rng.hex(2)}-${rt.rng.hex(2)}-${rt.rng.hex(6)}`;
  const order = { orderId, shippingTrackingId: (shipped.body as { tracking_id: string }).tracking_id, shippingCost: prep.shipping, shippingAddress: req.address, items: prep.orderItems };
  const email = await rt.call('checkout', 'email POST /send_order_confirmation', { email: req.email, order });
  if (email.status !== 200) rt.log('checkout', { severity: 'WARN', body: `failed to send order confirmation to "${String(req.email ?? '').slice(0, 100)}"` });
  await rt.publish('checkout', ORDERS_TOPIC, order);
  return { status: GRPC.OK, body: { order } };
}

/** The Kafka consumers of the orders topic: accounting (stores the order) and fraud detection. */
export const CONSUMERS: ReadonlyArray<{ service: ServiceName; handle(rt: Runtime, order: { orderId?: string; items?: unknown[] }): Promise<void> }> = [
  {
    service: 'accounting',
    async handle(rt, order) {
      await work(rt, 1.2);
      rt.log('accounting', { severity: 'INFO', body: `Order details: ${String(order.orderId ?? '')}`, attributes: { 'app.order.id': String(order.orderId ?? '') } });
      await postgres(rt, 'accounting', 'INSERT', 'order', 'INSERT INTO "order" (order_id) VALUES (@p0)', 1.5);
      for (let i = 0; i < (order.items ?? []).length; i++) await postgres(rt, 'accounting', 'INSERT', 'orderitem', 'INSERT INTO orderitem (item_cost_currency_code, item_cost_units, item_cost_nanos, product_id, quantity, order_id) VALUES (@p0, @p1, @p2, @p3, @p4, @p5)', 1.2);
      await postgres(rt, 'accounting', 'INSERT', 'shipping', 'INSERT INTO shipping (shipping_tracking_id, shipping_cost_currency_code, shipping_cost_units, shipping_cost_nanos, street_address, city, state, country, zip_code, order_id) VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8, @p9)', 1.3);
    },
  },
  {
    service: 'fraud-detection',
    async handle(rt, order) {
      await work(rt, 0.8);
      rt.log('fraud-detection', { severity: 'INFO', body: `Consumed record with orderId: ${String(order.orderId ?? '')}` });
    },
  },
];

/** Attributes of a producer or consumer span of the orders topic. */
export function messagingAttributes(topic: string, operation: 'send' | 'process', consumerGroup?: string): Attributes {
  return {
    'messaging.system': 'kafka', 'messaging.destination.name': topic, 'messaging.operation.type': operation,
    'messaging.operation.name': operation, 'server.address': KAFKA.name, 'server.port': KAFKA.port, 'peer.service': 'kafka',
    ...(consumerGroup ? { 'messaging.consumer.group.name': consumerGroup } : {}),
  };
}

/** A call from one service to another's operation: the client span (attributes as the caller's instrumentation records them). */
export async function callOperation(rt: Runtime, from: ServiceName, op: OperationDef, request: unknown, deliver: (rt: Runtime, span: Span) => Promise<Reply>): Promise<Reply> {
  const callee = TOPOLOGY[op.service];
  const attributes: Attributes = op.protocol === 'grpc'
    ? { 'rpc.system': 'grpc', 'rpc.service': op.rpcService, 'rpc.method': op.rpcMethod, 'server.address': op.service, 'server.port': callee.port }
    : { 'http.request.method': 'POST', 'url.full': `http://${op.service}:${callee.port}${op.path}`, 'server.address': op.service, 'server.port': callee.port, 'network.protocol.version': '1.1', 'http.request.body.size': jsonBytes(request) };
  return rt.span(from, op.protocol === 'grpc' ? op.spanName : 'POST', { kind: SpanKind.CLIENT, attributes }, async (inner, span) => {
    const reply = await deliver(inner, span);
    if (op.protocol === 'grpc') span.setAttribute('rpc.grpc.status_code', reply.status);
    else span.setAttributes({ 'http.response.status_code': reply.status, 'http.response.body.size': reply.bytes ?? jsonBytes(reply.body) });
    if (isClientError(op.protocol, reply.status)) span.setStatus({ code: SpanStatusCode.ERROR, message: reply.error });
    return reply;
  });
}

/** The callee's side of a call: the server span around the operation's handler. */
export async function serveOperation(rt: Runtime, op: OperationDef, request: unknown, peer: Peer, userAgent?: string): Promise<Reply> {
  const self = TOPOLOGY[op.service];
  const attributes: Attributes = op.protocol === 'grpc'
    ? { 'rpc.system': 'grpc', 'rpc.service': op.rpcService, 'rpc.method': op.rpcMethod, 'network.peer.address': peer.address, 'network.peer.port': peer.port, 'server.port': self.port }
    : {
      'http.request.method': 'POST', 'url.path': op.path, 'url.scheme': 'http', 'http.route': op.route, 'server.address': op.service, 'server.port': self.port,
      'client.address': peer.address, 'network.peer.address': peer.address, 'network.peer.port': peer.port, 'network.protocol.version': '1.1',
      'user_agent.original': userAgent ?? 'Go-http-client/1.1', 'http.request.body.size': jsonBytes(request),
    };
  return rt.span(op.service, op.spanName, { kind: SpanKind.SERVER, attributes: { ...attributes, ...op.spanAttributes?.(request ?? {}) } }, async (inner, span) => {
    const slow = inner.state.flags.slowServices[op.service];
    if (slow) await inner.work(inner.rng.logNormal(slow, 0.3));
    let reply: Reply;
    try {
      reply = await op.handler(inner, request ?? {});
    } catch (e) {
      reply = { status: op.protocol === 'grpc' ? GRPC.INTERNAL : 500, error: (e as Error).message };
    }
    // The caller's span reports the same size: counted once.
    reply.bytes ??= jsonBytes(reply.body);
    if (op.protocol === 'grpc') span.setAttribute('rpc.grpc.status_code', reply.status);
    else span.setAttributes({ 'http.response.status_code': reply.status, 'http.response.body.size': reply.bytes });
    if (reply.error !== undefined && isServerError(op.protocol, reply.status)) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: reply.error });
      span.recordException({ name: 'Error', message: reply.error }, inner.now());
    }
    return reply;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The frontend

/** A request as it reaches the frontend (after the reverse proxy, which adds X-Forwarded-For). */
export interface InboundRequest {
  method: string;
  /** Path as sent (percent-encoded). */
  path: string;
  /** Query without '?', as sent. */
  query?: string;
  headers: Array<[string, string]>;
  body?: string;
  /** The socket's peer: the proxy. */
  peer: Peer;
}

export interface FrontendReply {
  status: number;
  headers: Array<[string, string]>;
  body: string;
}

export const SESSION_COOKIE = 'shop_session';

function header(req: InboundRequest, name: string): string | undefined {
  for (const [n, v] of req.headers) if (n.toLowerCase() === name) return v;
  return undefined;
}

/** The original client: the first X-Forwarded-For address, else the socket peer. */
export function clientAddressOf(req: InboundRequest): string {
  const xff = header(req, 'x-forwarded-for');
  const first = xff?.split(',')[0]?.trim();
  return first || req.peer.address;
}

function cookie(req: InboundRequest, name: string): string | undefined {
  const raw = header(req, 'cookie');
  if (!raw) return undefined;
  for (const part of raw.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

const json = (status: number, body: unknown, extraHeaders: Array<[string, string]> = []): FrontendReply =>
  ({ status, headers: [['content-type', 'application/json; charset=utf-8'], ...extraHeaders], body: body === undefined ? '' : JSON.stringify(body) });
const page = (status: number, bytes: number, title: string): FrontendReply =>
  ({ status, headers: [['content-type', 'text/html; charset=utf-8']], body: `<!DOCTYPE html><html><head><title>${title}</title></head><body>${'<div class="content"></div>'.repeat(Math.max(1, Math.round(bytes / 26)))}</body></html>` });

interface RouteContext {
  rt: Runtime;
  req: InboundRequest;
  query: URLSearchParams;
  pathParams: Record<string, string>;
  span: Span;
  body(): Record<string, unknown> | undefined;
}

async function priced(rt: Runtime, p: Record<string, unknown>, currencyCode: string): Promise<Record<string, unknown> | undefined> {
  if (currencyCode === 'USD' || currencyCode === '') return p;
  const converted = await rt.call('frontend', 'oteldemo.CurrencyService/Convert', { from: p.priceUsd, toCode: currencyCode });
  return converted.status === GRPC.OK ? { ...p, priceUsd: converted.body } : undefined;
}

async function productsById(rt: Runtime, ids: string[], currencyCode: string): Promise<Array<Record<string, unknown>> | undefined> {
  const products = await rt.parallel(ids.map((id) => async (branch) => {
    const reply = await branch.call('frontend', 'oteldemo.ProductCatalogService/GetProduct', { id });
    return reply.status === GRPC.OK ? priced(branch, reply.body as Record<string, unknown>, currencyCode) : undefined;
  }));
  return products.some((p) => p === undefined) ? undefined : products as Array<Record<string, unknown>>;
}

type RouteHandler = (c: RouteContext) => Promise<FrontendReply>;

const API: Record<string, RouteHandler> = {
  'GET /': async (c) => { await work(c.rt, 9, 0.4); return page(200, 28_000, 'OTel demo'); },
  'GET /product/{productId}': async (c) => { await work(c.rt, 8, 0.4); return page(200, 24_000, 'Product'); },
  'GET /cart': async (c) => { await work(c.rt, 6, 0.4); return page(200, 18_000, 'Cart'); },
  'GET /robots.txt': async (c) => { await work(c.rt, 0.5); return { status: 200, headers: [['content-type', 'text/plain']], body: 'User-agent: *\nDisallow: /api/\nSitemap: https://shop.example.com/sitemap.xml\n' }; },
  'GET /sitemap.xml': async (c) => { await work(c.rt, 1.5); return { status: 200, headers: [['content-type', 'application/xml']], body: `<urlset>${PRODUCTS.map((p) => `<url><loc>https://shop.example.com/product/${p.id}</loc></url>`).join('')}</urlset>` }; },
  'GET /api/health': async (c) => { await work(c.rt, 0.2); return json(200, { status: 'ok' }); },
  'GET /api/products': async (c) => {
    const currency = c.query.get('currencyCode') ?? 'USD';
    const list = await c.rt.call('frontend', 'oteldemo.ProductCatalogService/ListProducts', {});
    if (list.status !== GRPC.OK) return json(500, { error: 'Internal Server Error' });
    const products = await c.rt.parallel((list.body as { products: Array<Record<string, unknown>> }).products.map((p) => (branch) => priced(branch, p, currency)));
    if (products.some((p) => p === undefined)) return json(500, { error: 'Internal Server Error' });
    return json(200, products);
  },
  'GET /api/products/{productId}': async (c) => {
    const id = c.pathParams.productId!;
    c.span.setAttribute('app.product.id', id.slice(0, 128));
    const reply = await c.rt.call('frontend', 'oteldemo.ProductCatalogService/GetProduct', { id });
    if (reply.status === GRPC.NOT_FOUND) return json(404, { error: 'Not Found' });
    if (reply.status !== GRPC.OK) return json(500, { error: 'could not get product' });
    const product = await priced(c.rt, reply.body as Record<string, unknown>, c.query.get('currencyCode') ?? 'USD');
    return product ? json(200, product) : json(500, { error: 'Internal Server Error' });
  },
  'GET /api/cart': async (c) => {
    const userId = c.query.get('sessionId') ?? '';
    const cart = await c.rt.call('frontend', 'oteldemo.CartService/GetCart', { userId });
    if (cart.status !== GRPC.OK) return json(500, { error: 'Internal Server Error' });
    const items = (cart.body as { items: CartItem[] }).items;
    const products = await productsById(c.rt, items.map((i) => i.productId), c.query.get('currencyCode') ?? 'USD');
    if (!products) return json(500, { error: 'Internal Server Error' });
    return json(200, { userId, items: items.map((i, n) => ({ productId: i.productId, quantity: i.quantity, product: products[n] })) });
  },
  'POST /api/cart': async (c) => {
    const body = c.body() as { userId?: unknown; item?: { productId?: unknown; quantity?: unknown } } | undefined;
    const quantity = Number(body?.item?.quantity);
    if (!body || typeof body.userId !== 'string' || typeof body.item?.productId !== 'string' || !Number.isInteger(quantity) || quantity < 1) return json(400, { error: 'Bad Request' });
    c.span.setAttribute('app.product.id', body.item.productId.slice(0, 128));
    const added = await c.rt.call('frontend', 'oteldemo.CartService/AddItem', { userId: body.userId, item: { productId: body.item.productId, quantity } });
    if (added.status !== GRPC.OK) return json(500, { error: 'Internal Server Error' });
    const cart = await c.rt.call('frontend', 'oteldemo.CartService/GetCart', { userId: body.userId });
    return cart.status === GRPC.OK ? json(200, cart.body) : json(500, { error: 'Internal Server Error' });
  },
  'POST /api/checkout': async (c) => {
    const body = c.body();
    if (!body) return json(400, { error: 'Bad Request' });
    const placed = await c.rt.call('frontend', 'oteldemo.CheckoutService/PlaceOrder', body);
    if (placed.status !== GRPC.OK) {
      c.rt.log('frontend', { severity: 'ERROR', body: `Failed to place order: ${placed.error ?? placed.status}` });
      return json(500, { error: placed.error ?? 'Failed to place order.' });
    }
    const order = (placed.body as { order: { items: Array<{ item: CartItem }> } }).order;
    const products = await productsById(c.rt, order.items.map((i) => i.item.productId), c.query.get('currencyCode') ?? 'USD');
    return products ? json(200, { ...order, items: order.items.map((i, n) => ({ ...i, item: { ...i.item, product: products[n] } })) }) : json(500, { error: 'Internal Server Error' });
  },
  'GET /api/recommendations': async (c) => {
    const productIds = (c.query.get('productIds') ?? '').split(',').filter((s) => s !== '');
    const recs = await c.rt.call('frontend', 'oteldemo.RecommendationService/ListRecommendations', { userId: c.query.get('sessionId') ?? '', productIds });
    if (recs.status !== GRPC.OK) return json(500, { error: 'Internal Server Error' });
    const ids = (recs.body as { productIds: string[] }).productIds.slice(0, 4);
    const products = await productsById(c.rt, ids, c.query.get('currencyCode') ?? 'USD');
    return products ? json(200, products) : json(500, { error: 'Internal Server Error' });
  },
  'GET /api/data': async (c) => {
    const keys = (c.query.get('contextKeys') ?? '').split(',').filter((s) => s !== '');
    const ads = await c.rt.call('frontend', 'oteldemo.AdService/GetAds', { contextKeys: keys });
    return ads.status === GRPC.OK ? json(200, (ads.body as { ads: unknown[] }).ads) : json(500, { error: 'Internal Server Error' });
  },
  'GET /api/currency': async (c) => {
    const list = await c.rt.call('frontend', 'oteldemo.CurrencyService/GetSupportedCurrencies', {});
    return list.status === GRPC.OK ? json(200, (list.body as { currencyCodes: string[] }).currencyCodes) : json(500, { error: 'Internal Server Error' });
  },
  'GET /api/shipping': async (c) => {
    let items: unknown;
    let address: unknown;
    try {
      items = JSON.parse(c.query.get('itemList') ?? '');
      address = JSON.parse(c.query.get('address') ?? '');
    } catch {
      return json(500, { error: 'Internal Server Error' });
    }
    const quote = await c.rt.call('frontend', 'shipping POST /get-quote', { items, address });
    if (quote.status !== 200) return json(500, { error: 'Internal Server Error' });
    const cost = await c.rt.call('frontend', 'oteldemo.CurrencyService/Convert', { from: (quote.body as { cost_usd: unknown }).cost_usd, toCode: c.query.get('currencyCode') ?? 'USD' });
    return cost.status === GRPC.OK ? json(200, cost.body) : json(500, { error: 'Internal Server Error' });
  },
  'POST /api/login': async (c) => {
    const body = c.body();
    const username = typeof body?.username === 'string' ? body.username : undefined;
    const password = typeof body?.password === 'string' ? body.password : undefined;
    const client = clientAddressOf(c.req);
    if (username === undefined || password === undefined) return json(400, { error: 'username and password are required' });
    await postgres(c.rt, 'frontend', 'SELECT', 'users', 'SELECT id, password_hash FROM users WHERE username = $1', 1.1);
    const account = c.rt.state.accounts.get(username);
    // bcrypt runs for known users; unknown ones answer at once (a timing difference real shops have too).
    if (account) await work(c.rt, 62, 0.12);
    const shown = username.slice(0, 128);
    if (!account || account.password !== password) {
      const reason = account ? 'invalid password' : 'unknown user';
      c.rt.log('frontend', {
        severity: 'WARN', body: `login failed for user ${shown} from ${client}: ${reason}`,
        attributes: { 'event.name': 'user.login', 'event.category': 'authentication', 'event.action': 'login', 'event.outcome': 'failure', 'user.name': shown, 'client.address': client, 'error.type': reason.replace(' ', '_') },
      });
      return json(401, { error: 'Invalid username or password' });
    }
    // The session cookie set on the first visit is bound to the account.
    const token = cookie(c.req, SESSION_COOKIE) ?? c.rt.rng.token(32);
    c.rt.state.login(token, account.username);
    c.span.setAttribute('enduser.id', account.id);
    c.rt.log('frontend', {
      severity: 'INFO', body: `user ${account.username} logged in from ${client}`,
      attributes: { 'event.name': 'user.login', 'event.category': 'authentication', 'event.action': 'login', 'event.outcome': 'success', 'user.name': account.username, 'client.address': client },
    });
    return json(200, { userId: account.id, username: account.username }, [['set-cookie', `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; Secure; SameSite=Lax`]]);
  },
  'GET /api/account': async (c) => {
    const account = c.rt.state.sessionUser(cookie(c.req, SESSION_COOKIE));
    if (!account) return json(401, { error: 'Not logged in' });
    c.span.setAttribute('enduser.id', account.id);
    await postgres(c.rt, 'frontend', 'SELECT', 'users', 'SELECT id, username, email, created_at FROM users WHERE id = $1', 0.9);
    await postgres(c.rt, 'frontend', 'SELECT', 'orders', 'SELECT order_id, placed_at, total FROM orders WHERE user_id = $1 ORDER BY placed_at DESC LIMIT 20', 2.4);
    const cart = await c.rt.call('frontend', 'oteldemo.CartService/GetCart', { userId: account.id });
    return json(200, { username: account.username, email: account.email, cartItems: cart.status === GRPC.OK ? (cart.body as { items: unknown[] }).items.length : 0, orders: [] });
  },
};

/** The frontend: the server span of one request (HTTP conventions, client from X-Forwarded-For) and its route's handler. */
export async function serveFrontend(rt: Runtime, req: InboundRequest): Promise<FrontendReply> {
  const load = rt.state.frontendArrival(rt.now());
  const method = req.method.toUpperCase();
  const route = matchRoute(method === 'HEAD' ? 'GET' : method, req.path.split('?')[0]!);
  const client = clientAddressOf(req);
  const userAgent = header(req, 'user-agent');
  const host = header(req, 'host');
  const attributes: Attributes = {
    'http.request.method': method, 'url.path': req.path, 'url.scheme': 'http', 'network.protocol.version': '1.1',
    'server.address': host?.replace(/:\d+$/, '') ?? 'frontend', 'server.port': TOPOLOGY.frontend.port,
    'client.address': client, 'network.peer.address': req.peer.address, 'network.peer.port': req.peer.port,
  };
  if (req.query) attributes['url.query'] = req.query;
  if (userAgent) attributes['user_agent.original'] = userAgent;
  if (route) attributes['http.route'] = route.route;
  if (req.body !== undefined) attributes['http.request.body.size'] = Buffer.byteLength(req.body);
  const name = route ? `${method} ${route.route}` : method;
  return rt.span('frontend', name, { kind: SpanKind.SERVER, attributes }, async (inner, span) => {
    let reply: FrontendReply;
    // Above capacity, requests queue (slower) and some are shed at once with 503, as an overloaded Next.js behind a proxy does.
    if (load > 1 && inner.rng.chance(1 - 1 / load)) {
      await inner.work(inner.rng.logNormal(2, 0.3));
      reply = { status: 503, headers: [['content-type', 'text/plain']], body: 'Service Unavailable' };
    } else {
      if (load > 0.7) await inner.work(inner.rng.logNormal(40 * (load - 0.7) / Math.max(0.05, 1.05 - Math.min(load, 1)), 0.4));
      const slow = inner.state.flags.slowServices.frontend;
      if (slow) await inner.work(inner.rng.logNormal(slow, 0.3));
      reply = await dispatch(inner, req, method, route?.route, span);
    }
    if (method === 'HEAD') reply = { ...reply, body: '' };
    span.setAttributes({ 'http.response.status_code': reply.status, 'http.response.body.size': Buffer.byteLength(reply.body) });
    if (reply.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    return reply;
  });
}

async function dispatch(rt: Runtime, req: InboundRequest, method: string, route: string | undefined, span: Span): Promise<FrontendReply> {
  await rt.work(rt.rng.logNormal(0.6, 0.3));
  if (method === 'OPTIONS') return { status: 204, headers: [['allow', 'GET, POST, HEAD, OPTIONS']], body: '' };
  if (!route) {
    // Next.js answers anything else with its 404 page (or 405 for a method no route takes).
    const known = matchRoute('GET', req.path) ?? matchRoute('POST', req.path);
    return known ? { status: 405, headers: [['allow', known.method]], body: '' } : page(404, 2_300, '404: This page could not be found');
  }
  const handler = API[`${method === 'HEAD' ? 'GET' : method} ${route}`]!;
  const pathParams: Record<string, string> = {};
  const names = [...route.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
  if (names.length > 0) {
    const routeParts = route.split('/');
    const pathParts = req.path.split('/');
    routeParts.forEach((part, i) => { if (part.startsWith('{')) pathParams[part.slice(1, -1)] = safeDecode(pathParts[i] ?? ''); });
  }
  let parsed: Record<string, unknown> | undefined | null = null;
  const context: RouteContext = {
    rt, req, span, pathParams, query: new URLSearchParams(req.query ?? ''),
    body: () => {
      if (parsed !== null) return parsed;
      parsed = undefined;
      try {
        const v: unknown = JSON.parse(req.body ?? '');
        if (v && typeof v === 'object' && !Array.isArray(v)) parsed = v as Record<string, unknown>;
      } catch { /* not JSON: the handler answers 400 */ }
      return parsed;
    },
  };
  try {
    return await handler(context);
  } catch (e) {
    rt.log('frontend', { severity: 'ERROR', body: `unhandled error in ${method} ${route}: ${(e as Error).message}` });
    return json(500, { error: 'Internal Server Error' });
  }
}
