import { describe, expect, it } from 'vitest';
import { ConnectionTracker, type HttpExchange } from './connections.ts';
import type { ConnRecord, DataRecord, Role } from './frames.ts';

/** A connection's records, with time moving 1 ms per chunk. */
class Wire {
  ts = 1_000_000;
  constructor(readonly tracker: ConnectionTracker, readonly role: Role = 'server', readonly fd = 5, readonly connId = 'c1', readonly tgid = 100) {}

  open(): HttpExchange[] {
    const rec: ConnRecord = {
      type: 'conn-open', tgid: this.tgid, tid: this.tgid, fd: this.fd, tsNs: this.ts, connId: this.connId, bytesSent: 0, bytesReceived: 0,
      cgroupId: '1', local: { address: '127.0.0.1', port: 8080 }, remote: { address: '127.0.0.1', port: 50000 }, role: this.role, preexisting: false, comm: 'srv',
    };
    return this.tracker.onRecord(rec);
  }

  /** `in` = the peer sent it to us (ingress), `out` = we sent it. */
  chunk(direction: 'in' | 'out', payload: string | Buffer, opts: { size?: number; source?: 'syscall' | 'tls' } = {}): HttpExchange[] {
    this.ts += 1_000_000;
    const data = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload;
    const rec: DataRecord = {
      type: 'data', tgid: this.tgid, tid: this.tgid, fd: this.fd, tsNs: this.ts, connId: this.connId, sslPtr: '0',
      size: opts.size ?? data.length, data, direction: direction === 'in' ? 'ingress' : 'egress',
      source: opts.source ?? 'syscall', role: this.role, comm: 'srv',
    };
    return this.tracker.onRecord(rec);
  }

  close(): HttpExchange[] {
    this.ts += 1_000_000;
    return this.tracker.onRecord({
      type: 'conn-close', tgid: this.tgid, tid: this.tgid, fd: this.fd, tsNs: this.ts, connId: this.connId, bytesSent: 0, bytesReceived: 0,
      cgroupId: '1', role: this.role, preexisting: false, comm: 'srv',
    });
  }
}

const GET = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;
const OK = (body: string, extra = '') => `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`;

describe('HTTP reassembly per connection', () => {
  it('pairs keep-alive requests with responses and measures latency from request start to response end', () => {
    const w = new Wire(new ConnectionTracker());
    w.open();
    expect(w.chunk('in', GET('/a?x=1'))).toEqual([]);
    const [a] = w.chunk('out', OK('alpha'));
    expect(a.request.method).toBe('GET');
    expect(a.request.target).toBe('/a?x=1');
    expect(a.response.status).toBe(200);
    expect(a.response.body.toString()).toBe('alpha');
    expect(a.latencyNs).toBe(1_000_000);
    expect(a.conn.local?.port).toBe(8080);
    w.chunk('in', GET('/b'));
    const [b] = w.chunk('out', OK('beta'));
    expect(b.request.target).toBe('/b');
    expect(w.tracker.counters.exchanges).toBe(2);
  });

  it('handles pipelining: requests in one chunk, responses in order, split anywhere', () => {
    const w = new Wire(new ConnectionTracker());
    w.chunk('in', GET('/1') + GET('/2') + GET('/3'));
    const responses = OK('one') + OK('two') + 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n';
    const out = [...w.chunk('out', responses.slice(0, 30)), ...w.chunk('out', responses.slice(30, 61)), ...w.chunk('out', responses.slice(61))];
    expect(out.map((e) => [e.request.target, e.response.status, e.response.body.toString()])).toEqual([['/1', 200, 'one'], ['/2', 200, 'two'], ['/3', 404, '']]);
  });

  it('de-chunks a chunked body and reports its decoded size', () => {
    const w = new Wire(new ConnectionTracker());
    w.chunk('in', GET('/c'));
    w.chunk('out', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n');
    const [ex] = w.chunk('out', '3\r\nefg\r\n0\r\n\r\n');
    expect(ex.response.body.toString()).toBe('abcdefg');
    expect(ex.response.bodySize).toBe(7);
  });

  it('parses POST bodies across chunks and keeps only the excerpt', () => {
    const w = new Wire(new ConnectionTracker({ keepBodyBytes: 10 }));
    const body = 'x'.repeat(25);
    w.chunk('in', `POST /p HTTP/1.1\r\nContent-Length: 25\r\nContent-Type: text/plain\r\n\r\n${body.slice(0, 12)}`);
    w.chunk('in', body.slice(12));
    const [ex] = w.chunk('out', OK('ok'));
    expect(ex.request.body.toString()).toBe('x'.repeat(10));
    expect(ex.request.bodySize).toBe(25);
    expect(ex.request.bodyTruncated).toBe(true);
  });

  it('counts a Content-Length body past capture gaps without parsing it (a 1 GiB upload costs nothing)', () => {
    const w = new Wire(new ConnectionTracker());
    const GiB = 1024 ** 3;
    w.chunk('in', `POST /up HTTP/1.1\r\nContent-Length: ${GiB}\r\n\r\n` + 'b'.repeat(100), { size: 65536 });
    let sent = 65536 - (`POST /up HTTP/1.1\r\nContent-Length: ${GiB}\r\n\r\n`.length);
    const started = process.hrtime.bigint();
    while (sent < GiB) {
      const n = Math.min(1 << 20, GiB - sent);
      w.chunk('in', 'b'.repeat(64), { size: n });
      sent += n;
    }
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(2000);
    const [ex] = w.chunk('out', OK('done'));
    expect(ex.request.bodySize).toBe(GiB);
    expect(ex.request.body.toString()).toBe('b'.repeat(100));
    // The stream is back in sync for the next request.
    w.chunk('in', GET('/next'));
    expect(w.chunk('out', OK('n'))[0].request.target).toBe('/next');
  });

  it('skips HEAD response bodies and 100 Continue', () => {
    const w = new Wire(new ConnectionTracker());
    w.chunk('in', 'HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n');
    const [head] = w.chunk('out', 'HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n');
    expect(head.request.method).toBe('HEAD');
    expect(head.response.bodySize).toBe(0);
    w.chunk('in', 'POST /c HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n');
    expect(w.chunk('out', 'HTTP/1.1 100 Continue\r\n\r\n')).toEqual([]);
    w.chunk('in', 'hi');
    const [post] = w.chunk('out', OK('got'));
    expect(post.response.status).toBe(200);
    expect(post.request.body.toString()).toBe('hi');
  });

  it('completes a response delimited by the close (HTTP/1.0, no Content-Length)', () => {
    const w = new Wire(new ConnectionTracker());
    w.chunk('in', 'GET /old HTTP/1.0\r\n\r\n');
    expect(w.chunk('out', 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end')).toEqual([]);
    const [ex] = w.close();
    expect(ex.response.body.toString()).toBe('until the end');
    expect(w.tracker.size).toBe(0);
  });

  it('infers the role of a connection opened before the sensor, from who speaks first', () => {
    const t = new ConnectionTracker();
    const w = new Wire(t, 'unknown');
    w.chunk('out', GET('/from-us'));
    const [ex] = w.chunk('in', OK('theirs'));
    expect(ex.conn.role).toBe('client');
    const s = new Wire(t, 'unknown', 9, 'c9');
    // Starts mid-response (we joined late): the stray bytes are dropped, the next exchange is whole.
    s.chunk('out', 'tail of an old body');
    s.chunk('in', GET('/to-us'));
    const [ex2] = s.chunk('out', OK('ours'));
    expect(ex2.conn.role).toBe('server');
    expect(ex2.request.target).toBe('/to-us');
  });

  it('drops a broken message, counts it once, and resynchronizes on the next request', () => {
    const w = new Wire(new ConnectionTracker());
    w.chunk('in', 'GET /bad HTTP/1.1\r\nHost x\r\n\r\n');
    w.chunk('in', 'more junk');
    expect(w.tracker.counters.unparseable).toBe(1);
    w.chunk('in', GET('/good'));
    const [ex] = w.chunk('out', OK('fine'));
    expect(ex.request.target).toBe('/good');
  });

  it('loses a message whose headers were cut by the capture, then recovers', () => {
    const w = new Wire(new ConnectionTracker());
    w.chunk('in', 'GET /cut HTTP/1.1\r\nX-Big: aaaa', { size: 50_000 });
    expect(w.tracker.counters.unparseable).toBe(1);
    w.chunk('in', GET('/after'));
    expect(w.chunk('out', OK('x'))[0].request.target).toBe('/after');
  });

  it('writes off HTTP/2 and binary streams, and ignores TLS ciphertext until plaintext arrives from SSL_*', () => {
    const t = new ConnectionTracker();
    const h2 = new Wire(t, 'server', 11, 'h2');
    h2.chunk('in', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    h2.chunk('in', Buffer.from([0, 0, 4, 8, 0, 0, 0, 0, 0]));
    expect(t.counters.http2Connections).toBe(1);
    expect(t.counters.ignoredBytes).toBe(9);
    const bin = new Wire(t, 'server', 12, 'bin');
    for (let i = 0; i < 10; i++) bin.chunk('in', Buffer.from([0x00, 0x01, 0x02, 0x03, i]));
    expect(t.counters.nonHttpConnections).toBe(2);
    const tls = new Wire(t, 'server', 13, 'tls');
    tls.chunk('in', Buffer.from([0x16, 0x03, 0x01, 0x00, 0x10]));
    tls.chunk('out', Buffer.from([0x16, 0x03, 0x03, 0x00, 0x10]));
    expect(t.counters.tlsCiphertextChunks).toBe(2);
    tls.chunk('in', GET('/secure'), { source: 'tls' });
    tls.chunk('in', Buffer.from([0x17, 0x03, 0x03, 0x00, 0x10])); // ciphertext after the switch: ignored
    const [ex] = tls.chunk('out', OK('plain'), { source: 'tls' });
    expect(ex.conn.tls).toBe(true);
    expect(ex.response.body.toString()).toBe('plain');
  });

  it('stops parsing after an upgrade (WebSocket)', () => {
    const w = new Wire(new ConnectionTracker());
    w.chunk('in', 'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    const [ex] = w.chunk('out', 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    expect(ex.response.status).toBe(101);
    w.chunk('in', Buffer.from([0x81, 0x85, 1, 2, 3, 4, 5]));
    expect(w.tracker.counters.unparseable).toBe(0);
  });

  it('bounds connections (evicting the least recently active), pending requests and idle time', () => {
    const t = new ConnectionTracker({ maxConnections: 3, maxPending: 2, idleTimeoutNs: 10e6 });
    const wires = [1, 2, 3, 4].map((i) => new Wire(t, 'server', i, `c${i}`));
    for (const w of wires) w.chunk('in', GET('/x'));
    expect(t.size).toBe(3);
    expect(t.counters.evictedConnections).toBe(1);
    const w = wires[3];
    w.chunk('in', GET('/a') + GET('/b') + GET('/c'));
    expect(t.counters.pendingOverflow).toBe(2);
    t.expire(w.ts + 20e6);
    expect(t.size).toBe(0);
    expect(t.counters.expiredConnections).toBe(3);
  });

  it('an open on a tracked (process, fd) ends the instance that closed unseen, and only that one', () => {
    const t = new ConnectionTracker();
    const stale = new Wire(t, 'server', 7, 'old');
    stale.open();
    stale.chunk('in', GET('/never-answered'));
    const otherFd = new Wire(t, 'server', 8, 'other');
    otherFd.open();
    const otherProcess = new Wire(t, 'server', 7, 'elsewhere', 200);
    otherProcess.open();
    expect(t.size).toBe(3);

    const reused = new Wire(t, 'server', 7, 'new');
    reused.ts = stale.ts;
    reused.open();
    expect(t.size).toBe(3);
    expect(t.counters.unansweredRequests).toBe(1);
    reused.chunk('in', GET('/fresh'));
    expect(reused.chunk('out', OK('yes'))[0].request.target).toBe('/fresh');
    // The closed-unseen instance is gone for good; the fd's next open finds only the live one.
    reused.close();
    expect(t.size).toBe(2);
    const again = new Wire(t, 'server', 7, 'again');
    again.open();
    expect(t.size).toBe(3);
    expect(t.counters.unansweredRequests).toBe(1);
  });

  it('never throws and stays bounded on random bytes (fixed seed)', () => {
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const t = new ConnectionTracker({ maxConnections: 50 });
    const pieces = [GET('/r'), OK('z'), 'HTTP/1.1 200', 'POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab', '\r\n', 'Transfer-Encoding: chunked\r\n'];
    for (let i = 0; i < 5000; i++) {
      const w = new Wire(t, (['server', 'client', 'unknown'] as const)[i % 3], i % 80, `f${i % 80}`);
      w.ts = i * 1e6;
      const len = Math.floor(rand() * 200);
      const bytes = rand() < 0.5 ? Buffer.from(pieces[Math.floor(rand() * pieces.length)]) : Buffer.from(Array.from({ length: len }, () => Math.floor(rand() * 256)));
      expect(() => w.chunk(rand() < 0.5 ? 'in' : 'out', bytes, { size: bytes.length + (rand() < 0.1 ? 100_000 : 0) })).not.toThrow();
      expect(t.size).toBeLessThanOrEqual(50);
    }
  });
});
