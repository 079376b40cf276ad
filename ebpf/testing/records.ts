/**
 * Writes the loader's input record stream (`[u32 length][record]`, the structs of
 * ebpf/bpf/sensor.h) by hand: for the differential tests of the C engine against the TypeScript
 * reference and for bench:agent, which replay synthetic traffic without BPF.
 */

export const REALTIME_OFFSET_NS = 1_796_109_142_852_927_764n;

export interface Side {
  pid: number;
  fd: number;
  connId: number;
  /** 0 unknown, 1 client, 2 server */
  role: number;
  localPort: number;
  remotePort: number;
  comm?: string;
  local?: readonly number[];
  remote?: readonly number[];
  /** AF_INET 2 (4-byte addresses) or AF_INET6 10 */
  family?: number;
}

export interface DataOptions {
  /** True size of the call (defaults to the payload's length): larger means a capture gap. */
  size?: number;
  tls?: boolean;
  sslPtr?: number;
  tid?: number;
  fd?: number;
  role?: number;
}

function writeU64(rec: Buffer, off: number, v: number | bigint): void {
  rec.writeBigUInt64LE(BigInt(v), off);
}

export class RecordWriter {
  private buf = Buffer.alloc(1 << 20);
  private len = 0;

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  get length(): number {
    return this.len;
  }

  /** Appends `[u32 length][record]` and returns the record's bytes to fill (zeroed). */
  frame(size: number): Buffer {
    this.room(4 + size);
    this.buf.writeUInt32LE(size, this.len);
    const rec = this.buf.subarray(this.len + 4, this.len + 4 + size);
    rec.fill(0);
    this.len += 4 + size;
    return rec;
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.len);
  }

  private header(rec: Buffer, type: number, pid: number, tid: number, fd: number, tsNs: number, connId: number): void {
    rec.writeUInt32LE(type, 0);
    rec.writeUInt32LE(pid, 4);
    rec.writeUInt32LE(tid, 8);
    rec.writeInt32LE(fd, 12);
    writeU64(rec, 16, tsNs);
    writeU64(rec, 24, connId);
  }

  hello(realtimeOffsetNs = REALTIME_OFFSET_NS, captureBytes = 4096): void {
    const rec = this.frame(24);
    rec.writeUInt32LE(100, 0);
    rec.writeUInt32LE(1, 4);
    rec.writeBigUInt64LE(realtimeOffsetNs, 8);
    rec.writeUInt32LE(captureBytes, 16);
    rec.writeUInt32LE(4242, 20);
  }

  /** A loader stats record: the stream's clock moves to monoNs (idle connections expire). */
  stats(monoNs: number, dataEvents = 0): void {
    const n = 8;
    const rec = this.frame(8 + n * 8 + 32);
    rec.writeUInt32LE(101, 0);
    rec.writeUInt32LE(n, 4);
    writeU64(rec, 8 + 8, dataEvents);
    const tail = 8 + n * 8;
    writeU64(rec, tail, Math.floor(monoNs / 100)); // loader CPU: 1%
    writeU64(rec, tail + 8, dataEvents * 4000);
    writeU64(rec, tail + 16, dataEvents * 2);
    writeU64(rec, tail + 24, monoNs);
  }

  conn(type: 'open' | 'close', side: Side, tsNs: number, sent = 0, received = 0, preexisting = false): void {
    const rec = this.frame(112);
    this.header(rec, type === 'open' ? 2 : 3, side.pid, side.pid, side.fd, tsNs, side.connId);
    writeU64(rec, 32, sent);
    writeU64(rec, 40, received);
    writeU64(rec, 48, 1);
    const family = side.family ?? 2;
    rec.writeUInt16LE(family, 56);
    rec.writeUInt16LE(side.localPort, 58);
    rec.writeUInt16LE(side.remotePort, 60);
    rec[62] = side.role;
    rec[63] = preexisting ? 1 : 0;
    Buffer.from(side.local ?? [127, 0, 0, 1]).copy(rec, 64);
    Buffer.from(side.remote ?? [127, 0, 0, 1]).copy(rec, 80);
    rec.write(side.comm ?? 'node', 96);
  }

  /** One read or write: direction 0 egress (the side sent it), 1 ingress (the side received it). */
  data(side: Side, tsNs: number, direction: 0 | 1, payload: Buffer, opts: DataOptions = {}): void {
    const rec = this.frame(72 + payload.length);
    this.header(rec, 1, side.pid, opts.tid ?? side.pid, opts.fd ?? side.fd, tsNs, side.connId);
    writeU64(rec, 32, opts.tls ? opts.sslPtr ?? 0x7f0000001000 : 0);
    rec.writeUInt32LE(opts.size ?? payload.length, 40);
    rec.writeUInt32LE(payload.length, 44);
    rec[48] = direction;
    rec[49] = opts.tls ? 1 : 0;
    rec[50] = opts.role ?? side.role;
    rec.write(side.comm ?? 'node', 56);
    payload.copy(rec, 72);
  }

  exec(pid: number, tsNs: number, filename: string, args: readonly string[]): void {
    const argv = Buffer.from(args.map((a) => `${a}\0`).join(''));
    const rec = this.frame(328 + argv.length);
    this.header(rec, 4, pid, pid, -1, tsNs, 0);
    rec.writeUInt32LE(1, 32);
    rec.writeUInt32LE(0, 36);
    writeU64(rec, 40, 1);
    rec.writeUInt32LE(argv.length, 48);
    rec.write(filename.split('/').pop()!.slice(0, 15), 56);
    rec.write(filename.slice(0, 255), 72);
    argv.copy(rec, 328);
  }
}
