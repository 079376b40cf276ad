/**
 * When V8 starts a major GC, tuned for a process that runs the receiver. By default V8 starts incremental marking as
 * soon as the old generation's headroom (its limit minus its size) is smaller than the young generation's capacity.
 * Node 24 lets the young generation grow to 2 × 64 MB, and at low allocation rates V8 leaves the old generation about
 * 10% headroom, so in a Peregrine process (~85 MB of heap, mostly loaded code) that holds right after every
 * collection: V8 marked the whole heap again and again, every ~2 s, whatever the request rate — 11 to 16 mark-compacts
 * per 30 s at 2,000 spans/s, half of the receiver's CPU, and why its CPU per span doubled at a quarter of the rate
 * (bench/receiver.ts, `breakdown`). A fixed trigger instead — marking starts when the old generation reaches 90% of
 * V8's own limit — keeps V8's heap sizing and ends that loop (1–2 mark-compacts per 30 s).
 */
import { setFlagsFromString } from 'node:v8';

/** Marking starts when the old generation reaches this percent of its limit (V8's `--incremental-marking-soft-trigger`). */
export const MARKING_START_PERCENT = 90;

const FLAG = '--incremental-marking-soft-trigger';

let applied = false;

/**
 * Sets the trigger for this process (once; V8 reads it at each allocation-limit check, so setting it at run time
 * works). A trigger given on the command line wins.
 */
export function tuneMajorGcTrigger(): void {
  if (applied) return;
  applied = true;
  if (process.execArgv.some((a) => a.startsWith(FLAG) || a.startsWith('--incremental_marking_soft_trigger'))) return;
  setFlagsFromString(`${FLAG}=${MARKING_START_PERCENT}`);
}
