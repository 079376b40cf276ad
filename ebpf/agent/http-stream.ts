/**
 * One direction of an HTTP/1.x connection as a stream of messages, parsed by llhttp — the parser
 * inside Node's own http module, reached through `_http_common.HTTPParser`. (The npm `llhttp`
 * package is its C generator, not a runtime parser; http-parser-js is a pure-JS re-implementation.
 * Node's binding is native, is what every Node server trusts with untrusted input, and handles
 * keep-alive, pipelining and chunked encoding.) The binding is internal to Node, so it is used only
 * here, behind this class.
 *
 * Pure computation, no I/O. Capture gaps (a chunk whose true size exceeds what the kernel copied)
 * inside a Content-Length body are skipped by counting, so a 1 GB upload costs nothing; anywhere
 * else a gap breaks the stream, which then waits for the next chunk that starts a message.
 */
import { createRequire } from 'node:module';
import type { MonoNs } from './frames.ts';
import { parseFast } from './http-fast.ts';

interface NodeHttpParser {
  initialize(type: number, resource: object, maxHeaderSize?: number, lenient?: number): void;
  execute(data: Buffer): number | Error;
  finish(): number | Error | undefined;
  remove(): void;
  free(): void;
  [key: number]: unknown;
}
interface NodeHttpParserClass {
  new (): NodeHttpParser;
  REQUEST: number;
  RESPONSE: number;
  kOnMessageBegin: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
}

const require = createRequire(import.meta.url);
const { HTTPParser, methods } = require('_http_common') as { HTTPParser: NodeHttpParserClass; methods: string[] };

export type Header = [name: string, value: string];

export interface HttpMessage {
  kind: 'request' | 'response';
  method?: string;
  target?: string;
  status?: number;
  statusText?: string;
  versionMajor: number;
  versionMinor: number;
  headers: Header[];
  /** The first bytes of the (de-chunked) body, up to the excerpt limit; stops at a capture gap. */
  body: Buffer;
  /** True body size (what the peer sent, de-chunked), even where bytes were not captured. */
  bodySize: number;
  /** The excerpt is shorter than the body. */
  bodyTruncated: boolean;
  upgrade: boolean;
  startNs: MonoNs;
  endNs: MonoNs;
}

export interface StreamOptions {
  /** Body bytes kept per message (the exported excerpt plus a margin the redactor needs). */
  keepBodyBytes: number;
  maxHeaderBytes: number;
  /** False: every byte goes through llhttp (the differential tests compare the two). */
  fastPath?: boolean;
}

export type FeedResult = 'ok' | 'error' | 'lost';

const METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE', 'PROPFIND',
  'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'SEARCH', 'PURGE', 'REPORT']);
const REQUEST_LINE = /^([A-Z]{3,9}) (\S+)(?: (HTTP\/1\.[01])\r?\n| ?$|( ))/;
const RESPONSE_START = /^HTTP\/1\.[01] \d{3}/;

/** Whether a chunk can begin a message of this kind (used to start and to resynchronize). */
export function startsMessage(kind: 'request' | 'response', data: Buffer): boolean {
  if (plainStart(kind, data)) return true;
  const head = data.toString('latin1', 0, Math.min(data.length, 256));
  if (kind === 'request') {
    const m = REQUEST_LINE.exec(head);
    if (!m || !METHODS.has(m[1])) return false;
    // A full request line must say HTTP/1.x; a line cut by the end of the chunk gets the benefit of the doubt.
    return m[3] !== undefined || (m[4] === undefined && !head.includes('\n'));
  }
  return RESPONSE_START.test(head) || (data.length < 12 && /^HTTP\/1\.?[01]?$/.test(head));
}

/**
 * The usual message start, checked on the bytes: what the patterns above accept for sure (a
 * complete `METHOD target HTTP/1.x` line with a visible-ASCII target, or `HTTP/1.x ddd`), without
 * making a string of the chunk's head. Anything else is left to the patterns.
 */
function plainStart(kind: 'request' | 'response', data: Buffer): boolean {
  if (kind === 'response') {
    return data.length >= 12 && data[0] === 72 && data[1] === 84 && data[2] === 84 && data[3] === 80 && data[4] === 47 &&
      data[5] === 49 && data[6] === 46 && (data[7] === 48 || data[7] === 49) && data[8] === 32 &&
      data[9] >= 48 && data[9] <= 57 && data[10] >= 48 && data[10] <= 57 && data[11] >= 48 && data[11] <= 57;
  }
  const limit = Math.min(data.length, 256);
  let i = 0;
  while (i < limit && data[i] >= 65 && data[i] <= 90) i++;
  if (i < 3 || i > 9 || data[i] !== 32 || !METHODS.has(data.toString('latin1', 0, i))) return false;
  const t = ++i;
  while (i < limit && data[i] > 32 && data[i] < 127) i++;
  if (i === t || i + 10 > limit || data[i] !== 32) return false;
  // " HTTP/1.x" then "\n" or "\r\n", all inside the 256 bytes the pattern looks at
  if (data[i + 1] !== 72 || data[i + 2] !== 84 || data[i + 3] !== 84 || data[i + 4] !== 80 || data[i + 5] !== 47 || data[i + 6] !== 49 || data[i + 7] !== 46) return false;
  if (data[i + 8] !== 48 && data[i + 8] !== 49) return false;
  return data[i + 9] === 10 || (data[i + 9] === 13 && i + 10 < limit && data[i + 10] === 10);
}

const ZEROS = Buffer.alloc(64 * 1024);

export class HttpStream {
  private parser: NodeHttpParser | undefined;
  private current: Partial<HttpMessage> & { headers: Header[]; bodyParts: Buffer[]; kept: number } | undefined;
  private chunkTs: MonoNs = 0;
  private contentLength: number | undefined;
  private chunked = false;
  /** Bytes of a Content-Length body still to come, counted by hand after a capture gap. */
  private skipping = 0;
  private failed = false;
  private stopped = false;
  /** llhttp parsed a message after which the connection closes: it judges what follows. */
  private llhttpClosing = false;
  /**
   * The fast path completed messages since the last reset: the stream is where a parser that had
   * parsed them would be (at a message boundary), so one is created only when llhttp is needed.
   */
  private midStream = false;
  readonly completed: HttpMessage[] = [];

  constructor(
    readonly kind: 'request' | 'response',
    private readonly options: StreamOptions,
    /** For responses: the method of the request this response answers (HEAD has no body). */
    private readonly requestMethod: () => string | undefined = () => undefined,
  ) {}

  /** The stream hit an upgrade (WebSocket, CONNECT): what follows is not HTTP. */
  get upgraded(): boolean {
    return this.stopped;
  }

  get inMessage(): boolean {
    return this.current !== undefined || this.skipping > 0;
  }

  /**
   * Feeds one captured chunk: `data` is what was captured, `size` what really moved. Returns
   * 'lost' while waiting for a message start, 'error' when this chunk broke the stream.
   */
  feed(data: Buffer, size: number, tsNs: MonoNs): FeedResult {
    if (this.stopped) return 'ok';
    this.chunkTs = tsNs;
    let offset = 0;
    if (this.skipping > 0) {
      const n = Math.min(this.skipping, size);
      this.skipping -= n;
      offset = n;
      if (this.skipping > 0) return 'ok';
      this.finishSkippedMessage();
      if (offset >= size) return 'ok';
      data = data.subarray(Math.min(offset, data.length));
      size -= offset;
    }
    if (this.options.fastPath !== false && this.current === undefined && size === data.length && data.length > 0 && !this.llhttpClosing) {
      // Whole plain messages are parsed in JS; llhttp takes over from the first one that is not.
      const used = this.parseWhole(data);
      if (used > 0) {
        this.midStream = true;
        if (used === data.length) return 'ok';
        data = data.subarray(used);
        size -= used;
      }
    }
    if (!this.parser) {
      // Mid-stream (messages were parsed here), llhttp judges the bytes as if it had parsed those
      // messages itself; only a fresh stream waits for a message start.
      if (!this.midStream && !startsMessage(this.kind, data)) {
        this.failed = true;
        return 'lost';
      }
      this.newParser();
    }
    const result = this.execute(data);
    if (result !== 'ok') return result;
    const gap = size - data.length;
    if (gap > 0) return this.skipGap(gap);
    return 'ok';
  }

  /** The peer closed: completes a message delimited by the end of the connection. */
  finish(tsNs: MonoNs): void {
    if (!this.parser || this.stopped) return;
    this.chunkTs = tsNs;
    try {
      this.parser.finish();
    } catch {
      // an incomplete message at close is simply not reported
    }
  }

  /** True once the stream has lost sync at least once (for the unparseable counter). */
  get everFailed(): boolean {
    return this.failed;
  }

  /** Completes the whole plain messages at the start of `data`; returns the bytes they took. */
  private parseWhole(data: Buffer): number {
    const method = this.kind === 'response' ? this.requestMethod() : undefined;
    let off = 0;
    while (off < data.length) {
      const next = parseFast(this.kind, data, off, method, this.options.keepBodyBytes, this.options.maxHeaderBytes, this.chunkTs, this.completed);
      if (next < 0) break;
      off = next;
    }
    return off;
  }

  dispose(): void {
    this.llhttpClosing = false;
    this.midStream = false;
    if (!this.parser) return;
    this.parser.remove();
    this.parser.free();
    this.parser = undefined;
  }

  private execute(data: Buffer): FeedResult {
    const parser = this.parser!;
    let ret: number | Error;
    try {
      ret = parser.execute(data);
    } catch {
      ret = new Error('parser threw');
    }
    if (this.stopped) {
      // An upgrade ends HTTP on this stream; llhttp reports the pause as an error.
      this.dispose();
      return 'ok';
    }
    if (ret instanceof Error) {
      this.reset();
      this.failed = true;
      return 'error';
    }
    return 'ok';
  }

  private skipGap(gap: number): FeedResult {
    const cur = this.current;
    if (cur && cur.bodySize !== undefined && this.contentLength !== undefined && !this.chunked) {
      // Inside a Content-Length body: count the missing bytes instead of parsing them.
      const remaining = this.contentLength - cur.bodySize;
      if (gap <= remaining) {
        cur.bodyTruncated = true;
        this.dispose(); // the parser lost sync with the bytes; a new one starts after the body
        this.skipping = remaining;
        const n = Math.min(gap, this.skipping);
        this.skipping -= n;
        if (this.skipping === 0) this.finishSkippedMessage();
        return 'ok';
      }
    }
    if (cur && cur.bodySize !== undefined && this.chunked) {
      // Chunked: filler keeps the parser counting if the gap lies inside one chunk's data; if it
      // crosses chunk framing the parser errors and we resynchronize.
      cur.bodyTruncated = true;
      (cur as { filling?: boolean }).filling = true;
      let left = gap;
      while (left > 0) {
        const n = Math.min(left, ZEROS.length);
        if (this.execute(ZEROS.subarray(0, n)) !== 'ok') return 'error';
        left -= n;
      }
      if (this.current) (this.current as { filling?: boolean }).filling = false;
      return 'ok';
    }
    // Headers (or framing) were cut: this message is gone.
    this.reset();
    this.failed = true;
    return 'error';
  }

  private finishSkippedMessage(): void {
    const cur = this.current;
    this.current = undefined;
    if (!cur) return;
    cur.bodySize = this.contentLength ?? cur.bodySize ?? 0;
    this.complete(cur);
  }

  private reset(): void {
    this.dispose();
    this.current = undefined;
    this.skipping = 0;
  }

  private newParser(): void {
    const parser = new HTTPParser();
    parser.initialize(this.kind === 'request' ? HTTPParser.REQUEST : HTTPParser.RESPONSE, {}, this.options.maxHeaderBytes, 0);
    parser[HTTPParser.kOnMessageBegin] = () => {
      this.current = { kind: this.kind, headers: [], bodyParts: [], kept: 0, bodySize: undefined, startNs: this.chunkTs };
      this.contentLength = undefined;
      this.chunked = false;
    };
    // Long header blocks arrive in pieces before headers-complete; trailers arrive here after it
    // (with the url again, which is then not the target's).
    parser[HTTPParser.kOnHeaders] = (headers: string[], url: string) => {
      const cur = this.current;
      if (!cur) return;
      for (let i = 0; i + 1 < headers.length; i += 2) cur.headers.push([headers[i], headers[i + 1]]);
      if (cur.bodySize === undefined) cur.target = (cur.target ?? '') + (url ?? '');
    };
    parser[HTTPParser.kOnHeadersComplete] = (
      major: number, minor: number, headers: string[] | undefined, method: number | undefined, url: string | undefined,
      status: number | undefined, statusText: string | undefined, upgrade: boolean, shouldKeepAlive: boolean,
    ): number => {
      const cur = this.current;
      if (!cur) return 0;
      if (!shouldKeepAlive) this.llhttpClosing = true;
      if (headers) for (let i = 0; i + 1 < headers.length; i += 2) cur.headers.push([headers[i], headers[i + 1]]);
      if (url) cur.target = (cur.target ?? '') + url;
      cur.versionMajor = major;
      cur.versionMinor = minor;
      cur.upgrade = upgrade;
      cur.bodySize = 0;
      if (this.kind === 'request') {
        cur.method = method !== undefined ? methods[method] : undefined;
      } else {
        cur.status = status;
        cur.statusText = statusText;
      }
      for (const [name, value] of cur.headers) {
        const lower = name.toLowerCase();
        if (lower === 'content-length') this.contentLength = Number(value);
        else if (lower === 'transfer-encoding' && /chunked/i.test(value)) this.chunked = true;
      }
      if (this.kind === 'response') {
        const reqMethod = this.requestMethod();
        if (reqMethod === 'HEAD') return 1; // no body follows, whatever the headers say
        if (status === 101 || (reqMethod === 'CONNECT' && status !== undefined && status >= 200 && status < 300)) {
          cur.upgrade = true;
          return 2;
        }
      }
      return 0;
    };
    parser[HTTPParser.kOnBody] = (chunk: Buffer) => {
      const cur = this.current as (typeof this.current & { filling?: boolean }) | undefined;
      if (!cur) return;
      cur.bodySize = (cur.bodySize ?? 0) + chunk.length;
      if (cur.filling || cur.bodyTruncated) return;
      const room = this.options.keepBodyBytes - cur.kept;
      if (room <= 0) {
        cur.bodyTruncated = true;
        return;
      }
      const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
      cur.bodyParts.push(Buffer.from(part));
      cur.kept += part.length;
      if (chunk.length > room) cur.bodyTruncated = true;
    };
    parser[HTTPParser.kOnMessageComplete] = () => {
      const cur = this.current;
      this.current = undefined;
      if (!cur) return;
      this.complete(cur);
      if (cur.upgrade) this.stopped = true;
    };
    this.parser = parser;
  }

  private complete(cur: Partial<HttpMessage> & { headers: Header[]; bodyParts: Buffer[] }): void {
    this.completed.push({
      kind: this.kind,
      method: cur.method,
      target: cur.target,
      status: cur.status,
      statusText: cur.statusText,
      versionMajor: cur.versionMajor ?? 1,
      versionMinor: cur.versionMinor ?? 1,
      headers: cur.headers,
      body: cur.bodyParts.length === 1 ? cur.bodyParts[0] : Buffer.concat(cur.bodyParts),
      bodySize: cur.bodySize ?? 0,
      bodyTruncated: cur.bodyTruncated ?? false,
      upgrade: cur.upgrade ?? false,
      startNs: cur.startNs ?? this.chunkTs,
      endNs: this.chunkTs,
    });
  }
}
