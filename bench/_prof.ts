import { sdkTraceRequest } from '../ingest/otlp/sdk-fixtures.ts';
import { decodeTraceRequest } from '../ingest/otlp/traces.ts';
const bytes = sdkTraceRequest({ spans: 1000, seed: 3 });
for (let w = 0; w < 50; w++) decodeTraceRequest(bytes);
const c0 = process.cpuUsage(); const t0 = performance.now(); let n = 0;
while (performance.now() - t0 < 3000) { n += decodeTraceRequest(bytes).length; }
const c = process.cpuUsage(c0); const cpu = (c.user + c.system) / 1e6;
console.log(Math.round(n / ((performance.now() - t0) / 1000)), 'spans/wall-s', Math.round(n / cpu), 'spans/cpu-s');
