/**
 * OTLP/gRPC: the trace, metrics and logs Export services. Request bytes are handed over as they arrive (identity
 * (de)serializers): the splitter reads them once. grpc-js decompresses gzip itself and enforces the message size
 * limit on the decompressed bytes.
 */
import { Metadata, Server, ServerCredentials, status as GrpcStatus, type ServiceDefinition, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { errorMessage } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import { describeOutcome, type OtlpExporter } from './exporter.ts';
import { bearerMatches, readTlsFiles, type TlsFiles } from '../../core/server-security.ts';
import { grpcPeerAddress } from './rate-limit.ts';
import { exportResponse, GRPC_CODE, ReceiverError, statusMessage } from './responses.ts';
import type { Signal } from './split.ts';

export interface GrpcReceiverOptions {
  host: string;
  port: number;
  maxDecompressedBytes: number;
  retryAfterSeconds: number;
  authToken?: string;
  tls?: TlsFiles;
  admitClient: (address: string) => void;
}

const SERVICES: Record<Signal, string> = {
  traces: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
  metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
};

const identity = (b: Buffer) => b;

function definition(path: string): ServiceDefinition {
  return {
    Export: {
      path, requestStream: false, responseStream: false,
      requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity,
    },
  } as ServiceDefinition;
}

export async function startGrpcReceiver(options: GrpcReceiverOptions, exporter: OtlpExporter, log: Logger): Promise<{ server: Server; port: number }> {
  const metrics = exporter.metrics;
  const server = new Server({
    'grpc.max_receive_message_length': options.maxDecompressedBytes,
    'grpc.max_send_message_length': 4 * 1024 * 1024,
  });

  function fail(callback: sendUnaryData<Buffer>, error: ReceiverError): void {
    const code = GRPC_CODE[error.kind];
    const metadata = new Metadata();
    // RESOURCE_EXHAUSTED is retryable only with RetryInfo (OTLP spec); UNAVAILABLE always is — both get the delay.
    if (error.retryable) metadata.set('grpc-status-details-bin', statusMessage(code, error.message, options.retryAfterSeconds));
    callback({ code, details: error.message, metadata });
  }

  for (const signal of Object.keys(SERVICES) as Signal[]) {
    server.addService(definition(SERVICES[signal]), {
      Export: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
        void (async () => {
          let ticket;
          try {
            options.admitClient(grpcPeerAddress(call.getPeer()));
            if (options.authToken && !bearerMatches(String(call.metadata.get('authorization')[0] ?? ''), options.authToken)) {
              throw new ReceiverError('unauthenticated', 'missing or wrong bearer token');
            }
            const body = call.request;
            metrics.bytes.inc({ transport: 'grpc', signal }, body.length);
            ticket = exporter.admission.enter();
            if (!ticket) throw new ReceiverError('overloaded', 'receiver has the most requests in flight it holds; retry later');
            ticket.reserve(body.length);
            const held = ticket;
            ticket = undefined;
            const outcome = await exporter.export(signal, body, held);
            metrics.requests.inc({ transport: 'grpc', signal, outcome: outcome.rejected ? 'partial' : 'ok' });
            if (outcome.rejected) log.debug({ signal, transport: 'grpc' }, describeOutcome(signal, outcome));
            callback(null, exportResponse(signal, outcome.rejected, outcome.errorMessage, false));
          } catch (e) {
            ticket?.release();
            const error = e instanceof ReceiverError ? e : new ReceiverError('unavailable', `internal error: ${errorMessage(e)}`);
            if (!(e instanceof ReceiverError)) log.error({ err: errorMessage(e), signal }, 'OTLP/gRPC request failed');
            metrics.requests.inc({ transport: 'grpc', signal, outcome: error.kind });
            fail(callback, error);
          }
        })();
      },
    });
  }

  const pem = options.tls && readTlsFiles(options.tls, 'receiver.tls');
  const credentials = pem ? ServerCredentials.createSsl(null, [{ cert_chain: pem.cert, private_key: pem.key }], false) : ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${options.host}:${options.port}`, credentials, (error, bound) => (error ? reject(error) : resolve(bound)));
  });
  return { server, port };
}

export { GrpcStatus };
