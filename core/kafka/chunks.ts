/** Splitting produce calls under the broker's message limit (both clients put one partition's messages in one batch). */
import type { OutgoingMessage } from './adapter.ts';

/** Bytes of messages one produce request carries at most (half the broker's default limit, for headers and framing). */
export const REQUEST_BYTES = 512 * 1024;

/** Consecutive runs of messages whose keys and values add up to at most `maxBytes` (a larger message goes alone). */
export function chunksBySize(messages: readonly OutgoingMessage[], maxBytes: number): OutgoingMessage[][] {
  const out: OutgoingMessage[][] = [];
  let current: OutgoingMessage[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size = (m.key === undefined || m.key === null ? 0 : Buffer.byteLength(m.key)) + (m.value?.byteLength ?? 0) + 64;
    if (current.length > 0 && bytes + size > maxBytes) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(m);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}
