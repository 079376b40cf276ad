// `peregrine stack status` as a user runs it, against the running stack.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureStackUp, SERVICE_NAMES, type StackStatus } from './stack.ts';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../bin/peregrine.js', import.meta.url));

beforeAll(async () => {
  await ensureStackUp({ progress: 'plain' });
});

describe('peregrine stack status', () => {
  it('exits 0 and lists every service: the running ones healthy, the front end not chosen as not started', async () => {
    const { stdout } = await run(process.execPath, [bin, 'stack', 'status'], { timeout: 60_000 });
    const rows = stdout.trim().split('\n').slice(1).map((line) => line.split(/\s+/));
    expect(rows.map((r) => r[0])).toEqual([...SERVICE_NAMES]);
    const frontEnds = rows.filter((r) => r[0] === 'peregrine-receiver' || r[0] === 'jaeger-collector');
    expect(frontEnds.filter((r) => r[3] === 'healthy').length, 'at most one OTLP front end runs').toBeLessThanOrEqual(1);
    for (const r of rows) {
      if (frontEnds.includes(r) && r[3] !== 'healthy') {
        expect(`${r[3]} ${r[4]}`, `${r[0]} health`).toBe('not started');
        continue;
      }
      expect(r[1], `${r[0]} pid`).toMatch(/^\d+$/);
      expect(r[3], `${r[0]} health`).toBe('healthy');
    }
  });

  it('--json carries pid, port, version and memory per service', async () => {
    const { stdout } = await run(process.execPath, [bin, 'stack', 'status', '--json'], { timeout: 60_000 });
    const status = JSON.parse(stdout) as StackStatus;
    expect(status.healthy).toBe(true);
    const byName = Object.fromEntries(status.services.map((s) => [s.service, s]));
    expect(byName.kafka).toMatchObject({ port: 9092, version: '4.3.1', health: 'healthy' });
    expect(byName.elasticsearch).toMatchObject({ port: 9200, version: '9.5.4', health: 'healthy' });
    expect(byName['jaeger-query']).toMatchObject({ port: 16686, version: '1.76.0', health: 'healthy' });
    expect(byName.mlflow).toMatchObject({ port: 5000, version: '3.17.2', health: 'healthy' });
    for (const s of status.services) if (s.expected) expect(s.rssBytes, s.service).toBeGreaterThan(10 * 1048576);
  });

  it('rejects an unknown service name with the list of names', async () => {
    const error = await run(process.execPath, [bin, 'stack', 'logs', 'redis'], { timeout: 60_000 }).catch((e: { code: number; stderr: string }) => e);
    expect((error as { code: number }).code).not.toBe(0);
    expect((error as { stderr: string }).stderr).toContain('unknown service "redis"');
  });
});
