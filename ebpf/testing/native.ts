/**
 * The loader's engine without BPF, for tests and benches: builds `ebpf/build/peregrine-sensor-replay`
 * (a C compiler is enough) and runs it over a record stream, or over redaction inputs (--redact).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ebpf = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPLAY = join(ebpf, 'build', 'peregrine-sensor-replay');

/** Builds the replay tool when missing or stale; the reason it cannot be built otherwise. */
export function buildReplay(): string | undefined {
  try {
    execFileSync('make', ['-C', ebpf, 'replay'], { stdio: 'pipe' });
    return existsSync(REPLAY) ? undefined : 'make -C ebpf replay built nothing';
  } catch (e) {
    return `make -C ebpf replay failed (a C compiler and make are needed): ${String((e as { stderr?: Buffer }).stderr ?? e).slice(-400)}`;
  }
}

/** Frames `[u32 length][payload]`, concatenated. */
export function frames(payloads: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const p of payloads) {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(p.length);
    parts.push(len, p);
  }
  return Buffer.concat(parts);
}

export function unframe(stream: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off + 4 <= stream.length; ) {
    const len = stream.readUInt32LE(off);
    out.push(stream.subarray(off + 4, off + 4 + len));
    off += 4 + len;
  }
  return out;
}

/** Runs the replay tool with `args` on `input`; its stdout. */
export function runReplay(args: readonly string[], input: Buffer): Buffer {
  if (process.env.REPLAY_DUMP) require("node:fs").writeFileSync(process.env.REPLAY_DUMP, input);
  const res = spawnSync(process.env.REPLAY_BIN ?? REPLAY, [...args], { input, maxBuffer: 1 << 30 });
  if (res.status !== 0) throw new Error(`peregrine-sensor-replay ${args.join(' ')} exited ${res.status}: ${res.stderr?.toString().slice(-800)}`);
  return res.stdout;
}

export const RedactOp = { scrub: 1, scrubTruncated: 2, target: 3, form: 4, url: 5, body: 6, field: 7, header: 8 } as const;

export interface RedactCall {
  op: (typeof RedactOp)[keyof typeof RedactOp];
  text: string;
  contentType?: string;
  truncated?: boolean;
}

/** The C redaction of each call (in order), through `peregrine-sensor-replay --redact`. */
export function nativeRedact(calls: readonly RedactCall[], args: readonly string[] = []): string[] {
  const payloads = calls.map((c) => {
    if (c.op !== RedactOp.body) return Buffer.concat([Buffer.from([c.op]), Buffer.from(c.text)]);
    const ct = c.contentType === undefined ? undefined : Buffer.from(c.contentType);
    const head = Buffer.alloc(6);
    head[0] = c.op;
    head[1] = c.truncated ? 1 : 0;
    head.writeUInt32LE(ct ? ct.length : 0xffffffff, 2);
    return Buffer.concat([head, ct ?? Buffer.alloc(0), Buffer.from(c.text)]);
  });
  return unframe(runReplay(['--redact', ...args], frames(payloads))).map((b) => b.toString('utf8'));
}
