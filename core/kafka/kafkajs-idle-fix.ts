/**
 * kafkajs 2.2.4's request queue re-arms a timer with a negative delay whenever nothing is pending and nothing is
 * throttled, so every broker connection spins a 1 ms setTimeout loop for as long as it is open: a few percent of a
 * core per idle process (tulios/kafkajs#1556, #1704; the fix in #1667 is not released). This replaces that one method
 * with the fixed logic: with nothing pending and no throttle, nothing needs checking (a request that cannot go out at
 * once is queued by `push`, which schedules the check itself).
 */
import { createRequire } from 'node:module';

/** kafkajs' own interval for re-checking pending requests (CHECK_PENDING_REQUESTS_INTERVAL, not exported). */
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;

interface RequestQueueInternals {
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  pending: unknown[];
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

const require = createRequire(import.meta.url);

/** The class the fix applies to (exported for its test). */
export const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as { prototype: RequestQueueInternals; new (options: object): RequestQueueInternals };

RequestQueue.prototype.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: RequestQueueInternals): void {
  if (this.throttleCheckTimeoutId) return;
  let scheduleAt = this.throttledUntil - Date.now();
  if (this.pending.length > 0) scheduleAt = scheduleAt > 0 ? scheduleAt : CHECK_PENDING_REQUESTS_INTERVAL_MS;
  else if (scheduleAt <= 0) return;
  this.throttleCheckTimeoutId = setTimeout(() => {
    this.throttleCheckTimeoutId = null;
    this.checkPendingRequests();
  }, scheduleAt);
};
