import { describe, expect, it } from 'vitest';
import { allExpectedHealthy, formatStatusTable, type ServiceStatus } from './status-format.ts';

const row = (over: Partial<ServiceStatus>): ServiceStatus => ({
  service: 'kafka', pid: 10, port: 9092, url: '127.0.0.1:9092', health: 'healthy', detail: 'ok', version: '4.3.1', rssBytes: 300 * 1048576, expected: true, ...over,
});

describe('status table', () => {
  it('lines up columns and shows - for missing pid and memory', () => {
    const table = formatStatusTable([row({}), row({ service: 'jaeger-collector', pid: undefined, rssBytes: 0, health: 'not started', expected: false })]);
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^SERVICE\s+PID\s+PORT\s+HEALTH\s+VERSION\s+RSS\s+DETAIL$/);
    expect(lines[1]).toMatch(/^kafka\s+10\s+9092\s+healthy\s+4\.3\.1\s+300 MiB\s+ok$/);
    expect(lines[2]).toMatch(/^jaeger-collector\s+-\s+9092\s+not started/);
    expect(lines[1].indexOf('9092')).toBe(lines[2].indexOf('9092'));
  });
  it('counts only the services the stack is expected to run', () => {
    expect(allExpectedHealthy([row({}), row({ health: 'stopped', expected: false })])).toBe(true);
    expect(allExpectedHealthy([row({}), row({ health: 'unhealthy' })])).toBe(false);
    expect(allExpectedHealthy([row({ health: 'stopped' })])).toBe(false);
  });
});
