import { describe, expect, it } from 'vitest';
import { FrameDecoder, decodeRecord, type ConnRecord, type DataRecord, type ExecRecord } from './frames.ts';
import { DecodeError } from '../../core/errors.ts';

// Builders that lay records out exactly as ebpf/bpf/sensor.h does.
function header(buf: Buffer, type: number, tgid: number, fd: number, ts: bigint, connId: bigint): void {
  buf.writeUInt32LE(type, 0);
  buf.writeUInt32LE(tgid, 4);
  buf.writeUInt32LE(tgid + 1, 8);
  buf.writeInt32LE(fd, 12);
  buf.writeBigUInt64LE(ts, 16);
  buf.writeBigUInt64LE(connId, 24);
}

export function dataRecordBytes(payload: string, opts: { size?: number; direction?: 0 | 1; source?: 0 | 1; role?: number } = {}): Buffer {
  const data = Buffer.from(payload);
  const buf = Buffer.alloc(72 + data.length);
  header(buf, 1, 4242, 7, 123_456_789n, 0xabcn);
  buf.writeBigUInt64LE(0xdeadbeefn, 32);
  buf.writeUInt32LE(opts.size ?? data.length, 40);
  buf.writeUInt32LE(data.length, 44);
  buf[48] = opts.direction ?? 1;
  buf[49] = opts.source ?? 0;
  buf[50] = opts.role ?? 2;
  buf.write('python3', 56);
  data.copy(buf, 72);
  return buf;
}

function connBytes(type: 2 | 3, family: 2 | 10, laddr: number[], raddr: number[]): Buffer {
  const buf = Buffer.alloc(112);
  header(buf, type, 99, 5, 1_000n, 0x10n);
  buf.writeBigUInt64LE(1500n, 32);
  buf.writeBigUInt64LE(300n, 40);
  buf.writeBigUInt64LE(77n, 48);
  buf.writeUInt16LE(family, 56);
  buf.writeUInt16LE(8080, 58);
  buf.writeUInt16LE(51000, 60);
  buf[62] = 2;
  buf[63] = 1;
  Buffer.from(laddr).copy(buf, 64);
  Buffer.from(raddr).copy(buf, 80);
  buf.write('node', 96);
  return buf;
}

const frame = (rec: Buffer): Buffer => Buffer.concat([Buffer.from(Uint32Array.of(rec.length).buffer), rec]);

describe('sensor record decoding', () => {
  it('decodes a data record with its true size and captured prefix', () => {
    const rec = decodeRecord(dataRecordBytes('GET / HTTP/1.1\r\n', { size: 9000 })) as DataRecord;
    expect(rec).toMatchObject({ type: 'data', tgid: 4242, tid: 4243, fd: 7, tsNs: 123456789, connId: 'abc', sslPtr: '0', size: 9000, direction: 'ingress', source: 'syscall', role: 'server', comm: 'python3' });
    expect(rec.data.toString()).toBe('GET / HTTP/1.1\r\n');
    const tls = decodeRecord(dataRecordBytes('x', { source: 1 })) as DataRecord;
    expect(tls).toMatchObject({ source: 'tls', sslPtr: 'deadbeef' });
  });

  it('decodes IPv4, IPv4-mapped and IPv6 connection addresses', () => {
    const v4 = decodeRecord(connBytes(2, 2, [127, 0, 0, 1], [10, 1, 2, 3])) as ConnRecord;
    expect(v4).toMatchObject({ type: 'conn-open', local: { address: '127.0.0.1', port: 8080 }, remote: { address: '10.1.2.3', port: 51000 }, role: 'server', preexisting: true, bytesSent: 1500, bytesReceived: 300, cgroupId: '77' });
    const mapped = decodeRecord(connBytes(2, 10, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 0, 9], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])) as ConnRecord;
    expect(mapped.local?.address).toBe('192.168.0.9');
    expect(mapped.remote?.address).toBe('::1');
    const v6 = decodeRecord(connBytes(2, 10, [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42], [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 0, 3, 0, 4])) as ConnRecord;
    expect(v6.local?.address).toBe('2001:db8::42');
    expect(v6.remote?.address).toBe('fe80::1:2:3:4');
    const close = decodeRecord(connBytes(3, 2, [0, 0, 0, 0], [0, 0, 0, 0])) as ConnRecord;
    expect(close.type).toBe('conn-close');
    expect(close.local).toBeUndefined();
  });

  it('decodes an exec with its argv', () => {
    const args = Buffer.from('curl\0-s\0http://x/\0');
    const buf = Buffer.alloc(328 + args.length);
    header(buf, 4, 500, -1, 5n, 0n);
    buf.writeUInt32LE(1, 32);
    buf.writeUInt32LE(1000, 36);
    buf.writeUInt32LE(args.length, 48);
    buf.write('curl', 56);
    buf.write('/usr/bin/curl', 72);
    args.copy(buf, 328);
    const rec = decodeRecord(buf) as ExecRecord;
    expect(rec).toMatchObject({ type: 'exec', tgid: 500, ppid: 1, uid: 1000, comm: 'curl', filename: '/usr/bin/curl', args: ['curl', '-s', 'http://x/'] });
  });

  it('reassembles frames split at any byte', () => {
    const stream = Buffer.concat([frame(dataRecordBytes('one')), frame(dataRecordBytes('two')), frame(dataRecordBytes('three'))]);
    for (let cut = 1; cut < stream.length; cut += 7) {
      const d = new FrameDecoder();
      const recs = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))] as DataRecord[];
      expect(recs.map((r) => r.data.toString())).toEqual(['one', 'two', 'three']);
      expect(d.bufferedBytes).toBe(0);
    }
  });

  it('refuses a stream that is out of sync, with a DecodeError', () => {
    expect(() => new FrameDecoder().push(Buffer.from([0xff, 0xff, 0xff, 0x7f, 1, 2]))).toThrow(DecodeError);
    expect(() => decodeRecord(Buffer.from([9, 0, 0, 0]))).toThrow(/unknown sensor record type 9/);
    expect(() => decodeRecord(dataRecordBytes('x').subarray(0, 40))).toThrow(/need 72/);
  });
});
