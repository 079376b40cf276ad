/** Process details from exec records and /proc, cached per pid (bounded). */
import { readFileSync, readlinkSync, readdirSync, realpathSync, existsSync } from 'node:fs';
import type { ExecRecord } from './frames.ts';
import type { ProcessInfo } from './records.ts';
import { redactArgs, type RedactionConfig } from '../../core/redaction/redact.ts';

const MAX_CACHED = 8192;

export function containerOf(cgroupPath: string): { containerId?: string; podUid?: string } {
  const containerId = /([0-9a-f]{64})/.exec(cgroupPath)?.[1];
  const pod = /pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})/.exec(cgroupPath)?.[1];
  return { containerId, podUid: pod?.replace(/_/g, '-') };
}

export class ProcessTable {
  private readonly cache = new Map<number, ProcessInfo>();

  constructor(private readonly redaction: RedactionConfig, private readonly procRoot = '/proc') {}

  /** An exec replaces what we knew about the pid. */
  onExec(rec: ExecRecord): ProcessInfo {
    const info: ProcessInfo = {
      pid: rec.tgid,
      comm: rec.comm,
      executable: rec.filename,
      args: redactArgs(rec.args, this.redaction),
      ppid: rec.ppid,
      uid: rec.uid,
      ...this.fromProc(rec.tgid, false),
    };
    this.remember(info);
    return info;
  }

  get(pid: number, comm: string): ProcessInfo {
    let info = this.cache.get(pid);
    if (!info) {
      info = { pid, comm, ...this.fromProc(pid, true) };
      this.remember(info);
    } else if (!info.comm && comm) {
      info.comm = comm;
    }
    return info;
  }

  private remember(info: ProcessInfo): void {
    this.cache.delete(info.pid);
    if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value as number);
    this.cache.set(info.pid, info);
  }

  /** Best effort: a short-lived process may be gone before we look. */
  private fromProc(pid: number, withArgs: boolean): Partial<ProcessInfo> {
    const base = `${this.procRoot}/${pid}`;
    const out: Partial<ProcessInfo> = {};
    try {
      out.executable = readlinkSync(`${base}/exe`);
    } catch { /* gone or not permitted */ }
    if (withArgs) {
      try {
        const raw = readFileSync(`${base}/cmdline`, 'utf8').split('\0');
        if (raw[raw.length - 1] === '') raw.pop();
        if (raw.length) out.args = redactArgs(raw, this.redaction);
      } catch { /* gone */ }
    }
    try {
      const stat = readFileSync(`${base}/stat`, 'utf8');
      // Fields after the parenthesised comm (which may itself contain spaces or parentheses).
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.ppid ??= Number(rest[1]);
      out.startTicks = Number(rest[19]);
    } catch { /* gone */ }
    try {
      const cgroup = readFileSync(`${base}/cgroup`, 'utf8').trim().split('\n').pop() ?? '';
      out.cgroupPath = cgroup.replace(/^[^:]*:[^:]*:/, '');
      Object.assign(out, containerOf(out.cgroupPath));
    } catch { /* gone */ }
    return out;
  }
}

function real(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Where OpenSSL's SSL_* live on this node: the system libssl, every libssl a running process has
 * mapped, and Node binaries (they link OpenSSL statically and export its symbols).
 */
export function discoverTlsTargets(procRoot = '/proc'): string[] {
  const found = new Set<string>();
  for (const p of ['/lib/x86_64-linux-gnu/libssl.so.3', '/usr/lib/x86_64-linux-gnu/libssl.so.3', '/usr/lib64/libssl.so.3', '/lib/aarch64-linux-gnu/libssl.so.3']) {
    const r = existsSync(p) ? real(p) : undefined;
    if (r) found.add(r);
  }
  const self = real(process.execPath);
  if (self) found.add(self);
  let pids: string[] = [];
  try {
    pids = readdirSync(procRoot).filter((d) => /^\d+$/.test(d));
  } catch { /* no /proc */ }
  for (const pid of pids) {
    try {
      const exe = readlinkSync(`${procRoot}/${pid}/exe`);
      if (/\/(node|nodejs)$/.test(exe)) {
        const r = real(exe);
        if (r) found.add(r);
      }
    } catch { /* gone or kernel thread */ }
    try {
      const maps = readFileSync(`${procRoot}/${pid}/maps`, 'utf8');
      for (const m of maps.matchAll(/(\/\S*libssl\.so[.0-9]*)$/gm)) {
        const r = real(m[1]);
        if (r) found.add(r);
      }
    } catch { /* gone */ }
  }
  return [...found];
}
