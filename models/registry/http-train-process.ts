/**
 * Trains a request model in a child process (http-train-child.ts) and tells how it went: the live request detector's
 * way to train from the traffic it learned, without blocking scoring. The job goes through a file in a private
 * temporary directory (removed afterwards); the child's output is kept for the error message. I/O.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PeregrineError } from '../../core/errors.ts';
import type { HttpRow } from '../http/request.ts';
import type { ChampionDecision } from './track.ts';

export interface HttpTrainingJobFile {
  /** Normal requests (masked rows). */
  train: HttpRow[];
  /** Labelled rows for the run's metrics and the champion comparison. */
  evaluation: Array<HttpRow & { label: 'normal' | 'anomalous' }>;
  registerAs: string;
  alias: string;
  experiment: string;
  mlflowUrl: string;
  runName?: string;
  source: string;
  createdAt: string;
  params?: Record<string, string | number | boolean>;
}

export type HttpTrainingOutcome =
  | { ok: true; runId: string; version?: string; decision: ChampionDecision; reason: string; metrics: Record<string, number> }
  | { ok: false; error: string; retryable: boolean };

const CHILD = fileURLToPath(new URL('./http-train-child.ts', import.meta.url));
const OUTPUT_KEPT = 4000;

export interface TrainInChildOptions {
  /** The child is killed after this long (ms). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Trains and registers in a child process; rejects with the child's error (retryable when MLflow was away). */
export async function trainHttpInChildProcess(job: HttpTrainingJobFile, options: TrainInChildOptions = {}): Promise<Extract<HttpTrainingOutcome, { ok: true }>> {
  const dir = await mkdtemp(path.join(tmpdir(), 'peregrine-http-train-'));
  try {
    const jobFile = path.join(dir, 'job.json');
    await writeFile(jobFile, JSON.stringify(job), { mode: 0o600 });
    let output = '';
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', CHILD, jobFile], {
        stdio: ['ignore', 'pipe', 'pipe'], timeout: options.timeoutMs ?? 30 * 60_000, signal: options.signal,
        // The child logs only what goes wrong; its TF.js and MLflow chatter would drown the detector's log.
        env: { ...process.env, PEREGRINE_LOG_LEVEL: process.env.PEREGRINE_LOG_LEVEL ?? 'warn' },
      });
      const keep = (chunk: Buffer) => { output = (output + chunk.toString()).slice(-OUTPUT_KEPT); };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      child.on('error', reject);
      child.on('close', resolve);
    });
    let outcome: HttpTrainingOutcome;
    try {
      outcome = JSON.parse(await readFile(path.join(dir, 'result.json'), 'utf8')) as HttpTrainingOutcome;
    } catch {
      throw new PeregrineError(`request model training process ended (${code ?? 'killed'}) without a result: ${output.trim().slice(-500)}`);
    }
    if (outcome.ok) return outcome;
    throw new PeregrineError(`request model training failed: ${outcome.error}`, { retryable: outcome.retryable });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
