/**
 * What Peregrine's eBPF sensor reports about the simulated shop (fast mode), made with the sensor's own code: HTTP/1.x
 * exchanges redacted by `redactExchange` and encoded by `httpSpan`/`encodeTraces`, process resources by
 * `processResource`, exec and connection log records (attributes as the sensor's exec and connection handlers write
 * them) by `encodeLogs`. gRPC (HTTP/2), Redis and Kafka traffic is written off by the sensor, so only the frontend's
 * ingress and the HTTP calls of checkout, shipping and email appear as sensor spans.
 */
import { STATUS_CODES } from 'node:http';
import type { ConnectionMeta, HttpExchange } from '../../ebpf/agent/connections.ts';
import type { ExecRecord } from '../../ebpf/agent/frames.ts';
import type { Header, HttpMessage } from '../../ebpf/agent/http-stream.ts';
import { encodeLogs, encodeSpan, encodeTraces, httpSpan, processResource, spanIds, type LogItem, type ResourceGroup } from '../../ebpf/agent/otlp.ts';
import { ProcessTable } from '../../ebpf/agent/process-info.ts';
import { redactExchange, type ProcessInfo } from '../../ebpf/agent/records.ts';
import type { Random } from './random.ts';

/** Body bytes the modelled sensor keeps (its `--body-bytes`): enough for requests, a slice of pages. */
export const SENSOR_BODY_BYTES = 1024;
const NO_REDACTION_EXTRAS = { headers: [], fields: [] };

export interface Endpoint {
  address: string;
  port: number;
}

export interface ExchangeSpec {
  pid: number;
  comm: string;
  host: string;
  role: 'server' | 'client';
  local: Endpoint;
  remote: Endpoint;
  startMs: number;
  endMs: number;
  method: string;
  target: string;
  requestHeaders: Header[];
  requestBody: string;
  status: number;
  responseHeaders: Header[];
  responseBody: string;
}

export interface ExecSpec {
  timeMs: number;
  pid: number;
  ppid: number;
  uid: number;
  binary: string;
  args: string[];
  host: string;
}

export interface ConnectionSpec {
  pid: number;
  comm: string;
  host: string;
  role: 'client' | 'server';
  local: Endpoint;
  remote: Endpoint;
  openMs: number;
  closeMs: number;
  bytesSent: number;
  bytesReceived: number;
}

/** Known processes of the modelled nodes (the sensor reads them from /proc). */
export interface KnownProcess {
  pid: number;
  ppid?: number;
  executable: string;
  args: string[];
  host: string;
}

/** Collects sensor records and encodes them as the sensor's exports. Times are relative to `baseMs` on a monotonic clock. */
export class SensorModel {
  private readonly spans = new Map<number, Uint8Array[]>();
  private spanCount = 0;
  private readonly logs = new Map<number, LogItem[]>();
  private logCount = 0;
  private readonly offsetNs: bigint;
  /** The sensor's own process table; /proc of the modelled nodes is not this machine's, so it learns from execs and `know`. */
  private readonly processes = new ProcessTable(NO_REDACTION_EXTRAS, '/nonexistent-proc-of-the-simulated-node');
  private readonly hosts = new Map<number, string>();
  private fd = 20;

  constructor(private readonly baseMs: number, private readonly rng: Random) {
    this.offsetNs = BigInt(Math.round(baseMs)) * 1_000_000n;
  }

  know(p: KnownProcess): void {
    this.processes.onExec({ type: 'exec', tgid: p.pid, tid: p.pid, fd: 0, tsNs: 0, connId: '0', ppid: p.ppid ?? 1, uid: 0, cgroupId: '0', comm: comm(p.executable), filename: p.executable, args: p.args });
    this.hosts.set(p.pid, p.host);
  }

  private mono(ms: number): number {
    return (ms - this.baseMs) * 1e6;
  }

  get pendingSpans(): number {
    return this.spanCount;
  }

  get pendingLogs(): number {
    return this.logCount;
  }

  exchange(x: ExchangeSpec): void {
    const conn: ConnectionMeta = {
      key: `${x.pid}:${this.fd}`, tgid: x.pid, fd: this.fd++, connId: String(this.fd), role: x.role, comm: x.comm, local: x.local, remote: x.remote,
      tls: false, preexisting: false, openedNs: this.mono(x.startMs) - 1e6,
    };
    if (this.fd > 60_000) this.fd = 20;
    const message = (kind: 'request' | 'response', headers: Header[], body: string, startMs: number, endMs: number): HttpMessage => {
      const bytes = Buffer.from(body);
      return {
        kind, versionMajor: 1, versionMinor: 1, headers, body: bytes.subarray(0, SENSOR_BODY_BYTES + 256), bodySize: bytes.length,
        bodyTruncated: bytes.length > SENSOR_BODY_BYTES + 256, upgrade: false, startNs: this.mono(startMs), endNs: this.mono(endMs),
        ...(kind === 'request' ? { method: x.method, target: x.target } : { status: x.status, statusText: STATUS_CODES[x.status] ?? '' }),
      };
    };
    const ex: HttpExchange = {
      conn, tid: x.pid,
      request: message('request', x.requestHeaders, x.requestBody, x.startMs, x.startMs + 0.05),
      response: message('response', x.responseHeaders, x.responseBody, x.endMs - 0.05, x.endMs),
      latencyNs: (x.endMs - x.startMs) * 1e6,
    };
    const red = redactExchange(ex, SENSOR_BODY_BYTES);
    const span = encodeSpan(httpSpan(ex, red, spanIds(ex, (n) => Buffer.from(this.rng.hex(n), 'hex')), this.offsetNs));
    this.push(this.spans, x.pid, span);
    this.spanCount++;
  }

  /** An exec, with the attributes the sensor's exec handler writes. */
  exec(e: ExecSpec): void {
    const rec: ExecRecord = { type: 'exec', tgid: e.pid, tid: e.pid, fd: 0, tsNs: this.mono(e.timeMs), connId: '0', ppid: e.ppid, uid: e.uid, cgroupId: '0', comm: comm(e.binary), filename: e.binary, args: e.args };
    const proc = this.processes.onExec(rec);
    this.hosts.set(e.pid, e.host);
    this.log(e.pid, {
      timeWallNs: BigInt(Math.round(rec.tsNs)) + this.offsetNs,
      body: `exec ${(proc.args ?? [rec.filename]).join(' ')}`,
      attributes: {
        'event.name': 'process.exec', 'process.pid': rec.tgid, 'process.parent_pid': rec.ppid, 'process.executable.path': rec.filename,
        'process.command': rec.comm, 'process.command_args': proc.args, 'process.owner': String(rec.uid), 'user.id': String(rec.uid), 'container.id': proc.containerId,
      },
    });
  }

  /** A TCP connection's open and close records, with the attributes of the sensor's connection handler. */
  connection(c: ConnectionSpec): void {
    this.hosts.set(c.pid, c.host);
    const common = {
      'network.transport': 'tcp', 'network.local.address': c.local.address, 'network.local.port': c.local.port,
      'network.peer.address': c.remote.address, 'network.peer.port': c.remote.port, 'peregrine.connection.role': c.role,
      'process.pid': c.pid, 'process.command': c.comm,
    };
    this.log(c.pid, { timeWallNs: this.wallNs(c.openMs), body: 'connection open', attributes: { 'event.name': 'network.connection.open', ...common } });
    this.log(c.pid, {
      timeWallNs: this.wallNs(c.closeMs), body: 'connection close',
      attributes: { 'event.name': 'network.connection.close', ...common, 'peregrine.connection.bytes_sent': c.bytesSent, 'peregrine.connection.bytes_received': c.bytesReceived, 'peregrine.connection.duration_ms': c.closeMs - c.openMs },
    });
  }

  private wallNs(ms: number): bigint {
    return BigInt(Math.round(this.mono(ms))) + this.offsetNs;
  }

  private log(pid: number, item: LogItem): void {
    this.push(this.logs, pid, item);
    this.logCount++;
  }

  private push<T>(map: Map<number, T[]>, pid: number, item: T): void {
    const list = map.get(pid);
    if (list) list.push(item);
    else map.set(pid, [item]);
  }

  private groups<T>(map: Map<number, T[]>): ResourceGroup<T>[] {
    return [...map].map(([pid, items]) => ({ resource: processResource(this.process(pid), { hostName: this.hosts.get(pid) ?? 'unknown' }), items }));
  }

  private process(pid: number): ProcessInfo {
    return this.processes.get(pid, '');
  }

  /** The queued spans as one ExportTraceServiceRequest (undefined when none); the queue empties. */
  takeSpans(): Uint8Array | undefined {
    if (this.spanCount === 0) return undefined;
    const body = encodeTraces(this.groups(this.spans));
    this.spans.clear();
    this.spanCount = 0;
    return body;
  }

  /**
   * The queued log records that have happened by `nowMs`, as one ExportLogsServiceRequest observed then (undefined when
   * none); they leave the queue. A record of the future (a connection's close, queued when it opened) waits for its
   * time: the sensor reports what the kernel saw when it saw it, and a record ahead of the rest would move the
   * features stage's watermark past the windows still being filled.
   */
  takeLogs(nowMs: number): Uint8Array | undefined {
    if (this.logCount === 0) return undefined;
    const now = this.wallNs(nowMs);
    const due = new Map<number, LogItem[]>();
    for (const [pid, items] of this.logs) {
      const ready = items.filter((item) => item.timeWallNs <= now);
      if (ready.length === 0) continue;
      due.set(pid, ready);
      this.logCount -= ready.length;
      if (ready.length === items.length) this.logs.delete(pid);
      else this.logs.set(pid, items.filter((item) => item.timeWallNs > now));
    }
    return due.size === 0 ? undefined : encodeLogs(this.groups(due), now);
  }

}

/** The kernel's comm: the executable's base name, at most 15 characters. */
export function comm(executable: string): string {
  return (executable.split('/').pop() ?? executable).slice(0, 15);
}
