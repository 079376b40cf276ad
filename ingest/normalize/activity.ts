/**
 * Log records that describe node activity → typed events: `process.exec` → ProcessExecEvent,
 * `network.connection.open` / `.close` → ConnectionEvent. Peregrine's eBPF sensor exports execs and
 * connection lifecycle as OTLP log records with these event names (attributes after the
 * OpenTelemetry process and network conventions); any other producer that does the same is read the
 * same way. Pure.
 */
import { arrayAttribute, type ConnectionEvent, type LogRecordEvent, type NormalizedEvent, type ProcessExecEvent } from '../../core/events.ts';

type Attributes = LogRecordEvent['attributes'];

const EXEC = 'process.exec';
const CONNECTION_PHASES: Readonly<Record<string, ConnectionEvent['phase']>> = {
  'network.connection.open': 'open',
  'network.connection.close': 'close',
};
const ROLES = new Set<ConnectionEvent['role']>(['client', 'server', 'unknown']);

/** The event name: OTLP's `event_name` field, else the older `event.name` attribute. */
function eventNameOf(log: LogRecordEvent): string | undefined {
  if (log.eventName) return log.eventName;
  const name = log.attributes['event.name'];
  return typeof name === 'string' ? name : undefined;
}

function int(attrs: Attributes | undefined, key: string): number | undefined {
  const v = attrs?.[key];
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
  return Number.isInteger(n) ? n : undefined;
}

function text(attrs: Attributes | undefined, key: string): string | undefined {
  const v = attrs?.[key];
  return v === undefined ? undefined : String(v);
}

/** `process.command_args` arrives flattened to JSON text (an OTLP array value); a plain string is one argument. */
function args(value: string | number | boolean | undefined): string[] {
  if (typeof value !== 'string') return [];
  return arrayAttribute(value)?.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))) ?? [value];
}

/** The host: resource `host.name`, else the service (a sensor names its resource after the process). */
function hostOf(log: LogRecordEvent): string {
  return text(log.resource, 'host.name') ?? log.service;
}

function execEvent(log: LogRecordEvent): ProcessExecEvent | undefined {
  const a = log.attributes;
  const pid = int(a, 'process.pid') ?? int(log.resource, 'process.pid');
  const binary = text(a, 'process.executable.path') ?? text(a, 'process.command');
  if (pid === undefined || binary === undefined) return undefined;
  return {
    kind: 'exec',
    timeMs: log.timeMs,
    host: hostOf(log),
    pid,
    ppid: int(a, 'process.parent_pid'),
    uid: int(a, 'user.id') ?? int(a, 'process.owner'),
    binary,
    args: args(a['process.command_args']),
  };
}

function connectionEvent(log: LogRecordEvent, phase: ConnectionEvent['phase']): ConnectionEvent | undefined {
  const a = log.attributes;
  const remoteAddress = text(a, 'network.peer.address');
  const remotePort = int(a, 'network.peer.port');
  // A close whose open the sensor never saw has no addresses: nothing to key it by.
  if (remoteAddress === undefined || remotePort === undefined) return undefined;
  const role = text(a, 'peregrine.connection.role') as ConnectionEvent['role'] | undefined;
  return {
    kind: 'connection',
    timeMs: log.timeMs,
    host: hostOf(log),
    pid: int(a, 'process.pid') ?? int(log.resource, 'process.pid'),
    command: text(a, 'process.command'),
    role: role !== undefined && ROLES.has(role) ? role : 'unknown',
    phase,
    localAddress: text(a, 'network.local.address') ?? '',
    localPort: int(a, 'network.local.port') ?? 0,
    remoteAddress,
    remotePort,
    bytesSent: int(a, 'peregrine.connection.bytes_sent'),
    bytesReceived: int(a, 'peregrine.connection.bytes_received'),
  };
}

/** The typed event a log record stands for, or the log record itself. */
export function activityEvent(log: LogRecordEvent): LogRecordEvent | ConnectionEvent | ProcessExecEvent {
  const name = eventNameOf(log);
  if (name === undefined) return log;
  if (name === EXEC) return execEvent(log) ?? log;
  const phase = CONNECTION_PHASES[name];
  return phase === undefined ? log : connectionEvent(log, phase) ?? log;
}

export function activityEvents(logs: readonly LogRecordEvent[]): NormalizedEvent[] {
  return logs.map(activityEvent);
}
