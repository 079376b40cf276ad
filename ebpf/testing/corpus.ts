/**
 * HTTP conversations for the engine's differential tests and its fuzzing corpus: each is a script
 * of connection events and reads/writes, rendered into the loader's record stream (records.ts).
 * Mutations (fuzzing-style byte edits, splits, capture gaps, dropped and repeated chunks, unknown
 * roles) make thousands of variants from them.
 */
import { RecordWriter, type Side } from './records.ts';

export type Step =
  | { kind: 'open' | 'close'; preexisting?: boolean }
  | { kind: 'send'; from: 'client' | 'server'; bytes: Buffer; gap?: number; tls?: boolean; syscallToo?: boolean };

export interface Conversation {
  name: string;
  /** Role BPF reports for the two sides (0: unknown, a socket opened before the sensor). */
  clientRole?: number;
  serverRole?: number;
  steps: Step[];
}

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const u = (s: string): Buffer => Buffer.from(s, 'utf8');
const send = (from: 'client' | 'server', bytes: Buffer | string, extra: Partial<Extract<Step, { kind: 'send' }>> = {}): Step =>
  ({ kind: 'send', from, bytes: typeof bytes === 'string' ? b(bytes) : bytes, ...extra });
const chunked = (...parts: string[]): string => parts.map((p) => `${Buffer.byteLength(p, 'latin1').toString(16)}\r\n${p}\r\n`).join('') + '0\r\n\r\n';

const JWT = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
const SECRET_JSON = JSON.stringify({
  username: 'alice', password: 'S3cr3t-Pa55w0rd!', card: '4111 1111 1111 1111', note: `token ${JWT}`, n: 4111111111111111,
  nested: { cc: '4012888888881881', keyId: 'AKIAIOSFODNN7EXAMPLE', gh: 'ghp_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789', list: [1, 2.5, -0, 1e21, null, true] },
  '10': 'index key', '2': 'first', __proto__x: 'x', 'é': 'ü',
});
const ITEMS = (q: string): string => JSON.stringify({ ok: true, q, marker: 'items-response-marker' });
const NODE_OK = (body: string): string =>
  `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nDate: Tue, 01 Dec 2026 07:56:01 GMT\r\nConnection: keep-alive\r\nKeep-Alive: timeout=30\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(body)}`;
const CL = (status: string, body: string, headers = ''): string => `HTTP/1.1 ${status}\r\n${headers}Content-Length: ${Buffer.byteLength(body, 'latin1')}\r\n\r\n${body}`;
const POST = (path: string, type: string, body: string): string =>
  `POST ${path} HTTP/1.1\r\nContent-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body, 'latin1')}\r\n\r\n${body}`;

export const CONVERSATIONS: Conversation[] = [
  {
    name: 'node keep-alive GETs with chunked JSON answers',
    steps: [{ kind: 'open' },
      send('client', 'GET /items?q=load-1 HTTP/1.1\r\nHost: 127.0.0.1:18098\r\nConnection: keep-alive\r\n\r\n'), send('server', NODE_OK(ITEMS('load-1'))),
      send('client', 'GET /items?q=load-2 HTTP/1.1\r\nHost: 127.0.0.1:18098\r\nConnection: keep-alive\r\n\r\n'), send('server', NODE_OK(ITEMS('load-2'))),
      { kind: 'close' }],
  },
  {
    name: 'POST JSON with secrets, echoed; traceparent; user agent',
    steps: [{ kind: 'open' },
      send('client', `POST /secrets/submit?api_key=QueryKey-987654321&page=2 HTTP/1.1\r\nHost: shop:8080\r\nUser-Agent: curl/8.1\r\nAuthorization: Bearer tok_live_ABCDEF1234567890abcd\r\nCookie: session=CookieSecretValue42\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(SECRET_JSON)}\r\n\r\n${SECRET_JSON}`),
      send('server', `HTTP/1.1 201 Created\r\ncontent-type: application/json\r\nSet-Cookie: sid=abc; HttpOnly\r\nSet-Cookie: theme=dark\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(SECRET_JSON.slice(0, 40), SECRET_JSON.slice(40))}`),
      { kind: 'close' }],
  },
  {
    name: 'form body, text body, body without content type',
    steps: [{ kind: 'open' },
      send('client', POST('/login', 'application/x-www-form-urlencoded', 'user=bob&passwd=Form-Secret-123&note=hello+world&pay=5500-0000-0000-0004&x')),
      send('server', CL('200 OK', 'login ok password=hunter2 user=ada api_key: K-123 xoxb-1234567890-abcdefghijkl', 'Content-Type: text/plain\r\n')),
      send('client', `POST /raw HTTP/1.1\r\nContent-Length: 32\r\n\r\ncard=4111111111111111&token=abcd`),
      send('server', CL('500 Internal Server Error', '{"error":"boom","secret":"abc"', 'Content-Type: application/json\r\n')),
      { kind: 'close' }],
  },
  {
    name: 'HEAD, 100 Continue, 204, 304, 404 on one connection',
    steps: [{ kind: 'open' },
      send('client', 'HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n'), send('server', 'HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n'),
      send('client', 'POST /c HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n'), send('server', 'HTTP/1.1 100 Continue\r\n\r\n'),
      send('client', 'hi'), send('server', CL('200 OK', 'got')),
      send('client', 'DELETE /thing/42 HTTP/1.1\r\n\r\n'), send('server', 'HTTP/1.1 204 No Content\r\n\r\n'),
      send('client', 'GET /cached HTTP/1.1\r\nIf-None-Match: "x"\r\n\r\n'), send('server', 'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n'),
      send('client', 'GET /missing/4111111111111111/9f1c2a3b4c5d6e7f HTTP/1.1\r\nReferer: https://a/b?session=s3cr3t&x=1\r\n\r\n'), send('server', CL('404 Not Found', 'no such thing', 'Content-Type: text/plain\r\n')),
      { kind: 'close' }],
  },
  {
    name: 'HTTP/1.0 answer delimited by the close',
    steps: [{ kind: 'open' }, send('client', 'GET /old HTTP/1.0\r\n\r\n'), send('server', 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end'), { kind: 'close' }],
  },
  {
    name: 'pipelined requests and answers, split anywhere',
    steps: [{ kind: 'open' },
      send('client', 'GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\n\r\n'),
      send('server', CL('200 OK', 'one') + CL('200 OK', 'two') + 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'),
      { kind: 'close' }],
  },
  {
    name: 'WebSocket upgrade, then frames',
    steps: [{ kind: 'open' },
      send('client', 'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'),
      send('server', 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'),
      send('client', Buffer.from([0x81, 0x85, 1, 2, 3, 4, 5])), send('server', Buffer.from([0x81, 0x02, 0x68, 0x69])),
      { kind: 'close' }],
  },
  {
    name: 'CONNECT tunnel',
    steps: [{ kind: 'open' }, send('client', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'),
      send('server', 'HTTP/1.1 200 Connection Established\r\n\r\n'), send('client', Buffer.from([0x16, 0x03, 0x01, 0, 5, 1, 2, 3, 4, 5])), { kind: 'close' }],
  },
  {
    name: 'compressed, binary and non-UTF-8 bodies; latin1 header values; many and repeated headers',
    steps: [{ kind: 'open' },
      send('client', `GET /bin HTTP/1.1\r\nHost: x\r\nX-Name: caf\xe9\r\n${Array.from({ length: 40 }, (_, i) => `X-H${i}: v${i}\r\n`).join('')}123: numeric\r\nX-Dup: a\r\nx-dup: b\r\nconstructor: c\r\n__proto__: p\r\n\r\n`),
      send('server', Buffer.concat([b('HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 6\r\n\r\n'), Buffer.from([0x1f, 0x8b, 8, 0, 0, 0])])),
      send('client', 'GET /octets HTTP/1.1\r\n\r\n'),
      send('server', Buffer.concat([b('HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 12\r\n\r\n'), Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])])),
      send('client', 'GET /text HTTP/1.1\r\n\r\n'),
      send('server', Buffer.concat([b('HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 17\r\n\r\n'), u('h\u00e9 \u20ac \ud83d\ude00'), Buffer.from([0xff, 0xc3, 0x28])])),
      { kind: 'close' }],
  },
  {
    name: 'trailers and chunk extensions',
    steps: [{ kind: 'open' },
      send('client', 'POST /trailer HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n'),
      send('server', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nxyz\r\n0\r\n\r\n'),
      { kind: 'close' }],
  },
  {
    name: 'the sensor\'s own export, and a large truncated JSON body',
    steps: [{ kind: 'open' },
      send('client', 'POST /v1/traces HTTP/1.1\r\nx-peregrine-sensor: 1\r\nContent-Length: 3\r\n\r\nabc'), send('server', CL('200 OK', '')),
      send('client', `POST /big HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 6002\r\n\r\n{"a":"${'x'.repeat(5000)} 4111 1111 1111 1111","password":"${'p'.repeat(980)}"}`),
      send('server', CL('200 OK', '[' + Array.from({ length: 600 }, (_, i) => `"é${i}"`).join(',') + ']', 'Content-Type: application/json\r\n')),
      { kind: 'close' }],
  },
  {
    name: 'capture gaps: a large upload counted, a chunked answer filled',
    steps: [{ kind: 'open' },
      send('client', `POST /upload HTTP/1.1\r\nContent-Length: 1000000\r\n\r\n${'b'.repeat(200)}`, { gap: 60000 }),
      send('client', 'b'.repeat(64), { gap: 900000 - 64 }),
      send('client', 'b'.repeat(32), { gap: 39768 }),
      send('server', CL('200 OK', 'received 1000000 bytes')),
      send('client', 'GET /next HTTP/1.1\r\n\r\n'),
      send('server', `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2710\r\n${'c'.repeat(100)}`, { gap: 9900 }),
      send('server', '\r\n0\r\n\r\n'),
      send('client', 'GET /cut HTTP/1.1\r\nX-Big: aaaa', { gap: 50000 }),
      send('client', 'GET /after HTTP/1.1\r\n\r\n'), send('server', CL('200 OK', 'x')),
      { kind: 'close' }],
  },
  {
    name: 'role unknown: who speaks first decides; joined mid-answer',
    clientRole: 0, serverRole: 0,
    steps: [{ kind: 'open', preexisting: true }, send('server', 'tail of an old body'), send('client', 'GET /to-us HTTP/1.1\r\n\r\n'), send('server', CL('200 OK', 'ours')), { kind: 'close' }],
  },
  {
    name: 'HTTP/2 prior knowledge, then binary noise',
    steps: [{ kind: 'open' }, send('client', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), send('client', Buffer.from([0, 0, 4, 8, 0, 0, 0, 0, 0])), { kind: 'close' }],
  },
  {
    name: 'binary protocol written off',
    steps: [{ kind: 'open' }, ...Array.from({ length: 10 }, (_, i) => send('client', Buffer.from([0, 1, 2, 3, i]))), { kind: 'close' }],
  },
  {
    name: 'TLS: ciphertext on the syscalls, plaintext from SSL_*',
    steps: [{ kind: 'open' },
      send('client', Buffer.from([0x16, 0x03, 0x01, 0x00, 0x10])), send('server', Buffer.from([0x16, 0x03, 0x03, 0x00, 0x10])),
      send('client', 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 36\r\n\r\n{"tls":"plaintext-visible-over-tls"}', { tls: true }),
      send('client', Buffer.from([0x17, 0x03, 0x03, 0x00, 0x10])),
      send('server', CL('201 Created', '{"tls":"plaintext-visible-over-tls"}', 'Content-Type: application/json\r\n'), { tls: true }),
      { kind: 'close' }],
  },
  {
    name: 'TLS on a connection opened before the sensor: the plaintext decides the roles again',
    clientRole: 0, serverRole: 0,
    steps: [{ kind: 'open', preexisting: true },
      send('client', 'GET /seen-as-ciphertext HTTP/1.1\r\n\r\n'),
      send('server', CL('200 OK', 'x')),
      send('server', 'GET /server-speaks-first-in-tls HTTP/1.1\r\n\r\n', { tls: true }),
      send('client', CL('200 OK', 'reversed'), { tls: true }),
      { kind: 'close' }],
  },
  {
    name: 'unanswered request and an answer without request',
    steps: [{ kind: 'open' }, send('server', CL('200 OK', 'orphan')), send('client', 'GET /never-answered HTTP/1.1\r\n\r\n'), { kind: 'close' }],
  },
  {
    name: 'odd but valid: absolute target, OPTIONS *, QUERY and lower-case methods, odd status lines',
    steps: [{ kind: 'open' },
      send('client', 'GET http://h/abs?password=x HTTP/1.1\r\nHost: h\r\n\r\n'), send('server', 'HTTP/1.1 200 \r\nContent-Length: 1\r\n\r\nx'),
      send('client', 'OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n'), send('server', 'HTTP/1.1 200\r\nContent-Length: 1\r\n\r\nx'),
      send('client', 'QUERY /q HTTP/1.1\r\nContent-Length: 0\r\n\r\n'), send('server', 'HTTP/1.1 999 Weird\r\nContent-Length: 1\r\n\r\nx'),
      send('client', 'PATCH /p HTTP/1.1\r\nContent-Length: 14\r\nContent-Type: application/json\r\n\r\n{"pin":"1234"}'), send('server', CL('503 Service Unavailable', 'down')),
      { kind: 'close' }],
  },
];

/** Byte-level edits a fuzzer makes: replace, insert, delete, change case, at random places. */
const NOISE = [' ', '\t', '\r', '\n', ':', ';', '0', 'a', 'Z', '\x00', '\x7f', '\xff', '-', '"', '#', '{', '}', '=', '&', '%', '\xe9'];

function mutateBytes(bytes: Buffer, random: () => number): Buffer {
  let text = bytes.toString('latin1');
  const edits = 1 + Math.floor(random() * 3);
  for (let e = 0; e < edits && text.length; e++) {
    const at = Math.floor(random() * text.length);
    const noise = NOISE[Math.floor(random() * NOISE.length)];
    const op = random();
    if (op < 0.35) text = text.slice(0, at) + noise + text.slice(at + 1);
    else if (op < 0.6) text = text.slice(0, at) + noise + text.slice(at);
    else if (op < 0.8) text = text.slice(0, at) + text.slice(at + 1);
    else text = text.slice(0, at) + text.slice(at, at + 1).toUpperCase() + text.slice(at + 1);
  }
  return Buffer.from(text, 'latin1');
}

/** A variant of a conversation: its chunks split, edited, gapped, dropped or repeated. */
export function mutate(c: Conversation, random: () => number): Conversation {
  const steps: Step[] = [];
  for (const step of c.steps) {
    if (step.kind !== 'send') {
      if (random() < 0.05) continue; // an open or close not seen
      steps.push(step);
      continue;
    }
    const r = random();
    if (r < 0.05) continue;
    let bytes = step.bytes;
    if (random() < 0.3) bytes = mutateBytes(bytes, random);
    if (r < 0.35 && bytes.length > 1) {
      const cut = 1 + Math.floor(random() * (bytes.length - 1));
      steps.push({ ...step, bytes: bytes.subarray(0, cut), gap: 0 }, { ...step, bytes: bytes.subarray(cut) });
    } else {
      steps.push({ ...step, bytes, gap: random() < 0.1 ? Math.floor(random() * 5000) : step.gap });
    }
    if (random() < 0.03) steps.push({ ...step, bytes });
  }
  const role = (r: number | undefined): number | undefined => (random() < 0.1 ? 0 : r);
  return { name: `${c.name} (mutated)`, clientRole: role(c.clientRole), serverRole: role(c.serverRole), steps };
}

export interface RenderOptions {
  /** Also write each exchange from the client's side (both sides on the node, as on loopback). */
  bothSides?: boolean;
  startNs?: number;
  /** A stats record (the stream's clock) every this many steps. */
  statsEvery?: number;
}

let nextConn = 0x261b2cabdda;

/** Writes conversations, one connection each (interleaved step by step), into `w`. */
export function render(w: RecordWriter, conversations: readonly Conversation[], opts: RenderOptions = {}): number {
  let ts = opts.startNs ?? 2_600_000_000_000;
  const lanes = conversations.map((c, i) => {
    const port = 40000 + (i % 20000);
    const client: Side = { pid: 3_000_001, fd: 20 + i, connId: nextConn++, role: c.clientRole ?? 1, localPort: port, remotePort: 8080, comm: 'curl' };
    const server: Side = { pid: 3_000_002, fd: 20 + i, connId: nextConn++, role: c.serverRole ?? 2, localPort: 8080, remotePort: port, comm: 'node' };
    return { c, client, server, at: 0 };
  });
  let steps = 0;
  for (let live = lanes.length; live > 0; ) {
    live = 0;
    for (const lane of lanes) {
      const step = lane.c.steps[lane.at++];
      if (!step) continue;
      live++;
      ts += 1_000_000;
      if (opts.statsEvery && ++steps % opts.statsEvery === 0) w.stats(ts);
      const sides = opts.bothSides === false ? [lane.server] : [lane.server, lane.client];
      if (step.kind !== 'send') {
        for (const side of sides) w.conn(step.kind, side, ts, 0, 0, step.preexisting ?? false);
        continue;
      }
      for (const side of sides) {
        const sender = (step.from === 'client') === (side === lane.client);
        const size = step.bytes.length + (step.gap ?? 0);
        w.data(side, ts + (sender ? 0 : 25_000), sender ? 0 : 1, step.bytes, { size, tls: step.tls, sslPtr: step.tls ? 0x7f0000001000 + side.fd : undefined });
      }
    }
  }
  return ts;
}
