/**
 * The sensor against the real local stack: its spans go to the stack's OTLP front end (OTLP/HTTP on
 * 4318: Peregrine's receiver by default, the stock collector with `--frontend collector`), arrive on
 * Kafka `otlp_spans`, and the ingest decoder the features stage uses reads them as request events;
 * its exec and connection log records arrive on `otlp_logs` and normalize to exec and connection events.
 * Needs root + BPF and `peregrine stack up`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { DEFAULT_LOADER, Sensor } from './agent/sensor.ts';
import { createKafkaAdapter } from '../core/kafka/kafkajs.ts';
import { KafkaConfig } from '../core/config.ts';
import { createLogger } from '../core/log.ts';
import { TOPICS } from '../core/topics.ts';
import { decodeTraceRequest } from '../ingest/otlp/traces.ts';
import { decodeLogsRequest } from '../ingest/otlp/logs.ts';
import { activityEvents } from '../ingest/normalize/activity.ts';
import type { Consumer } from '../core/kafka/adapter.ts';
import type { ConnectionEvent, NormalizedEvent, ProcessExecEvent, RequestEvent } from '../core/events.ts';

const run = promisify(execFile);
const here = resolve(import.meta.dirname);
const FRONT_END = 'http://127.0.0.1:4318';

async function unavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'not root';
  try {
    if (!existsSync(DEFAULT_LOADER)) execFileSync('make', ['-C', here], { stdio: 'pipe' });
    execFileSync(DEFAULT_LOADER, ['--check'], { stdio: 'pipe' });
  } catch (e) {
    return `BPF unavailable: ${String((e as { stderr?: Buffer }).stderr ?? e).trim().slice(-300)}`;
  }
  try {
    // Any HTTP answer means an OTLP/HTTP receiver is listening.
    await fetch(`${FRONT_END}/v1/traces`, { method: 'GET', signal: AbortSignal.timeout(3000) });
  } catch {
    return `no OTLP receiver at ${FRONT_END} (run \`peregrine stack up\`)`;
  }
  return undefined;
}

const reason = await unavailable();
if (reason) process.stderr.write(`\n\n*** SKIPPED: eBPF sensor → otlp_spans test: ${reason} ***\n\n\n`);
const describeStack = reason ? describe.skip : describe;

describeStack('eBPF sensor → the stack\'s OTLP front end → Kafka otlp_spans → ingest decoder', () => {
  const log = createLogger({ level: 'warn' });
  const kafka = createKafkaAdapter(KafkaConfig.parse({}), log);
  const marker = `sensor-${randomUUID().slice(0, 8)}`;
  const events: RequestEvent[] = [];
  const activity: NormalizedEvent[] = [];
  let consumer: Consumer;
  let port = 0;
  let server: ChildProcess;

  beforeAll(async () => {
    const t0 = Date.now();
    const step = (what: string) => process.stderr.write(`sensor-stack: ${what} after ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    await kafka.checkReachable();
    let assigned!: () => void;
    const ready = new Promise<void>((r) => { assigned = r; });
    consumer = await kafka.consume({
      groupId: `peregrine-sensor-test-${marker}`,
      topics: [TOPICS.spans, TOPICS.logs],
      fromBeginning: false,
      onAssign: () => assigned(),
      onBatch: async (batch) => {
        for (const rec of batch.records) {
          try {
            if (rec.topic === TOPICS.logs) activity.push(...activityEvents(decodeLogsRequest(rec.value)));
            else events.push(...decodeTraceRequest(rec.value).filter((e) => e.query?.includes(marker) || e.path?.includes(marker)));
          } catch {
            // other producers' records are not this test's business
          }
        }
        const last = batch.records[batch.records.length - 1];
        if (last) await batch.commit((BigInt(last.offset) + 1n).toString());
      },
    });
    await ready;
    step('consumer assigned');
    await new Promise((r) => setTimeout(r, 2000)); // the group's start offsets are fixed once it has joined

    server = spawn(process.execPath, [join(here, 'testdata', 'node-server.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
    port = await new Promise<number>((r) => server.stdout!.on('data', (d: Buffer) => {
      const m = /listening (\d+)/.exec(d.toString());
      if (m) r(Number(m[1]));
    }));
    const sensor = new Sensor({ output: { kind: 'otlp', endpoint: FRONT_END }, tlsTargets: [] });
    await sensor.start();
    await run('curl', ['-s', '-o', '/dev/null', '-H', 'Authorization: Bearer tok_live_ABCDEF1234567890abcd',
      `http://127.0.0.1:${port}/items?q=${marker}&password=hunter2`]);
    await run('curl', ['-s', '-o', '/dev/null', '-H', 'content-type: application/json', '--data', `{"m":"${marker}","password":"hunter2"}`,
      `http://127.0.0.1:${port}/echo?m=${marker}`]);
    await run('/bin/sh', ['-c', `: ${marker}`]);
    await new Promise((r) => setTimeout(r, 1500));
    const stats = await sensor.stop();
    step(`sensor stopped, ${stats.exportedSpans} spans exported`);
    expect(stats.exportedSpans).toBeGreaterThanOrEqual(4);
    const deadline = Date.now() + 60_000;
    const execSeen = () => activity.some((e) => e.kind === 'exec' && e.binary.endsWith('sh') && e.args.join(' ').includes(marker));
    while (Date.now() < deadline && (events.length < 4 || !execSeen())) await new Promise((r) => setTimeout(r, 500));
    step(`${events.length} request events read back from ${TOPICS.spans}`);
  }, 400_000);

  afterAll(async () => {
    server?.kill('SIGTERM');
    await consumer?.stop();
    await kafka.close();
  });

  it('delivers server and client spans for each request, decoded as request events', () => {
    const get = events.filter((e) => e.path === '/items');
    expect(get.map((e) => e.spanKind).sort()).toEqual(['client', 'server']);
    const server = get.find((e) => e.spanKind === 'server')!;
    expect(server.method).toBe('GET');
    expect(server.httpStatus).toBe(200);
    expect(server.durationMs).toBeGreaterThan(0);
    expect(server.operation).toBe('GET /items');
    expect(server.service).toBe('node');
    const post = events.find((e) => e.path === '/echo' && e.spanKind === 'server');
    expect(post?.method).toBe('POST');
    expect(post?.httpStatus).toBe(201);
    expect(post?.requestBody).toContain(marker);
  });

  it('turns the exec and connection log records into exec and connection events', () => {
    const execs = activity.filter((e): e is ProcessExecEvent => e.kind === 'exec' && e.args.join(' ').includes(marker));
    expect(execs.map((e) => e.binary.split('/').pop()).sort()).toEqual(['curl', 'curl', 'sh']);
    const exec = execs.find((e) => e.binary.endsWith('sh'))!;
    expect(exec.args).toContain(`: ${marker}`);
    expect(exec.pid).toBeGreaterThan(0);
    expect(exec.uid).toBe(0);
    expect(exec.host).toBeTruthy();
    const conns = activity.filter((e): e is ConnectionEvent => e.kind === 'connection' && e.role === 'server' && e.localPort === port);
    expect(conns.map((c) => c.phase)).toEqual(expect.arrayContaining(['open', 'close']));
    const closed = conns.find((c) => c.phase === 'close')!;
    expect(closed.remoteAddress).toBe('127.0.0.1');
    expect(closed.bytesReceived).toBeGreaterThan(0);
    expect(closed.bytesSent).toBeGreaterThan(0);
  });

  it('carries no secret through the pipeline', () => {
    const text = JSON.stringify(events);
    if (text.includes('hunter2')) process.stderr.write(`LEAK ${text.slice(Math.max(0, text.indexOf('hunter2') - 400), text.indexOf('hunter2') + 100)}\n`);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('tok_live_ABCDEF1234567890abcd');
    expect(text).toContain('[REDACTED');
  });
});
