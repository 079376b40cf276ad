import { readFileSync } from 'node:fs';
import { parseKeyPairsIntoRecord } from '@opentelemetry/core';
import type { Command } from 'commander';
import { ConfigError } from '../core/errors.ts';
import { logger } from '../core/log.ts';
import { DEFAULT_LOADER, Sensor, SensorUnavailableError, type SensorOutput } from './agent/sensor.ts';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function positiveInt(name: string, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new ConfigError(`${name} must be an integer from 1 to ${max}, got "${value}"`, name);
    return n;
  };
}

/**
 * The export's headers and trusted CA, from the flags and the OpenTelemetry exporter variables
 * (OTEL_EXPORTER_OTLP_HEADERS: `name=value` pairs, comma-separated, values URL-encoded).
 */
export function otlpSecurity(headerFlags: string[], caFlag: string | undefined, env: NodeJS.ProcessEnv): { headers: Record<string, string>; ca?: string } {
  const headers = parseKeyPairsIntoRecord(env.OTEL_EXPORTER_OTLP_HEADERS);
  for (const flag of headerFlags) {
    const at = flag.indexOf('=');
    // The flag may hold a secret: the message does not repeat it.
    if (at < 1) throw new ConfigError('--otlp-header takes name=value (e.g. "Authorization=Bearer …"); one had no name', '--otlp-header');
    headers[flag.slice(0, at).trim()] = flag.slice(at + 1).trim();
  }
  const caFile = caFlag ?? env.OTEL_EXPORTER_OTLP_CERTIFICATE;
  if (caFile === undefined) return { headers };
  const key = caFlag ? '--otlp-ca' : 'OTEL_EXPORTER_OTLP_CERTIFICATE';
  let ca: string;
  try {
    ca = readFileSync(caFile, 'utf8');
  } catch (e) {
    throw new ConfigError(`${key}: cannot read ${caFile}: ${(e as Error).message}`, key);
  }
  if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(`${key}: ${caFile} holds no PEM certificate`, key);
  return { headers, ca };
}

/** `peregrine sensor`: the eBPF node sensor. */
export function registerSensorCommand(program: Command): void {
  program
    .command('sensor')
    .description('Capture HTTP (and TLS plaintext), connections and execs on this node with eBPF; export OTLP or Pixie rows')
    .option('--otlp-endpoint <url>', 'OTLP/HTTP endpoint (the local stack\'s OTLP front end by default)', 'http://127.0.0.1:4318')
    .option('--otlp-header <name=value>', 'a header sent with every export, e.g. "Authorization=Bearer …" (repeatable; adds to OTEL_EXPORTER_OTLP_HEADERS, which keeps secrets off the command line)', collect, [])
    .option('--otlp-ca <file>', 'PEM CA bundle trusted for an https:// endpoint (default: OTEL_EXPORTER_OTLP_CERTIFICATE, then the system\'s)')
    .option('--output <kind-and-file...>', 'write Pixie http_events JSON lines instead of OTLP: --output pixie FILE')
    .option('--body-bytes <n>', 'body bytes kept per request and response', positiveInt('--body-bytes', 65536), 4096)
    .option('--capture-bytes <n>', 'bytes the kernel copies per read/write (max 16384)', positiveInt('--capture-bytes', 16384), 4096)
    .option('--tls-target <path>', 'a library or binary exporting SSL_read/SSL_write (repeatable; adds to discovery)', collect, [])
    .option('--no-tls-discovery', 'attach TLS uprobes only to the --tls-target paths')
    .option('--redact-header <name>', 'another header whose value is always masked (repeatable)', collect, [])
    .option('--redact-field <name>', 'another JSON/form/query field whose value is always masked (repeatable)', collect, [])
    .option('--exclude-pid <pid>', 'a process whose sockets are not captured (repeatable)', collect, [])
    .option('--no-connection-logs', 'do not export connection open/close log records')
    .option('--duration <seconds>', 'stop after this many seconds', positiveInt('--duration', 86400 * 365))
    .option('--loader <path>', 'the built loader', DEFAULT_LOADER)
    .action(async (opts: {
      otlpEndpoint: string; otlpHeader: string[]; otlpCa?: string; output?: string[]; bodyBytes: number; captureBytes: number; tlsTarget: string[];
      tlsDiscovery: boolean; redactHeader: string[]; redactField: string[]; excludePid: string[];
      connectionLogs: boolean; duration?: number; loader: string;
    }) => {
      let output: SensorOutput;
      if (opts.output) {
        if (opts.output.length !== 2 || opts.output[0] !== 'pixie') {
          throw new ConfigError('--output takes a format and a file: --output pixie FILE', '--output');
        }
        output = { kind: 'pixie', file: opts.output[1] };
      } else {
        try {
          new URL(opts.otlpEndpoint);
        } catch {
          throw new ConfigError(`--otlp-endpoint is not a URL: "${opts.otlpEndpoint}"`, '--otlp-endpoint');
        }
        output = { kind: 'otlp', endpoint: opts.otlpEndpoint, ...otlpSecurity(opts.otlpHeader, opts.otlpCa, process.env) };
      }
      const excludePids = opts.excludePid.map((p) => {
        const n = Number(p);
        if (!Number.isInteger(n) || n < 1) throw new ConfigError(`--exclude-pid must be a process id, got "${p}"`, '--exclude-pid');
        return n;
      });
      const sensor = new Sensor({
        output,
        bodyBytes: opts.bodyBytes,
        captureBytes: opts.captureBytes,
        loaderPath: opts.loader,
        tlsTargets: opts.tlsDiscovery ? 'auto' : opts.tlsTarget,
        extraTlsTargets: opts.tlsDiscovery ? opts.tlsTarget : [],
        redaction: { headers: opts.redactHeader, fields: opts.redactField },
        connectionLogs: opts.connectionLogs,
        excludePids,
      });
      const log = logger().child({ component: 'ebpf-sensor' });
      try {
        await sensor.start();
      } catch (e) {
        if (e instanceof SensorUnavailableError) {
          process.stderr.write(`peregrine sensor: eBPF is not available here: ${e.message}\n`);
          process.exitCode = 3;
          return;
        }
        throw e;
      }
      log.info({ output: output.kind === 'pixie' ? `pixie:${output.file}` : output.endpoint, tlsTargets: sensor.stats.tlsTargets }, 'sensor running');
      await new Promise<void>((resolveStop) => {
        const stop = (): void => resolveStop();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        if (opts.duration) setTimeout(stop, opts.duration * 1000).unref();
        const watch = setInterval(() => {
          if (!sensor.running) stop();
        }, 500);
        watch.unref();
      });
      const stats = await sensor.stop();
      log.info({
        exchanges: stats.exchanges, execs: stats.execs, connectionsOpened: stats.connectionsOpened,
        exportedSpans: stats.exportedSpans, pixieRows: stats.pixieRows, ringbufDrops: stats.loader?.ringbufDrops ?? 0,
        unparseable: stats.tracker.unparseable, droppedExports: stats.droppedExports,
      }, 'sensor stopped');
    });
}
