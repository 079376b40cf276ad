import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fetchJaegerTrace, isErrorSpan, tag } from '../core/jaeger.ts';
import { CATALOG_SERVICE, GET_PRODUCT } from './shop.ts';

const bin = fileURLToPath(new URL('../bin/peregrine.js', import.meta.url));

function runCli(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, PEREGRINE_LOG_FORMAT: 'json', PEREGRINE__METRICS__PORT: '0' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGINT'), timeoutMs);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

describe('peregrine demo --once on the real stack', () => {
  it('indexes the GetProduct finding whose example trace Jaeger returns with the failing span', async () => {
    const result = await runCli(['demo', '--once', '--normal-seconds', '35', '--failure-seconds', '25'], 280_000);
    expect(result.stdout, result.stderr.slice(-3000)).toMatch(/expected finding [0-9a-f]{40}/);
    expect(result.code).toBe(0);
    const traceId = /example trace ([0-9a-f]{32}): (\S+)/.exec(result.stdout)!;
    expect(traceId[2]).toBe(`http://127.0.0.1:16686/trace/${traceId[1]}`);
    // Check the link independently of the demo: Jaeger's query API has the failing span with the product id.
    const trace = await fetchJaegerTrace('http://127.0.0.1:16686', traceId[1]!);
    const failing = trace!.spans.find((s) => s.operationName === GET_PRODUCT && trace!.processes[s.processID]?.serviceName === CATALOG_SERVICE && isErrorSpan(s));
    expect(failing).toBeDefined();
    expect(tag(failing!, 'app.product.id')).toBe('OLJCESPC7Z');
    expect(result.stdout).toMatch(/FINDING risk=\d+ Error ratio spike: productcatalogservice/);
  }, 300_000);
});
