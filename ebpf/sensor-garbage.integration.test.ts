/**
 * Bad input on live sockets: binary protocols, truncated and malformed HTTP, HTTP/2, a huge header,
 * a 1 GiB body and a connection that never finishes. The agent must keep running, count what it
 * dropped, stay within its memory bounds, and still capture the normal request that follows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_LOADER, Sensor } from './agent/sensor.ts';
import type { PixieHttpEvent } from './agent/records.ts';

const run = promisify(execFile);
const here = resolve(import.meta.dirname);
const testdata = join(here, 'testdata');

function bpfReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  try {
    if (!existsSync(DEFAULT_LOADER)) execFileSync('make', ['-C', here], { stdio: 'pipe' });
    execFileSync(DEFAULT_LOADER, ['--check'], { stdio: 'pipe' });
    return undefined;
  } catch (e) {
    return String((e as { stderr?: Buffer }).stderr ?? e).trim().slice(-400);
  }
}
const reason = bpfReason();
if (reason) process.stderr.write(`\n\n*** SKIPPED: eBPF sensor bad-input tests: BPF unavailable: ${reason} ***\n\n\n`);
const describeBpf = reason ? describe.skip : describe;

const client = (...args: string[]) => run(process.execPath, [join(testdata, 'node-client.mjs'), ...args], { timeout: 120_000 });

describeBpf('eBPF sensor under bad input (live)', () => {
  const rows: PixieHttpEvent[] = [];
  let server: ChildProcess;
  let port = 0;
  let sensor: Sensor;
  let heapBefore = 0;
  let heapPeak = 0;
  let trackedAtIdle = 0;

  beforeAll(async () => {
    server = spawn(process.execPath, [join(testdata, 'node-server.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
    port = await new Promise<number>((r) => server.stdout!.on('data', (d: Buffer) => {
      const m = /listening (\d+)/.exec(d.toString());
      if (m) r(Number(m[1]));
    }));
    sensor = new Sensor({ output: { kind: 'pixie', file: '/dev/null' }, tlsTargets: [], idleTimeoutMs: 1500, onRow: (r) => rows.push(r) });
    await sensor.start();
    global.gc?.();
    heapBefore = process.memoryUsage().heapUsed;
    const sample = setInterval(() => { heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed); }, 50);

    for (const kind of ['binary', 'truncated', 'malformed', 'http2', 'hugeheader']) await client('garbage', String(port), kind);
    const idle = client('idle', String(port), '4000');
    // The engine reports its connection table with the loader's stats, once a second.
    for (const deadline = Date.now() + 3500; Date.now() < deadline && trackedAtIdle === 0; ) {
      await new Promise((r) => setTimeout(r, 100));
      trackedAtIdle = sensor.tracker.size;
    }
    await client('upload', String(port), String(1024 * 1024 * 1024));
    await idle;
    await run('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${port}/items?q=after-garbage`]);
    await new Promise((r) => setTimeout(r, 2500)); // past the idle timeout: the expiry pass runs every second
    clearInterval(sample);
    await sensor.stop();
  }, 180_000);

  afterAll(() => {
    server?.kill('SIGTERM');
  });

  it('survives, and still captures a normal request afterwards', () => {
    expect(rows.some((r) => r.req_path === '/items?q=after-garbage' && r.resp_status === 200 && r.trace_role === 2)).toBe(true);
  });

  it('counts what it could not parse instead of reporting it', () => {
    const c = sensor.stats.tracker;
    expect(c.http2Connections).toBeGreaterThanOrEqual(1);
    expect(c.unparseable + c.nonHttpConnections).toBeGreaterThanOrEqual(3);
    expect(rows.some((r) => r.req_path === '/bad' || r.req_path === '/huge')).toBe(false);
  });

  it('counts the 1 GiB upload by size without buffering it', () => {
    const upload = rows.find((r) => r.req_path === '/upload' && r.trace_role === 2);
    if (!upload) process.stderr.write(`upload not captured: ${JSON.stringify({ loader: sensor.stats.loader, tracker: sensor.stats.tracker, rows: rows.map((r) => r.req_path) })}\n`);
    expect(upload?.req_body_size).toBe(1024 * 1024 * 1024);
    // The excerpt is what the kernel copied of the first chunk after the headers, up to the gap.
    expect(upload!.req_body.length).toBeGreaterThan(3000);
    expect(upload!.req_body.length).toBeLessThanOrEqual(4096);
    expect(/^b+$/.test(upload!.req_body)).toBe(true);
    expect(upload?.resp_body).toBe(`received ${1024 * 1024 * 1024} bytes`);
    // The whole run (1 GiB through the sensor) moved the heap by far less than the body.
    expect(heapPeak - heapBefore).toBeLessThan(128 * 1024 * 1024);
  });

  it('expires a connection that never finishes its request', () => {
    expect(trackedAtIdle).toBeGreaterThan(0);
    expect(sensor.stats.tracker.expiredConnections + sensor.stats.tracker.unansweredRequests).toBeGreaterThanOrEqual(1);
    expect(sensor.stats.loader?.ringbufDrops ?? 0).toBeGreaterThanOrEqual(0);
  });
});
