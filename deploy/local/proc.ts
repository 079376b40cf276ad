/**
 * Processes the stack starts: detached spawns (own session, so they outlive the CLI), pidfiles, and stopping
 * exactly the processes of a session we started (SIGTERM, wait, SIGKILL), read from /proc.
 */
import { spawn, type SpawnOptions } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { lastLines } from './configs.ts';

export interface ProcStat { pid: number; ppid: number; pgid: number; sid: number; startTime: number; state: string }

/** Fields of /proc/<pid>/stat (after the command name, which may hold spaces and parentheses). */
export function parseProcStat(pid: number, text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const f = text.slice(close + 2).split(' ');
  // f[0] is field 3 (state); startTime is field 22.
  return { pid, state: f[0], ppid: Number(f[1]), pgid: Number(f[2]), sid: Number(f[3]), startTime: Number(f[19]) };
}

export function procStat(pid: number): ProcStat | undefined {
  try {
    const stat = parseProcStat(pid, readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return stat && stat.state !== 'Z' ? stat : undefined;
  } catch {
    return undefined;
  }
}

/** Every live process in a session. */
export function sessionMembers(sid: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = procStat(Number(name));
    if (stat && stat.sid === sid) pids.push(stat.pid);
  }
  return pids;
}

/** Resident memory in bytes (VmRSS), 0 when the process is gone. */
export function rssBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** What a pidfile records: enough to tell our process from a later one that reused the pid. */
export interface PidRecord { service: string; pid: number; sid: number; startTime: number; startedAt: string; version: string; command: string }

export function writePidRecord(file: string, record: PidRecord): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
}

export function readPidRecord(file: string): PidRecord | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as PidRecord;
  } catch {
    return undefined;
  }
}

/** The record's main process if it still runs (same pid and same start time). */
export function isRecordAlive(record: PidRecord): boolean {
  const stat = procStat(record.pid);
  return stat !== undefined && stat.startTime === record.startTime;
}

/** Live processes that belong to a record: its session's members (children included), or its pid alone. */
export function recordProcesses(record: PidRecord): number[] {
  // The kernel does not reuse a pid while a session of that id has members; so if a process now holds the
  // session id's pid and started after ours (or is a different leader), the session is someone else's.
  const leader = procStat(record.sid);
  if (leader && leader.sid === record.sid) {
    const reused = record.pid === record.sid ? leader.startTime !== record.startTime : leader.startTime > record.startTime;
    if (reused) return [];
  }
  const members = sessionMembers(record.sid);
  if (isRecordAlive(record) && !members.includes(record.pid)) members.push(record.pid);
  return members;
}

export function recordFor(service: string, pid: number, version: string, command: string): PidRecord {
  const stat = procStat(pid);
  if (!stat) throw new Error(`${service}: process ${pid} exited right after start`);
  return { service, pid, sid: stat.sid, startTime: stat.startTime, startedAt: new Date().toISOString(), version, command };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * SIGTERM the main process (it stops its own children), wait up to graceMs, then SIGKILL whatever of the
 * session is left. Returns the pids still alive afterwards (empty when all are gone).
 */
export async function stopRecord(record: PidRecord, graceMs: number): Promise<number[]> {
  let alive = recordProcesses(record);
  if (alive.length === 0) return [];
  const target = isRecordAlive(record) ? [record.pid] : alive;
  for (const pid of target) signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    alive = recordProcesses(record);
    if (alive.length === 0) return [];
    // Children left behind after the main process is gone get their own SIGTERM.
    if (!isRecordAlive(record)) for (const pid of alive) signal(pid, 'SIGTERM');
    await sleep(100);
  }
  for (const pid of recordProcesses(record)) signal(pid, 'SIGKILL');
  for (let i = 0; i < 30; i++) {
    alive = recordProcesses(record);
    if (alive.length === 0) return [];
    await sleep(100);
  }
  return alive;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

/** Keeps the previous log as <file>.1 so each start begins a fresh file. */
export function rotateLog(file: string): void {
  mkdirSync(dirname(file), { recursive: true });
  if (existsSync(file) && statSync(file).size > 0) renameSync(file, `${file}.1`);
}

/** Starts a process in its own session (it survives the CLI), its stdout+stderr appended to logFile. */
export function spawnDetached(command: string, args: string[], options: { env: NodeJS.ProcessEnv; cwd?: string; logFile: string }) {
  mkdirSync(dirname(options.logFile), { recursive: true });
  const fd = openSync(options.logFile, 'a');
  try {
    const child = spawn(command, args, { env: options.env, cwd: options.cwd, detached: true, stdio: ['ignore', fd, fd] } satisfies SpawnOptions);
    const exited = new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, sig) => resolve(code ?? (sig ? 128 : null)));
    });
    exited.catch(() => undefined);
    child.unref();
    return { pid: child.pid, exited };
  } finally {
    closeSync(fd);
  }
}

/**
 * Runs an install step to completion, output appended to logFile and each line handed to onLine (progress).
 * Throws with the log's last lines when it fails.
 */
export async function runLogged(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; logFile: string; onLine?: (line: string) => void; timeoutMs?: number; what: string },
): Promise<string> {
  mkdirSync(dirname(options.logFile), { recursive: true });
  const fd = openSync(options.logFile, 'a');
  writeFileSync(fd, `\n$ ${command} ${args.join(' ')}\n`);
  let output = '';
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
      const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
      const onData = (chunk: Buffer) => {
        const text = chunk.toString();
        output += text;
        if (output.length > 1_000_000) output = output.slice(-500_000);
        writeFileSync(fd, text);
        const line = text.trimEnd().split('\n').pop()?.trim();
        if (line) options.onLine?.(line.slice(0, 160));
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('error', (e) => { clearTimeout(timer); reject(e); });
      child.once('close', (c) => { clearTimeout(timer); resolve(c); });
    });
    if (code !== 0) {
      throw new Error(`${options.what} failed (exit ${code}); see ${options.logFile}\n${lastLines(output, 15)}`);
    }
    return output;
  } finally {
    closeSync(fd);
  }
}

export function removeFile(file: string): void {
  rmSync(file, { force: true });
}
