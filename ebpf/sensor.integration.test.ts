/**
 * The live sensor against real servers and clients on loopback (needs root and BPF: CI runs as
 * root after `bash ebpf/install-deps.sh`; the loader is built here with `make -C ebpf` if missing).
 * Servers and clients are child processes: the sensor never captures its own process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { DEFAULT_LOADER, Sensor } from './agent/sensor.ts';
import type { PixieHttpEvent, ProcessInfo } from './agent/records.ts';

const run = promisify(execFile);
const here = resolve(import.meta.dirname);
const testdata = join(here, 'testdata');

/** Whether BPF works here; the reason when it does not. */
function bpfAvailability(): { ok: boolean; reason?: string } {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not root' };
  if (!existsSync('/sys/kernel/btf/vmlinux')) return { ok: false, reason: 'kernel has no BTF' };
  try {
    if (!existsSync(DEFAULT_LOADER)) execFileSync('make', ['-C', here], { stdio: 'pipe' });
  } catch (e) {
    return { ok: false, reason: `make -C ebpf failed (run ebpf/install-deps.sh): ${String((e as { stderr?: Buffer }).stderr ?? e).slice(-400)}` };
  }
  try {
    execFileSync(DEFAULT_LOADER, ['--check'], { stdio: 'pipe' });
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: String((e as { stderr?: Buffer }).stderr ?? e).trim().slice(-400) };
  }
}

const availability = bpfAvailability();
if (!availability.ok) {
  // Loud on purpose: on the project's machines this must run.
  process.stderr.write(`\n\n*** SKIPPED: eBPF sensor integration tests: BPF unavailable: ${availability.reason} ***\n\n\n`);
}
const describeBpf = availability.ok ? describe : describe.skip;

const children: ChildProcess[] = [];

async function startServer(cmd: string, args: string[]): Promise<{ port: number; proc: ChildProcess }> {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  const port = await new Promise<number>((resolvePort, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) resolvePort(Number(m[1]));
    });
    proc.once('exit', (code) => reject(new Error(`${cmd} exited with ${code}`)));
    setTimeout(() => reject(new Error(`${cmd} did not start`)), 15_000);
  });
  return { port, proc };
}

const curl = (...args: string[]) => run('curl', ['-s', '-S', '--max-time', '10', ...args]);
const nodeClient = (...args: string[]) => run(process.execPath, [join(testdata, 'node-client.mjs'), ...args], { timeout: 20_000 });
const settle = () => new Promise((r) => setTimeout(r, 1200)); // the loader batches for up to 100 ms; give it time

/**
 * The row of one exchange; `program` is the process's comm or its executable's name (Node 24 names its main thread
 * `MainThread`, which becomes the comm; python3 runs as python3.11).
 */
function find(rows: PixieHttpEvent[], role: number, method: string, path: string, program?: string): PixieHttpEvent | undefined {
  const isProgram = (r: PixieHttpEvent) => r.px_info?.comm === program || r.px_info?.executable?.split('/').pop() === program;
  return rows.find((r) => r.trace_role === role && r.req_method === method && r.req_path === path && (!program || isProgram(r)));
}

// Secrets that must never leave the node, and what must still arrive around them.
const SECRETS = {
  jwt: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
  awsKey: 'AKIAIOSFODNN7EXAMPLE',
  awsSecret: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  card1: '4111 1111 1111 1111',
  card2: '5500-0000-0000-0004',
  card3: '4012888888881881',
  jsonPassword: 'S3cr3t-Pa55w0rd!',
  formPassword: 'Form-Secret-123',
  queryKey: 'QueryKey-987654321',
  bearer: 'tok_live_ABCDEF1234567890abcd',
  cookie: 'CookieSecretValue42',
  github: 'ghp_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789',
  stripe: 'sk_live_51HxYzAbCdEfGhIjKlMnOpQr',
  google: 'AIzaSyA-1234567890abcdefghijklmnopqrstu',
  slack: 'xoxb-1234567890-abcdefghijkl',
  apiKeyHeader: 'HeaderApiKey-55555',
  customHeader: 'CustomHeaderValue-777',
};
const VISIBLE = ['alice-visible', 'bob-visible', 'hello-visible', 'note-visible', '/secrets/submit', 'page=2'];

describeBpf('eBPF sensor (live, pixie output)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'peregrine-sensor-'));
  const pixieFile = join(dir, 'http_events.jsonl');
  const rows: PixieHttpEvent[] = [];
  const execs: ProcessInfo[] = [];
  let sensor: Sensor;
  let nodePort = 0, pyPort = 0, tlsPort = 0;

  beforeAll(async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'pipe' });
    [nodePort, pyPort, tlsPort] = (await Promise.all([
      startServer(process.execPath, [join(testdata, 'node-server.mjs')]),
      startServer('python3', ['-u', join(testdata, 'py-server.py')]),
      startServer(process.execPath, [join(testdata, 'node-server.mjs'), '--cert', join(dir, 'cert.pem'), '--key', join(dir, 'key.pem')]),
    ])).map((s) => s.port);

    sensor = new Sensor({
      output: { kind: 'pixie', file: pixieFile },
      redaction: { headers: ['x-custom-sensitive'], fields: [] },
      onRow: (row) => rows.push(row),
      onExec: (proc) => execs.push(proc),
    });
    await sensor.start();

    const n = `http://127.0.0.1:${nodePort}`;
    const p = `http://127.0.0.1:${pyPort}`;
    // curl: one invocation, several URLs: keep-alive on one connection.
    await curl('-o', '/dev/null', '-o', '/dev/null', '-o', '/dev/null', `${n}/items?q=curl-query&page=1`, `${n}/missing`, `${n}/boom`);
    await curl('-o', '/dev/null', '-X', 'POST', '-H', 'content-type: application/json', '--data', '{"item":"widget","qty":3}', `${n}/echo`);
    await curl('-o', '/dev/null', '-X', 'POST', '--data', 'color=blue&size=large', `${n}/echo`);
    await curl('-o', '/dev/null', `${n}/chunked`);
    await curl('-o', '/dev/null', '-o', '/dev/null', `${p}/py/hello?name=ada`, `${p}/py/missing`);
    await curl('-o', '/dev/null', '--data', 'field=python-form-value', `${p}/py/form`);
    await curl('-o', '/dev/null', '-k', '-H', 'content-type: application/json', '--data', '{"tls":"plaintext-visible-over-tls"}', `https://127.0.0.1:${tlsPort}/echo`);
    // Node fetch (keep-alive pool) against both servers.
    await nodeClient('fetch', n, JSON.stringify([
      ['GET', '/items?q=fetch-query'],
      ['POST', '/echo', '{"from":"fetch-json"}', 'application/json'],
      ['GET', '/boom'],
    ]));
    await nodeClient('fetch', p, JSON.stringify([['GET', '/py/hello?name=fetch'], ['POST', '/py/form', 'k=fetch-form', 'application/x-www-form-urlencoded']]));
    await nodeClient('pipeline', String(nodePort), '/items?q=pipe-1', '/items?q=pipe-2', '/missing');
    // The secrets corpus, in headers, query strings and bodies (echoed back in the responses).
    const secretJson = JSON.stringify({
      username: 'alice-visible', password: SECRETS.jsonPassword, card: SECRETS.card1, note: `token ${SECRETS.jwt}`,
      aws_secret_access_key: SECRETS.awsSecret, nested: { cc: SECRETS.card3, keyId: SECRETS.awsKey, gh: SECRETS.github },
    });
    await curl('-o', '/dev/null', '-H', 'content-type: application/json', '-H', `Authorization: Bearer ${SECRETS.bearer}`,
      '-H', `Cookie: session=${SECRETS.cookie}`, '-H', `X-Api-Key: ${SECRETS.apiKeyHeader}`, '-H', `X-Custom-Sensitive: ${SECRETS.customHeader}`,
      '--data', secretJson, `${n}/secrets/submit?api_key=${SECRETS.queryKey}&page=2`);
    await curl('-o', '/dev/null', '--data',
      `user=bob-visible&passwd=${SECRETS.formPassword}&note=hello-visible&pay=${encodeURIComponent(SECRETS.card2)}&k=${SECRETS.stripe}`,
      `${n}/secrets/submit?google=${SECRETS.google}`);
    await curl('-o', '/dev/null', '-H', 'content-type: text/plain', '--data',
      `note-visible slack=${SECRETS.slack} jwt=${SECRETS.jwt} card ${SECRETS.card3}`, `${p}/py/form`);
    await settle();
    await sensor.stop();
  }, 120_000);

  afterAll(() => {
    for (const c of children) c.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('captures GET with query, 404 and 500 on a keep-alive curl connection, both sides', () => {
    const get = find(rows, 2, 'GET', '/items?q=curl-query&page=1', 'node');
    expect(get?.resp_status).toBe(200);
    expect(get?.resp_body).toContain('items-response-marker');
    expect(get?.latency).toBeGreaterThan(0);
    expect(get?.local_port).toBe(nodePort);
    expect(get?.remote_addr).toBe('127.0.0.1');
    expect(find(rows, 2, 'GET', '/missing', 'node')?.resp_status).toBe(404);
    expect(find(rows, 2, 'GET', '/boom', 'node')?.resp_body).toBe('internal failure marker');
    const client = find(rows, 1, 'GET', '/items?q=curl-query&page=1', 'curl');
    expect(client?.resp_status).toBe(200);
    expect(client?.remote_port).toBe(nodePort);
    expect(client?.latency).toBeGreaterThan(0);
    expect(find(rows, 1, 'GET', '/boom', 'curl')?.resp_status).toBe(500);
  });

  it('captures POST bodies (JSON and form) with their true sizes', () => {
    const json = rows.find((r) => r.trace_role === 2 && r.req_path === '/echo' && r.req_body.includes('widget'));
    expect(json?.req_method).toBe('POST');
    expect(json?.resp_status).toBe(201);
    expect(JSON.parse(json!.req_body)).toEqual({ item: 'widget', qty: 3 });
    expect(json?.req_body_size).toBe('{"item":"widget","qty":3}'.length);
    const form = rows.find((r) => r.trace_role === 2 && r.req_path === '/echo' && r.req_body.startsWith('color=blue'));
    expect(form?.req_body).toBe('color=blue&size=large');
    expect(form?.resp_body).toBe('color=blue&size=large');
  });

  it('reassembles a chunked response', () => {
    const row = find(rows, 1, 'GET', '/chunked', 'curl');
    expect(row?.resp_body).toBe('chunk-one;chunk-two;chunk-three');
    expect(row?.resp_body_size).toBe(31);
    expect(JSON.parse(row!.resp_headers)['Transfer-Encoding']).toBe('chunked');
  });

  it('captures the Python http.server side', () => {
    const hello = find(rows, 2, 'GET', '/py/hello?name=ada', 'python3');
    expect(hello?.resp_status).toBe(200);
    expect(hello?.resp_body).toBe('hello ada from python');
    expect(find(rows, 2, 'GET', '/py/missing', 'python3')?.resp_status).toBe(404);
    const form = find(rows, 2, 'POST', '/py/form', 'python3');
    expect(form?.req_body).toBe('field=python-form-value');
    expect(form?.latency).toBeGreaterThan(0);
  });

  it('captures Node fetch clients (keep-alive) on both servers', () => {
    expect(find(rows, 1, 'GET', '/items?q=fetch-query', 'node')?.resp_status).toBe(200);
    const post = find(rows, 1, 'POST', '/echo', 'node');
    expect(post?.req_body).toBe('{"from":"fetch-json"}');
    expect(find(rows, 2, 'GET', '/items?q=fetch-query', 'node')?.resp_status).toBe(200);
    expect(find(rows, 1, 'GET', '/boom', 'node')?.resp_status).toBe(500);
    expect(find(rows, 2, 'GET', '/py/hello?name=fetch', 'python3')?.resp_body).toBe('hello fetch from python');
    expect(find(rows, 1, 'POST', '/py/form', 'node')?.req_body).toBe('k=fetch-form');
  });

  it('pairs pipelined requests with their responses in order', () => {
    expect(find(rows, 2, 'GET', '/items?q=pipe-1', 'node')?.resp_body).toContain('"q":"pipe-1"');
    expect(find(rows, 2, 'GET', '/items?q=pipe-2', 'node')?.resp_body).toContain('"q":"pipe-2"');
    const missing = rows.filter((r) => r.trace_role === 2 && r.req_path === '/missing');
    expect(missing.length).toBeGreaterThanOrEqual(2);
  });

  it('captures HTTPS through OpenSSL in plaintext (curl via libssl, the Node server via its own OpenSSL)', () => {
    const server = rows.find((r) => r.trace_role === 2 && r.px_info?.tls && r.req_path === '/echo');
    expect(server?.px_info?.executable?.split('/').pop()).toBe('node');
    expect(server?.req_body).toBe('{"tls":"plaintext-visible-over-tls"}');
    expect(server?.resp_status).toBe(201);
    expect(server?.local_port).toBe(tlsPort);
    const client = rows.find((r) => r.trace_role === 1 && r.px_info?.tls && r.req_path === '/echo');
    expect(client?.px_info?.comm).toBe('curl');
    expect(client?.resp_body).toBe('{"tls":"plaintext-visible-over-tls"}');
  });

  it('captures process execs with their arguments', () => {
    const exec = execs.find((e) => e.executable?.endsWith('/curl') && e.args?.some((a) => a.includes('/py/hello?name=ada')));
    expect(exec).toBeDefined();
    expect(exec!.ppid).toBe(process.pid);
    expect(exec!.uid).toBe(0);
  });

  it('never exports a secret of the corpus, and keeps what is not secret', () => {
    const output = readFileSync(pixieFile, 'utf8');
    expect(output.length).toBeGreaterThan(1000);
    if (process.env.DEBUG_SENSOR) process.stderr.write(`ROWS ${JSON.stringify(rows.filter((r) => r.req_path.includes('/py/form') || r.req_path.includes('secrets')))}\n`);
    const secretRows = rows.filter((r) => r.req_path.startsWith('/secrets/submit') || r.req_body.includes('note-visible'));
    expect(secretRows.length).toBeGreaterThanOrEqual(6); // three requests, each seen by client and server
    for (const [name, secret] of Object.entries(SECRETS)) {
      expect(output.includes(secret), `${name} leaked`).toBe(false);
      expect(output.includes(encodeURIComponent(secret)), `${name} leaked (url-encoded)`).toBe(false);
      expect(output.includes(JSON.stringify(secret).slice(1, -1)), `${name} leaked (JSON-escaped)`).toBe(false);
    }
    for (const digits of ['4111111111111111', '5500000000000004']) expect(output.includes(digits)).toBe(false);
    for (const visible of VISIBLE) expect(output.includes(visible), `${visible} missing`).toBe(true);
    const json = secretRows.find((r) => r.trace_role === 2 && r.req_body.startsWith('{'));
    const body = JSON.parse(json!.req_body);
    expect(body.username).toBe('alice-visible');
    expect(body.password).toBe('[REDACTED:field]');
    expect(JSON.parse(json!.req_headers).Authorization).toBe('[REDACTED:header]');
  });

  it('reads every record cleanly: no ring-buffer drops, nothing unparseable among these exchanges', () => {
    expect(sensor.stats.loader?.ringbufDrops).toBe(0);
    expect(sensor.stats.exchanges).toBeGreaterThanOrEqual(40);
    expect(sensor.stats.pixieRows).toBe(readFileSync(pixieFile, 'utf8').trim().split('\n').length);
  });
});

describeBpf('eBPF sensor (live, OTLP output over TLS with a bearer token)', () => {
  const require = createRequire(import.meta.url);
  const root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js');
  const received: { traces: unknown[]; metrics: unknown[]; logs: Buffer[]; unauthorized: number } = { traces: [], metrics: [], logs: [], unauthorized: 0 };
  const exportToken = 'sensor-export-token-5b1f';
  const dir = mkdtempSync(join(tmpdir(), 'peregrine-sensor-otlp-'));
  let receiver: Server;
  let sensor: Sensor;
  let port = 0;

  beforeAll(async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'pipe' });
    // A local OTLP/HTTPS endpoint that wants the token and decodes what it gets (in this process: the sensor never sees it).
    receiver = createHttpsServer({ cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) }, (req, res) => {
      if (req.headers.authorization !== `Bearer ${exportToken}`) {
        received.unauthorized++;
        res.writeHead(401).end();
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if (req.url === '/v1/traces') received.traces.push(root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest.decode(body).toJSON());
        if (req.url === '/v1/metrics') received.metrics.push(root.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest.decode(body).toJSON());
        if (req.url === '/v1/logs') received.logs.push(body);
        res.writeHead(200, { 'content-type': 'application/x-protobuf' });
        res.end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const address = receiver.address();
    const receiverPort = typeof address === 'object' && address ? address.port : 0;
    port = (await startServer(process.execPath, [join(testdata, 'node-server.mjs')])).port;
    sensor = new Sensor({
      output: { kind: 'otlp', endpoint: `https://127.0.0.1:${receiverPort}`, headers: { authorization: `Bearer ${exportToken}` }, ca: readFileSync(join(dir, 'cert.pem'), 'utf8') },
      tlsTargets: [],
    });
    await sensor.start();
    await curl('-o', '/dev/null', '-H', `Authorization: Bearer ${SECRETS.bearer}`, '-H', 'traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      `http://127.0.0.1:${port}/items?q=otlp-query&api_key=${SECRETS.queryKey}`);
    await settle();
    await sensor.stop();
  }, 60_000);

  afterAll(async () => {
    // This block's own server too (the first block's clean-up ran before it started).
    for (const c of children) c.kill('SIGTERM');
    await new Promise<void>((r) => receiver.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('exports over TLS to the CA it was given, with its token on every request', () => {
    expect(received.traces.length).toBeGreaterThan(0);
    expect(received.metrics.length).toBeGreaterThan(0);
    expect(received.unauthorized).toBe(0);
  });

  it('exports a server span with HTTP semantic conventions, joined to the caller\'s trace', () => {
    const text = JSON.stringify(received.traces);
    if (process.env.DEBUG_SENSOR) process.stderr.write(`TRACES ${text}\n`);
    expect(text.includes(SECRETS.bearer)).toBe(false);
    expect(text.includes(SECRETS.queryKey)).toBe(false);
    type Kv = { key: string; value: { stringValue?: string; intValue?: string } };
    type Span = { name: string; kind: string; traceId: string; parentSpanId?: string; attributes: Kv[]; startTimeUnixNano: string; endTimeUnixNano: string };
    const spans: Array<{ span: Span; resource: Kv[] }> = [];
    for (const req of received.traces as Array<{ resourceSpans: Array<{ resource: { attributes: Kv[] }; scopeSpans: Array<{ spans: Span[] }> }> }>) {
      for (const rs of req.resourceSpans) for (const ss of rs.scopeSpans) for (const span of ss.spans) spans.push({ span, resource: rs.resource.attributes });
    }
    const server = spans.find(({ span }) => span.kind === 'SPAN_KIND_SERVER' && span.attributes.some((a) => a.key === 'url.query' && a.value.stringValue?.includes('otlp-query')));
    expect(server).toBeDefined();
    const attr = (k: string) => server!.span.attributes.find((a) => a.key === k)?.value;
    expect(server!.span.name).toBe('GET /items');
    expect(attr('http.request.method')?.stringValue).toBe('GET');
    expect(attr('url.path')?.stringValue).toBe('/items');
    expect(String(attr('http.response.status_code')?.intValue)).toBe('200');
    expect(String(attr('server.port')?.intValue)).toBe(String(port));
    expect(attr('http.response.body')?.stringValue).toContain('items-response-marker');
    // traceparent: same trace, the caller's span as parent (ids are base64 in protobuf JSON)
    expect(Buffer.from(server!.span.traceId, 'base64').toString('hex')).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(Buffer.from(server!.span.parentSpanId!, 'base64').toString('hex')).toBe('b7ad6b7169203331');
    expect(BigInt(server!.span.endTimeUnixNano)).toBeGreaterThan(BigInt(server!.span.startTimeUnixNano));
    expect(server!.resource.find((a) => a.key === 'service.name')?.value.stringValue).toBe('node');
  });

  it('exports sensor metrics including ring-buffer drops, and exec/connection logs', () => {
    const text = JSON.stringify(received.metrics);
    expect(text).toContain('peregrine.sensor.ringbuf.drops');
    expect(text).toContain('network.connections.opened');
    const logs = Buffer.concat(received.logs);
    expect(logs.length).toBeGreaterThan(0);
    // The exec of the curl above is among the log records, its arguments redacted.
    expect(logs.includes(Buffer.from('process.exec'))).toBe(true);
    expect(logs.includes(Buffer.from('otlp-query'))).toBe(true);
    expect(logs.includes(Buffer.from(SECRETS.bearer))).toBe(false);
    expect(logs.includes(Buffer.from(SECRETS.queryKey))).toBe(false);
  });
});

describeBpf('eBPF sensor where BPF is not possible', () => {
  it('says what is missing and exits with code 3: no permission, loader not built', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'peregrine-nobody-'));
    const copy = join(dir, 'peregrine-sensor');
    execFileSync('install', ['-m', '755', DEFAULT_LOADER, copy]);
    execFileSync('chmod', ['755', dir]);
    const asNobody = await run('runuser', ['-u', 'nobody', '--', copy, '--check']).then(() => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => e);
    expect(asNobody.code).toBe(3);
    expect(asNobody.stderr).toMatch(/BPF unavailable: permission denied \(running as uid \d+\): run as root/);
    const cli = await run(process.execPath, [join(here, '..', 'bin', 'peregrine.js'), 'sensor', '--loader', join(dir, 'missing'), '--output', 'pixie', join(dir, 'x.jsonl')])
      .then(() => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => e);
    expect(cli.code).toBe(3);
    expect(cli.stderr).toContain("eBPF is not available here: the sensor's loader is not built");
    expect(cli.stderr).toContain('make -C ebpf');
    rmSync(dir, { recursive: true, force: true });
  });
});
