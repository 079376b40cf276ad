/**
 * Seeded random OTLP requests for differential tests and fuzzing, in a neutral form (ids and bytes
 * as Uint8Array, 64-bit integers as bigint) that converts to a protobufjs `fromObject` input or to
 * OTLP/JSON as the collector writes it.
 */
import { seededRandom } from './sdk-requests.ts';

type Neutral = unknown;
type Rng = () => number;

const int = (rng: Rng, n: number): number => Math.floor(rng() * n);
const pick = <T>(rng: Rng, items: readonly T[]): T => items[int(rng, items.length)];

const KEYS = [
  'http.request.method', 'http.method', 'url.path', 'url.query', 'http.target', 'url.full', 'http.url', 'http.route',
  'http.response.status_code', 'http.status_code', 'server.address', 'net.peer.name', 'net.host.name', 'http.host',
  'server.port', 'net.peer.port', 'net.host.port', 'client.address', 'net.sock.peer.addr', 'http.client_ip', 'net.peer.ip',
  'network.peer.address', 'rpc.system', 'rpc.service', 'rpc.method', 'rpc.grpc.status_code', 'db.system', 'db.system.name',
  'db.namespace', 'db.name', 'db.operation', 'db.statement', 'peer.service', 'user_agent.original', 'http.user_agent',
  'http.request.body.size', 'http.response_content_length', 'http.request.body', 'messaging.system',
  'custom.key', 'x', 'ünïcødé.key', 'a.very.long.attribute.key.that.goes.past.the.intern.table.limit.of.48.bytes',
];
const STRINGS = [
  '', 'GET', 'POST', 'grpc', 'postgresql', '/users/123/orders', '/a/b?c=d&e=f', 'http://svc:8080/x/9f1c2e3d4b5a?q=1#frag',
  'https://user@[2001:db8::1]:443/p', '200', '503', '10.1.2.3', 'héllo wörld', '日本語のテキスト', 'emoji 🚀🔥', 'a'.repeat(60),
  'SELECT * FROM t WHERE id = $1', '\u0000nul\u0000', 'line\nbreak', '-42', '1e3', 'kafka',
];

function randomBytes(rng: Rng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = int(rng, 256);
  return out;
}

function randomId(rng: Rng, size: number): Uint8Array {
  const r = rng();
  if (r < 0.05) return new Uint8Array(0);
  if (r < 0.1) return new Uint8Array(size);
  return randomBytes(rng, size);
}

function randomString(rng: Rng): string {
  if (rng() < 0.8) return pick(rng, STRINGS);
  let s = '';
  const n = int(rng, 70);
  for (let i = 0; i < n; i++) s += String.fromCodePoint(rng() < 0.85 ? 32 + int(rng, 95) : rng() < 0.5 ? 0xa0 + int(rng, 0x700) : 0x1f300 + int(rng, 200));
  return s;
}

function randomInt64(rng: Rng): bigint {
  const r = rng();
  if (r < 0.4) return BigInt(int(rng, 70000));
  if (r < 0.6) return -BigInt(int(rng, 1e9));
  if (r < 0.8) return BigInt.asIntN(64, (BigInt(int(rng, 2 ** 32)) << 32n) | BigInt(int(rng, 2 ** 32)));
  return BigInt(int(rng, 2 ** 53));
}

function randomDouble(rng: Rng): number {
  const r = rng();
  if (r < 0.05) return 0;
  if (r < 0.1) return -0.5;
  if (r < 0.12) return 1e300;
  return (rng() - 0.5) * 10 ** int(rng, 12);
}

function randomAnyValue(rng: Rng, depth: number): Neutral {
  const r = int(rng, depth > 2 ? 5 : 8);
  switch (r) {
    case 0: return { stringValue: randomString(rng) };
    case 1: return { boolValue: rng() < 0.5 };
    case 2: return { intValue: randomInt64(rng) };
    case 3: return { doubleValue: randomDouble(rng) };
    case 4: return { bytesValue: randomBytes(rng, int(rng, 20)) };
    case 5: return { arrayValue: { values: Array.from({ length: int(rng, 4) }, () => randomAnyValue(rng, depth + 1)) } };
    case 6: return { kvlistValue: { values: Array.from({ length: int(rng, 4) }, () => ({ key: pick(rng, KEYS), value: randomAnyValue(rng, depth + 1) })) } };
    default: return {};
  }
}

function randomAttributes(rng: Rng, n: number): Neutral[] {
  return Array.from({ length: int(rng, n) }, () => {
    const key = rng() < 0.03 ? '' : pick(rng, KEYS);
    // Semantic-convention keys usually carry the type they should; sometimes not.
    if (rng() < 0.7) {
      if (/port|status|size|length/.test(key)) return { key, value: { intValue: BigInt(int(rng, 70000)) } };
      return { key, value: { stringValue: randomString(rng) } };
    }
    return rng() < 0.05 ? { key } : { key, value: randomAnyValue(rng, 0) };
  });
}

function randomNanos(rng: Rng): bigint {
  const r = rng();
  if (r < 0.05) return 0n;
  if (r < 0.08) return 0xffffffffffffffffn;
  return 1_764_547_200_000_000_000n + BigInt(int(rng, 2 ** 40));
}

function randomResource(rng: Rng): Neutral {
  if (rng() < 0.1) return undefined;
  const attributes = randomAttributes(rng, 5);
  if (rng() < 0.8) attributes.push({ key: 'service.name', value: { stringValue: pick(rng, ['cart', 'frontend', 'ünï', '']) } });
  return { attributes, droppedAttributesCount: int(rng, 3) };
}

const scope = (rng: Rng): Neutral => (rng() < 0.5 ? { name: pick(rng, ['io.opentelemetry.http', 'pixie', '']), version: '1.0' } : undefined);

export function randomTraceRequest(seed: number): Neutral {
  const rng = seededRandom(seed);
  return {
    resourceSpans: Array.from({ length: 1 + int(rng, 3) }, () => ({
      resource: randomResource(rng),
      schemaUrl: rng() < 0.3 ? 'https://opentelemetry.io/schemas/1.26.0' : '',
      scopeSpans: Array.from({ length: int(rng, 3) + 1 }, () => ({
        scope: scope(rng),
        spans: Array.from({ length: int(rng, 6) }, () => {
          const start = randomNanos(rng);
          const end = rng() < 0.9 ? start + BigInt(int(rng, 2 ** 34)) : randomNanos(rng);
          return {
            traceId: randomId(rng, 16),
            spanId: randomId(rng, 8),
            parentSpanId: rng() < 0.5 ? randomId(rng, 8) : new Uint8Array(0),
            traceState: rng() < 0.2 ? 'vendor=x' : '',
            name: randomString(rng),
            kind: int(rng, 6),
            startTimeUnixNano: start,
            endTimeUnixNano: BigInt.asUintN(64, end),
            attributes: randomAttributes(rng, 14),
            droppedAttributesCount: int(rng, 2),
            events: rng() < 0.3 ? [{ timeUnixNano: randomNanos(rng), name: 'exception', attributes: randomAttributes(rng, 3) }] : [],
            links: rng() < 0.2 ? [{ traceId: randomId(rng, 16), spanId: randomId(rng, 8), attributes: [] }] : [],
            status: rng() < 0.7 ? { code: int(rng, 3), message: rng() < 0.5 ? randomString(rng) : '' } : undefined,
            flags: rng() < 0.5 ? 0x301 : 0,
          };
        }),
      })),
    })),
  };
}

function numberPoint(rng: Rng, t: bigint): Neutral {
  const base = { attributes: randomAttributes(rng, 3), startTimeUnixNano: t - 1_000_000_000n, timeUnixNano: t, flags: rng() < 0.1 ? 1 : 0 };
  return rng() < 0.5 ? { ...base, asInt: randomInt64(rng) } : { ...base, asDouble: randomDouble(rng) };
}

export function randomMetricsRequest(seed: number): Neutral {
  const rng = seededRandom(seed);
  const t = () => 1_764_547_200_000_000_000n + BigInt(int(rng, 2 ** 36));
  const count = () => BigInt(int(rng, 1000));
  const metric = (): Neutral => {
    const base = { name: pick(rng, ['http.server.duration', 'requests', 'queue.size', 'ünï']), unit: pick(rng, ['', 'ms', 's', 'By']), description: 'd' };
    const points = int(rng, 4);
    const temporality = int(rng, 3);
    switch (int(rng, 5)) {
      case 0:
        return { ...base, gauge: { dataPoints: Array.from({ length: points }, () => numberPoint(rng, t())) } };
      case 1:
        return { ...base, sum: { aggregationTemporality: temporality, isMonotonic: rng() < 0.5, dataPoints: Array.from({ length: points }, () => numberPoint(rng, t())) } };
      case 2:
        return {
          ...base,
          histogram: {
            aggregationTemporality: temporality,
            dataPoints: Array.from({ length: points }, () => {
              const bounds = [0.005, 0.05, 0.5, 5].slice(0, int(rng, 5));
              return {
                attributes: randomAttributes(rng, 3), startTimeUnixNano: t(), timeUnixNano: t(), count: count(),
                ...(rng() < 0.7 ? { sum: randomDouble(rng) } : {}), ...(rng() < 0.5 ? { min: 0.001, max: randomDouble(rng) } : {}),
                bucketCounts: Array.from({ length: bounds.length + 1 }, () => count()), explicitBounds: bounds, flags: rng() < 0.1 ? 1 : 0,
              };
            }),
          },
        };
      case 3:
        return {
          ...base,
          exponentialHistogram: {
            aggregationTemporality: temporality,
            dataPoints: Array.from({ length: points }, () => ({
              attributes: randomAttributes(rng, 3), startTimeUnixNano: t(), timeUnixNano: t(), count: count(),
              ...(rng() < 0.7 ? { sum: randomDouble(rng) } : {}), scale: int(rng, 9) - 3, zeroCount: count(),
              positive: { offset: int(rng, 40) - 20, bucketCounts: Array.from({ length: int(rng, 6) }, () => count()) },
              negative: rng() < 0.5 ? { offset: -int(rng, 5), bucketCounts: Array.from({ length: int(rng, 3) }, () => count()) } : undefined,
              ...(rng() < 0.5 ? { min: -1, max: 1000 } : {}), zeroThreshold: 0,
            })),
          },
        };
      default:
        return {
          ...base,
          summary: {
            dataPoints: Array.from({ length: points }, () => ({
              attributes: randomAttributes(rng, 3), startTimeUnixNano: t(), timeUnixNano: t(), count: count(), sum: randomDouble(rng),
              quantileValues: [{ quantile: 0.5, value: randomDouble(rng) }, { quantile: 0.99, value: randomDouble(rng) }].slice(0, int(rng, 3)),
            })),
          },
        };
    }
  };
  return {
    resourceMetrics: Array.from({ length: 1 + int(rng, 2) }, () => ({
      resource: randomResource(rng),
      scopeMetrics: Array.from({ length: 1 + int(rng, 2) }, () => ({ scope: scope(rng), metrics: Array.from({ length: int(rng, 5) }, metric) })),
    })),
  };
}

export function randomLogsRequest(seed: number): Neutral {
  const rng = seededRandom(seed);
  return {
    resourceLogs: Array.from({ length: 1 + int(rng, 2) }, () => ({
      resource: randomResource(rng),
      scopeLogs: Array.from({ length: 1 + int(rng, 2) }, () => ({
        scope: scope(rng),
        logRecords: Array.from({ length: int(rng, 6) }, () => ({
          timeUnixNano: randomNanos(rng),
          observedTimeUnixNano: randomNanos(rng),
          severityNumber: int(rng, 25),
          severityText: pick(rng, ['', 'INFO', 'ERROR', 'warn']),
          body: rng() < 0.9 ? randomAnyValue(rng, 0) : undefined,
          attributes: randomAttributes(rng, 6),
          flags: rng() < 0.5 ? 1 : 0,
          traceId: randomId(rng, 16),
          spanId: randomId(rng, 8),
          eventName: rng() < 0.2 ? 'session.start' : '',
        })),
      })),
    })),
  };
}

const ID_KEYS = new Set(['traceId', 'spanId', 'parentSpanId']);

/** Neutral → protobufjs `fromObject` input: bigints as decimal strings, everything else as is. */
export function toProtobufjs(v: Neutral): any {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(toProtobufjs);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = toProtobufjs(x);
  return out;
}

/** Neutral → OTLP/JSON: ids as hex, other bytes as base64, 64-bit integers as strings. */
export function toJson(v: Neutral, key = ''): any {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  if (v instanceof Uint8Array) return Buffer.from(v).toString(ID_KEYS.has(key) ? 'hex' : 'base64');
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => toJson(x, key));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = toJson(x, k);
  return out;
}
