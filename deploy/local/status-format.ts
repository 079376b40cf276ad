/** Pure formatting for `peregrine stack status`. */
import type { ServiceName } from './services/types.ts';

export type HealthState = 'healthy' | 'unhealthy' | 'stopped' | 'not started';

export interface ServiceStatus {
  service: ServiceName;
  /** Main pid of the process `stack up` started; undefined when none runs (or it was not started by us). */
  pid?: number;
  port: number;
  url: string;
  health: HealthState;
  detail: string;
  version: string;
  /** Resident memory of all the service's processes, bytes. */
  rssBytes: number;
  /** Whether `stack up` is expected to run it (false: skipped by --only or --frontend none). */
  expected: boolean;
}

export function formatMiB(bytes: number): string {
  return bytes > 0 ? `${Math.round(bytes / 1048576)} MiB` : '-';
}

export function formatStatusTable(rows: readonly ServiceStatus[]): string {
  const header = ['SERVICE', 'PID', 'PORT', 'HEALTH', 'VERSION', 'RSS', 'DETAIL'];
  const body = rows.map((r) => [r.service, r.pid ? String(r.pid) : '-', String(r.port), r.health, r.version, formatMiB(r.rssBytes), r.detail]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), ...body.map(line)].join('\n');
}

/** Healthy when every service the stack is expected to run is healthy. */
export function allExpectedHealthy(rows: readonly ServiceStatus[]): boolean {
  return rows.filter((r) => r.expected).every((r) => r.health === 'healthy');
}
