/**
 * How the request detector learns from live traffic, as pure decisions: which requests enter the training buffer
 * (normal ones: neither a signature hit nor an alert; after the first model only a sample), when to train (the first
 * time after `learningPeriod` of event time with enough requests, or as soon as the buffer is full; then every
 * `retrainInterval`), and how a training's rows are split (a fixed hash share of the buffer is held out as evaluation
 * data, beside the requests signatures caught and the analysts' verdicts, so a challenger and the champion are
 * compared on the same rows). Event time only: a replay learns the same.
 */
import type { HttpRow } from '../../models/index.ts';

/** A request kept for training: already masked and templated (no secret is persisted). */
export interface BufferedRequest {
  timeMs: number;
  row: HttpRow;
}

/** What the detector remembers about its learning across restarts. */
export interface LearningState {
  /** Event time of the first request learned. */
  firstEventMs?: number;
  /** Event time at which the last training started. */
  lastTrainingEventMs?: number;
  trainings: number;
}

export interface LearningSettings {
  learningPeriodMs: number;
  minTrainingRequests: number;
  maxTrainingRequests: number;
  retrainIntervalMs: number;
  retainPercent: number;
}

/** Percent of the buffer held out for evaluation. */
export const EVALUATION_PERCENT = 20;

/** FNV-1a of a string, 32 bit: a stable hash for sampling and splitting. */
export function stableHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Keys sort by event time (the store's oldest go first when it is full). */
export function bufferKey(timeMs: number, id: string): string {
  return `${String(Math.max(0, Math.floor(timeMs))).padStart(15, '0')}:${id}`;
}

/** Whether a normal request enters the buffer: all while learning the first model, then `retainPercent` of them. */
export function keepForTraining(id: string, learningFirstModel: boolean, retainPercent: number): boolean {
  return learningFirstModel || stableHash(id) % 10_000 < retainPercent * 100;
}

export type TrainingReason = 'first' | 'retrain';

/** Whether to start a training now (`nowMs` is the newest event time seen). */
export function trainingDue(state: LearningState, nowMs: number, buffered: number, hasModel: boolean, s: LearningSettings): TrainingReason | undefined {
  if (buffered < s.minTrainingRequests) return undefined;
  if (!hasModel) {
    if (state.lastTrainingEventMs !== undefined && nowMs - state.lastTrainingEventMs < s.learningPeriodMs) return undefined; // a failed attempt waits a period
    const learnedFor = state.firstEventMs === undefined ? 0 : nowMs - state.firstEventMs;
    return learnedFor >= s.learningPeriodMs || buffered >= s.maxTrainingRequests ? 'first' : undefined;
  }
  if (s.retrainIntervalMs <= 0) return undefined;
  const since = state.lastTrainingEventMs ?? state.firstEventMs ?? nowMs;
  return nowMs - since >= s.retrainIntervalMs ? 'retrain' : undefined;
}

export interface LabelledRow extends HttpRow { label: 'normal' | 'anomalous' }

export interface TrainingRows {
  train: HttpRow[];
  evaluation: LabelledRow[];
}

/**
 * Buffer → training and evaluation rows. `attacks`: requests signatures caught (never trained on); `feedback`:
 * analysts' verdicts — false positives train as normal `feedbackWeight` times and are evaluated as normal, confirmed
 * attacks are evaluated as anomalies.
 */
export function trainingRows(
  buffer: readonly BufferedRequest[], attacks: readonly BufferedRequest[], feedback: ReadonlyArray<HttpRow & { label: 'normal' | 'anomalous' }>, feedbackWeight: number,
): TrainingRows {
  const train: HttpRow[] = [];
  const evaluation: LabelledRow[] = [];
  const ordered = [...buffer].sort((a, b) => a.timeMs - b.timeMs);
  for (const b of ordered) {
    if (stableHash(String(b.row.id ?? '')) % 100 < EVALUATION_PERCENT) evaluation.push({ ...b.row, label: 'normal' });
    else train.push(b.row);
  }
  for (const a of attacks) evaluation.push({ ...a.row, label: 'anomalous' });
  for (const f of feedback) {
    evaluation.push(f);
    if (f.label === 'normal') for (let k = 0; k < feedbackWeight; k++) train.push(f);
  }
  return { train, evaluation };
}
