import generatedRoot from '@opentelemetry/otlp-transformer/build/src/generated/root.js';
import { sdkTraceRequest, sdkTraceRequestJson } from '../ingest/otlp/sdk-fixtures.ts';
import { decodeTraceRequest } from '../ingest/otlp/traces.ts';
import { plainTraceRequestToEvents } from '../ingest/otlp/plain-traces.ts';
import { parseJson } from '../ingest/otlp/plain-common.ts';
import { isDeepStrictEqual } from 'node:util';
const T = (generatedRoot as any).opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
const bytes = sdkTraceRequest({ spans: 1000, seed: 3 });
console.log('bytes/span', bytes.length / 1000);
const a = decodeTraceRequest(bytes);
const b = plainTraceRequestToEvents(T.decode(bytes));
const c = plainTraceRequestToEvents(parseJson(sdkTraceRequestJson({ spans: 1000, seed: 3 })));
const strip = (x: any) => JSON.parse(JSON.stringify(x));
console.log(a.length, isDeepStrictEqual(strip(a), strip(b)), isDeepStrictEqual(strip(a), strip(c)));
console.log(a.slice(0, 3));
for (let i = 0; i < a.length; i++) if (!isDeepStrictEqual(strip(a[i]), strip(b[i])) || !isDeepStrictEqual(strip(a[i]), strip(c[i]))) { console.log('DIFF', i, a[i], b[i], c[i]); break; }
function bench(name: string, f: () => unknown, n: number) {
  for (let w = 0; w < 5; w++) f();
  const t0 = performance.now(); for (let i = 0; i < n; i++) f(); const dt = performance.now() - t0;
  console.log(name, Math.round(n * 1000 / (dt / 1000)), 'spans/s');
}
for (let k = 0; k < 2; k++) {
bench('hot', () => decodeTraceRequest(bytes), 200);
bench('ref', () => plainTraceRequestToEvents(T.decode(bytes)), 50);
bench('pbjs-only', () => T.decode(bytes), 100);
}
