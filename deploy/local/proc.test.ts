// Real processes (no servers): what `stack down` relies on — stop a whole session, children included.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isRecordAlive, procStat, recordFor, recordProcesses, spawnDetached, stopRecord } from './proc.ts';

const dir = mkdtempSync(join(tmpdir(), 'peregrine-proc-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startSession(script: string, name: string) {
  const logFile = join(dir, `${name}.log`);
  const { pid } = spawnDetached('sh', ['-c', script], { env: process.env, logFile });
  expect(pid).toBeGreaterThan(0);
  // Let the shell start its children.
  for (let i = 0; i < 50 && readFileSync(logFile, 'utf8').trim() !== 'ready'; i++) await sleep(50);
  return recordFor(name, pid!, '0', script);
}

describe('detached sessions', () => {
  it('runs in its own session and stops with all its children on SIGTERM', async () => {
    const record = await startSession('sleep 60 & sleep 60 & echo ready; wait', 'children');
    expect(record.sid).toBe(record.pid);
    expect(procStat(process.pid)?.sid).not.toBe(record.sid);
    const members = recordProcesses(record);
    expect(members.length).toBe(3);
    const left = await stopRecord(record, 5000);
    expect(left).toEqual([]);
    for (const pid of members) expect(procStat(pid)).toBeUndefined();
    expect(isRecordAlive(record)).toBe(false);
  });

  it('SIGKILLs what ignores SIGTERM once the grace time is over', async () => {
    const record = await startSession("trap '' TERM; echo ready; while :; do sleep 1; done", 'stubborn');
    const t0 = Date.now();
    const left = await stopRecord(record, 700);
    expect(left).toEqual([]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(700);
    expect(recordProcesses(record)).toEqual([]);
  });

  it('does not take a later process with the same pid for ours', async () => {
    const record = await startSession('echo ready; sleep 60', 'reused');
    // As if our process had died and this one got its pid: neither alive nor ours to stop.
    const forged = { ...record, startTime: record.startTime - 1 };
    expect(isRecordAlive(forged)).toBe(false);
    expect(recordProcesses(forged)).toEqual([]);
    expect(await stopRecord(forged, 500)).toEqual([]);
    expect(isRecordAlive(record)).toBe(true);
    expect(await stopRecord(record, 2000)).toEqual([]);
  });
});
