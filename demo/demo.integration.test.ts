import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fetchJaegerTrace, tag } from '../core/jaeger.ts';
import { failingGetProduct } from './run.ts';

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
  it('runs the live shop through the timeline and finds the failure, with its failing GetProduct trace in Jaeger', async () => {
    const result = await runCli(['demo', '--once', '--normal-seconds', '35', '--failure-seconds', '25'], 330_000);
    expect(result.stdout, result.stderr.slice(-3000)).toMatch(/expected finding [0-9a-f]{40}/);
    expect(result.code, result.stdout.slice(-3000)).toBe(0);
    // The timeline ran every event of the demo against the live shop.
    for (const kind of ['product_catalog_failure', 'credential_stuffing', 'sql_injection', 'scanning']) expect(result.stdout).toContain(`s ${kind} for `);
    expect(result.stdout).toMatch(/required product_catalog_failure: arrived, trace in Jaeger/);
    const trace = /example trace ([0-9a-f]{32}): (\S+)/.exec(result.stdout)!;
    expect(trace[2]).toBe(`http://127.0.0.1:16686/trace/${trace[1]}`);
    // Check the link independently of the demo: Jaeger's query API has the failing span with the product id.
    const jaeger = await fetchJaegerTrace('http://127.0.0.1:16686', trace[1]!);
    const failing = failingGetProduct(jaeger!);
    expect(failing).toBeDefined();
    expect(tag(failing!, 'app.product.id')).toBe('OLJCESPC7Z');
    // The live view showed the finding as it arrived.
    expect(result.stdout).toMatch(/risk=\d+ Error ratio spike .*operation:frontend:/);
  }, 360_000);
});
