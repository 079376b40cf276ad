import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, propagation, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

/**
 * A small simulated shop, instrumented with the real OpenTelemetry JS SDK: a frontend HTTP service calls the product
 * catalog's GetProduct over HTTP with W3C trace context. Like the OpenTelemetry demo's `productCatalogFailure` flag,
 * `failProduct` makes GetProduct fail for one product id.
 */
export const PRODUCTS = ['OLJCESPC7Z', '66VCHSJNUP', '1YMWWN1N4O', 'L9ECAV7KIM', '2ZYFJ3GM2N'];
export const GET_PRODUCT = 'oteldemo.ProductCatalogService/GetProduct';
export const FRONTEND_SERVICE = 'frontend';
export const CATALOG_SERVICE = 'productcatalogservice';

export interface ShopOptions {
  /** OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces. */
  otlpTracesUrl: string;
}

export interface Shop {
  frontendUrl: string;
  /** The product id GetProduct fails for, or undefined for none (the feature flag). */
  failProduct: string | undefined;
  /** One shopper request; resolves with the HTTP status the shopper saw. */
  request(productId: string): Promise<number>;
  flush(): Promise<void>;
  close(): Promise<void>;
}

let contextReady = false;
function ensureContext(): void {
  if (contextReady) return;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  contextReady = true;
}

function provider(service: string, url: string): BasicTracerProvider {
  return new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'service.namespace': 'shop', 'deployment.environment.name': 'demo' }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }), { scheduledDelayMillis: 500, maxExportBatchSize: 512 })],
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function serve(tracer: Tracer, name: string, attributes: Record<string, string>, handler: (url: URL) => Promise<{ status: number; body: string; error?: string; grpcStatus?: number; extra?: Record<string, string> }>): Server {
  return createServer((req, res) => {
    const parent = propagation.extract(context.active(), req.headers);
    const url = new URL(req.url ?? '/', 'http://localhost');
    tracer.startActiveSpan(name, { kind: SpanKind.SERVER, attributes: { ...attributes, 'url.path': url.pathname, 'http.request.method': req.method ?? 'GET' } }, parent, async (span) => {
      try {
        const out = await handler(url);
        span.setAttributes({ 'http.response.status_code': out.status, ...(out.extra ?? {}) });
        if (out.grpcStatus !== undefined) span.setAttribute('rpc.grpc.status_code', out.grpcStatus);
        if (out.error) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: out.error });
          span.addEvent('exception', { 'exception.type': 'ProductCatalogError', 'exception.message': out.error });
        }
        res.writeHead(out.status, { 'content-type': 'application/json' }).end(out.body);
      } finally {
        span.end();
      }
    });
  });
}

export async function startShop(options: ShopOptions): Promise<Shop> {
  ensureContext();
  const frontendProvider = provider(FRONTEND_SERVICE, options.otlpTracesUrl);
  const catalogProvider = provider(CATALOG_SERVICE, options.otlpTracesUrl);
  const frontendTracer = frontendProvider.getTracer('shop-frontend');
  const catalogTracer = catalogProvider.getTracer('shop-productcatalog');
  const shop = { failProduct: undefined as string | undefined } as Shop;

  const catalog = serve(catalogTracer, GET_PRODUCT, { 'rpc.system': 'grpc', 'rpc.service': 'oteldemo.ProductCatalogService', 'rpc.method': 'GetProduct' }, async (url) => {
    const id = url.searchParams.get('id') ?? '';
    await new Promise((r) => setTimeout(r, 2 + Math.random() * 8));
    const extra = { 'app.product.id': id };
    if (id === shop.failProduct) {
      return { status: 500, body: '{"error":"internal"}', error: 'Error: Product Catalog Fail Feature Flag Enabled', grpcStatus: 13, extra };
    }
    if (!PRODUCTS.includes(id)) return { status: 404, body: '{"error":"not found"}', grpcStatus: 5, extra };
    return { status: 200, body: JSON.stringify({ id, name: `Product ${id}`, priceUsd: 12.5 }), grpcStatus: 0, extra };
  });
  const catalogUrl = await listen(catalog);

  const frontend = serve(frontendTracer, 'GET /api/products/{productId}', { 'http.route': '/api/products/{productId}' }, async (url) => {
    const id = url.pathname.split('/').at(-1) ?? '';
    const result = await frontendTracer.startActiveSpan(GET_PRODUCT, { kind: SpanKind.CLIENT, attributes: { 'rpc.system': 'grpc', 'rpc.service': 'oteldemo.ProductCatalogService', 'rpc.method': 'GetProduct', 'app.product.id': id, 'server.address': '127.0.0.1' } }, async (span) => {
      const headers: Record<string, string> = {};
      propagation.inject(context.active(), headers);
      try {
        const response = await fetch(`${catalogUrl}/GetProduct?id=${encodeURIComponent(id)}`, { headers });
        const body = await response.text();
        if (response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: `GetProduct failed: ${response.status}` });
        return { status: response.status, body };
      } finally {
        span.end();
      }
    });
    return result.status >= 500
      ? { status: 500, body: '{"error":"could not get product"}', error: 'could not get product', extra: { 'app.product.id': id } }
      : { status: result.status, body: result.body, extra: { 'app.product.id': id } };
  });
  shop.frontendUrl = await listen(frontend);

  shop.request = async (productId: string) => {
    const response = await fetch(`${shop.frontendUrl}/api/products/${productId}`);
    await response.arrayBuffer();
    return response.status;
  };
  shop.flush = async () => {
    await Promise.all([frontendProvider.forceFlush(), catalogProvider.forceFlush()]);
  };
  shop.close = async () => {
    await shop.flush();
    await Promise.all([frontendProvider.shutdown(), catalogProvider.shutdown()]);
    await Promise.all([catalog, frontend].map((s) => new Promise((r) => s.close(r))));
  };
  return shop;
}
