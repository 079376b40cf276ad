/** OTLP/HTTP: POST /v1/traces, /v1/metrics, /v1/logs with protobuf or JSON bodies, optionally gzip. */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { errorMessage } from '../../core/errors.ts';
import { bearerMatches, readTlsFiles, type TlsFiles } from '../../core/server-security.ts';
import type { Logger } from '../../core/log.ts';
import { describeOutcome, type OtlpExporter } from './exporter.ts';
import { otlpJsonToProto } from './json.ts';
import { gunzipCapped, readBody } from './body.ts';
import { exportResponse, GRPC_CODE, HTTP_STATUS, ReceiverError, statusJson, statusMessage } from './responses.ts';
import type { Signal } from './split.ts';

export interface HttpReceiverOptions {
  host: string;
  port: number;
  maxRequestBytes: number;
  maxDecompressedBytes: number;
  retryAfterSeconds: number;
  authToken?: string;
  tls?: TlsFiles;
  /** Checked before anything else, so floods of unauthenticated requests are bounded too. */
  admitClient: (address: string) => void;
}

const PATHS: Record<string, Signal> = { '/v1/traces': 'traces', '/v1/metrics': 'metrics', '/v1/logs': 'logs' };

type Encoding = 'proto' | 'json';

function contentEncoding(type: string | undefined): Encoding | undefined {
  const base = (type ?? '').split(';')[0]!.trim().toLowerCase();
  if (base === 'application/x-protobuf' || base === 'application/protobuf') return 'proto';
  if (base === 'application/json') return 'json';
  return undefined;
}

export async function startHttpReceiver(options: HttpReceiverOptions, exporter: OtlpExporter, log: Logger): Promise<{ server: Server; port: number }> {
  const metrics = exporter.metrics;
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    void handle(req, res);
  };
  const server = options.tls
    ? createHttpsServer(readTlsFiles(options.tls, 'receiver.tls'), handler)
    : createHttpServer(handler);
  // Slow clients must not hold slots forever.
  server.requestTimeout = 60_000;
  server.headersTimeout = 30_000;

  function fail(res: ServerResponse, encoding: Encoding | undefined, error: ReceiverError, closeConnection: boolean): void {
    const status = HTTP_STATUS[error.kind];
    const headers: Record<string, string> = { 'content-type': encoding === 'proto' ? 'application/x-protobuf' : 'application/json' };
    if (error.retryable) headers['retry-after'] = String(options.retryAfterSeconds);
    if (error.kind === 'method') headers.allow = 'POST';
    if (error.kind === 'unauthenticated') headers['www-authenticate'] = 'Bearer';
    if (closeConnection) headers.connection = 'close';
    const code = GRPC_CODE[error.kind];
    res.writeHead(status, headers);
    res.end(encoding === 'proto' ? statusMessage(code, error.message) : statusJson(code, error.message));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    const signal = PATHS[path];
    const encoding = contentEncoding(req.headers['content-type']);
    let ticket;
    try {
      if (!signal) throw new ReceiverError('not_found', `no OTLP endpoint at ${path} (use /v1/traces, /v1/metrics or /v1/logs)`);
      if (req.method !== 'POST') throw new ReceiverError('method', `${req.method} is not allowed on ${path}; OTLP/HTTP uses POST`);
      options.admitClient(req.socket.remoteAddress ?? 'unknown');
      if (options.authToken && !bearerMatches(req.headers.authorization, options.authToken)) {
        throw new ReceiverError('unauthenticated', 'missing or wrong bearer token');
      }
      if (!encoding) {
        throw new ReceiverError('unsupported_media', `unsupported content type '${req.headers['content-type'] ?? ''}' (use application/x-protobuf or application/json)`);
      }
      const contentEnc = (req.headers['content-encoding'] ?? 'identity').toLowerCase().trim();
      if (contentEnc !== 'gzip' && contentEnc !== 'identity') {
        throw new ReceiverError('unsupported_media', `unsupported content encoding '${contentEnc}' (use gzip or none)`);
      }
      ticket = exporter.admission.enter();
      if (!ticket) throw new ReceiverError('overloaded', 'receiver has the most requests in flight it holds; retry later');
      const raw = await readBody(req, options.maxRequestBytes);
      metrics.bytes.inc({ transport: 'http', signal }, raw.length);
      const body = contentEnc === 'gzip' ? await gunzipCapped(raw, options.maxDecompressedBytes) : raw;
      if (body.length > options.maxDecompressedBytes) throw new ReceiverError('too_large', `request body of ${body.length} bytes is over the limit of ${options.maxDecompressedBytes} bytes`);
      ticket.reserve(body.length);
      let proto: Uint8Array;
      try {
        proto = encoding === 'json' ? otlpJsonToProto(signal, body) : body;
      } catch (e) {
        throw new ReceiverError('malformed', errorMessage(e));
      }
      const held = ticket;
      ticket = undefined;
      const outcome = await exporter.export(signal, proto, held);
      metrics.requests.inc({ transport: 'http', signal, outcome: outcome.rejected ? 'partial' : 'ok' });
      if (outcome.rejected) log.debug({ signal, transport: 'http' }, describeOutcome(signal, outcome));
      res.writeHead(200, { 'content-type': encoding === 'proto' ? 'application/x-protobuf' : 'application/json' });
      res.end(exportResponse(signal, outcome.rejected, outcome.errorMessage, encoding === 'json'));
    } catch (e) {
      ticket?.release();
      const error = e instanceof ReceiverError ? e : new ReceiverError('unavailable', `internal error: ${errorMessage(e)}`);
      if (!(e instanceof ReceiverError)) log.error({ err: errorMessage(e), path }, 'OTLP/HTTP request failed');
      metrics.requests.inc({ transport: 'http', signal: signal ?? 'none', outcome: error.kind });
      // A refused body may still be arriving: answer, then drop the connection instead of reading it all.
      const unread = !req.complete;
      fail(res, encoding, error, unread);
      if (unread) res.on('finish', () => req.destroy());
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (e) => log.error({ err: e.message }, 'OTLP/HTTP server error'));
  return { server, port: (server.address() as AddressInfo).port };
}
