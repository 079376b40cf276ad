import { describe, expect, it } from 'vitest';
import { HttpStream, type FeedResult, type HttpMessage } from './http-stream.ts';
import { mulberry32 } from '../../core/random.ts';

// The JS fast path must complete exactly the messages llhttp completes, with the same fields, and
// leave llhttp the same bytes: every case runs through a stream with it and one without.

const REQUESTS = [
  'GET /items?q=load-1 HTTP/1.1\r\nHost: 127.0.0.1:18098\r\nConnection: keep-alive\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
  'POST /echo HTTP/1.1\r\nContent-Type: application/json\r\nHost: h\r\nContent-Length: 16\r\n\r\n{"password":"x"}',
  'POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
  'GET /old HTTP/1.0\r\nHost: h\r\n\r\n',
  'GET /old-ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n',
  'GET /close HTTP/1.1\r\nConnection: close\r\n\r\n',
  'GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
  'HEAD /h HTTP/1.1\r\nHost: h\r\n\r\n',
  'OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n',
  'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n',
  'GET /sp HTTP/1.1\r\nX-Trailing: value \r\nX-Tab:\tv\r\nX-Inner: a  b\r\n\r\n',
  'GET /empty HTTP/1.1\r\nX-Empty:\r\n\r\n',
  'GET /dup HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n',
  'POST /both HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  'POST /te HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n',
  'GET /fold HTTP/1.1\r\nX-Fold: a\r\n b\r\n\r\n',
  'GET /utf HTTP/1.1\r\nX-Name: caf\xe9\r\n\r\n',
  'GET /quote"{}| HTTP/1.1\r\n\r\n',
  'GET /frag#x HTTP/1.1\r\n\r\n',
  'get /lower HTTP/1.1\r\n\r\n',
  'GET /v2 HTTP/2.0\r\n\r\n',
  'GET /lf HTTP/1.1\nHost: h\n\n',
  'POST /ext HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n0\r\n\r\n',
  'POST /trailer HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n',
  'POST /zeros HTTP/1.1\r\nContent-Length: 007\r\n\r\n1234567',
  'POST /big HTTP/1.1\r\nContent-Length: 40\r\n\r\n' + 'b'.repeat(40),
  'POST /bigchunks HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n14\r\n' + 'c'.repeat(20) + '\r\n14\r\n' + 'd'.repeat(20) + '\r\n0\r\n\r\n',
  'GET /x HTTP/1.1\r\nHost : h\r\n\r\n',
  'GET /x HTTP/1.1\r\nProxy-Connection: keep-alive\r\n\r\n',
  '\r\nGET /lead HTTP/1.1\r\n\r\n',
  'GET  /double-space HTTP/1.1\r\n\r\n',
];

const RESPONSES = [
  'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nDate: Tue, 01 Dec 2026 07:56:01 GMT\r\nConnection: keep-alive\r\nKeep-Alive: timeout=30\r\nTransfer-Encoding: chunked\r\n\r\n3a\r\n{"ok":true,"q":"load-32","marker":"items-response-marker"}\r\n0\r\n\r\n',
  'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nalpha',
  'HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n',
  'HTTP/1.1 204 No Content\r\n\r\n',
  'HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n',
  'HTTP/1.1 100 Continue\r\n\r\n',
  'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
  'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi',
  'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi',
  'HTTP/1.1 200 OK\r\n\r\nuntil close',
  'HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nboom',
  'HTTP/1.1 200 \r\nContent-Length: 1\r\n\r\nx',
  'HTTP/1.1 200\r\nContent-Length: 1\r\n\r\nx',
  'HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 3\r\n\r\nno!',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n',
  'HTTP/1.1 999 Weird\r\nContent-Length: 1\r\n\r\nx',
  'HTTP/1.1 200 OK\r\nContent-Length: 64\r\n\r\n' + 'r'.repeat(64),
];

const OPTIONS = { keepBodyBytes: 32, maxHeaderBytes: 16 * 1024 };

function plain(m: HttpMessage): Record<string, unknown> {
  return { ...m, body: m.body.toString('latin1') };
}

/** Feeds the chunks to a stream; returns each chunk's result and the messages, in order. */
function run(kind: 'request' | 'response', chunks: Buffer[], fastPath: boolean, method?: string): { results: FeedResult[]; messages: Record<string, unknown>[] } {
  const stream = new HttpStream(kind, { ...OPTIONS, fastPath }, () => method);
  const results: FeedResult[] = [];
  const messages: Record<string, unknown>[] = [];
  chunks.forEach((c, i) => {
    results.push(stream.feed(c, c.length, 1000 + i));
    messages.push(...stream.completed.map(plain));
    stream.completed.length = 0;
  });
  stream.finish(9999);
  messages.push(...stream.completed.map(plain));
  return { results, messages };
}

function same(kind: 'request' | 'response', chunks: Buffer[], method?: string): void {
  const fast = run(kind, chunks, true, method);
  const slow = run(kind, chunks, false, method);
  expect(fast).toEqual(slow);
}

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

const rng = mulberry32;

describe('the JS fast path parses exactly as llhttp does', () => {
  it('takes the usual keep-alive messages itself (they complete in one chunk)', () => {
    const stream = new HttpStream('response', OPTIONS);
    expect(stream.feed(bytes(RESPONSES[0]), RESPONSES[0].length, 1)).toBe('ok');
    expect(stream.completed[0]).toMatchObject({ status: 200, statusText: 'OK', bodySize: 58, bodyTruncated: true });
    expect(stream.completed[0].body.toString()).toBe('{"ok":true,"q":"load-32","marker'.slice(0, 32));
    expect(stream.completed[0].headers).toContainEqual(['content-type', 'application/json']);
  });

  it('agrees on every corpus message, alone, pipelined, and split at every byte', () => {
    for (const [kind, corpus] of [['request', REQUESTS], ['response', RESPONSES]] as const) {
      for (const method of kind === 'response' ? ['GET', 'HEAD', 'CONNECT'] : [undefined]) {
        for (const text of corpus) {
          same(kind, [bytes(text)], method);
          same(kind, [bytes(text + corpus[1])], method);
          same(kind, [bytes(corpus[0] + text + corpus[0])], method);
          same(kind, [bytes(corpus[0]), bytes(text), bytes(corpus[1])], method);
          for (let cut = 1; cut < text.length; cut += 3) same(kind, [bytes(text.slice(0, cut)), bytes(text.slice(cut) + corpus[1])], method);
        }
      }
    }
  });

  it('agrees on random mutations of the corpus (fixed seed)', () => {
    const random = rng(20261201);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
    const noise = [' ', '\t', '\r', '\n', ':', ';', '0', 'a', 'Z', '\x00', '\x7f', '\xff', '-', '"', '#'];
    for (let n = 0; n < 4000; n++) {
      const kind = random() < 0.5 ? 'request' : 'response';
      const corpus = kind === 'request' ? REQUESTS : RESPONSES;
      let text = pick(corpus) + (random() < 0.5 ? pick(corpus) : '');
      const edits = 1 + Math.floor(random() * 3);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(random() * text.length);
        const op = random();
        if (op < 0.35) text = text.slice(0, at) + pick(noise) + text.slice(at + 1);
        else if (op < 0.6) text = text.slice(0, at) + pick(noise) + text.slice(at);
        else if (op < 0.8) text = text.slice(0, at) + text.slice(at + 1);
        else text = text.slice(0, at) + text.slice(at, at + 1).toUpperCase() + text.slice(at + 1);
      }
      const method = kind === 'response' ? pick(['GET', 'GET', 'POST', 'HEAD']) : undefined;
      const cut = Math.floor(random() * text.length);
      same(kind, random() < 0.5 ? [bytes(text)] : [bytes(text.slice(0, cut)), bytes(text.slice(cut))], method);
    }
  });
});
