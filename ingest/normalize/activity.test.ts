import { describe, expect, it } from 'vitest';
import type { LogRecordEvent } from '../../core/events.ts';
import { activityEvent } from './activity.ts';

const log = (attributes: LogRecordEvent['attributes'], extra: Partial<LogRecordEvent> = {}): LogRecordEvent => ({
  kind: 'log', timeMs: 1_764_547_200_123.5, service: 'node', severity: 9, body: 'x', attributes,
  resource: { 'service.name': 'node', 'host.name': 'node-7' }, ...extra,
});

describe('activityEvent', () => {
  it('maps a process.exec record, arguments from their flattened JSON array', () => {
    expect(activityEvent(log({
      'event.name': 'process.exec', 'process.pid': 4242, 'process.parent_pid': 1, 'process.executable.path': '/usr/bin/curl',
      'process.command': 'curl', 'process.command_args': '["curl","-s","http://x/?token=[REDACTED]"]', 'user.id': '1000',
    }))).toEqual({
      kind: 'exec', timeMs: 1_764_547_200_123.5, host: 'node-7', pid: 4242, ppid: 1, uid: 1000, binary: '/usr/bin/curl',
      args: ['curl', '-s', 'http://x/?token=[REDACTED]'],
    });
  });

  it('maps connection open and close, with the byte counts of the close', () => {
    const open = activityEvent(log({
      'event.name': 'network.connection.open', 'network.local.address': '127.0.0.1', 'network.local.port': 8080,
      'network.peer.address': '127.0.0.1', 'network.peer.port': 51234, 'peregrine.connection.role': 'server', 'process.pid': 7, 'process.command': 'node',
    }));
    expect(open).toMatchObject({ kind: 'connection', phase: 'open', role: 'server', localPort: 8080, remotePort: 51234, pid: 7, command: 'node', host: 'node-7' });
    const close = activityEvent(log({
      'event.name': 'network.connection.close', 'network.peer.address': '10.0.0.9', 'network.peer.port': 443,
      'peregrine.connection.role': 'client', 'peregrine.connection.bytes_sent': 512, 'peregrine.connection.bytes_received': 2048,
    }, { eventName: undefined }));
    expect(close).toMatchObject({ kind: 'connection', phase: 'close', role: 'client', remoteAddress: '10.0.0.9', bytesSent: 512, bytesReceived: 2048, localAddress: '', localPort: 0 });
  });

  it('prefers the OTLP event_name field and reads an unknown role as unknown', () => {
    const e = activityEvent(log({ 'network.peer.address': '::1', 'network.peer.port': 9, 'peregrine.connection.role': 'sideways' }, { eventName: 'network.connection.open' }));
    expect(e).toMatchObject({ kind: 'connection', role: 'unknown', remoteAddress: '::1' });
  });

  it('leaves other records, and activity records missing what identifies them, as log records', () => {
    const plain = log({ 'http.route': '/x' });
    expect(activityEvent(plain)).toBe(plain);
    const noPid = log({ 'event.name': 'process.exec', 'process.executable.path': '/bin/sh' }, { resource: { 'service.name': 'sh' } });
    expect(activityEvent(noPid)).toBe(noPid);
    const noPeer = log({ 'event.name': 'network.connection.close', 'peregrine.connection.bytes_sent': 1 });
    expect(activityEvent(noPeer)).toBe(noPeer);
    const other = log({ 'event.name': 'session.start' });
    expect(activityEvent(other)).toBe(other);
  });

  it('keeps an argument list that is not JSON as one argument', () => {
    expect(activityEvent(log({ 'event.name': 'process.exec', 'process.pid': 1, 'process.command': 'init', 'process.command_args': '[not json' })))
      .toMatchObject({ binary: 'init', args: ['[not json'], host: 'node-7' });
  });
});
