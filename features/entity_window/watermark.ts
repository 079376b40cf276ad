/**
 * Event-time watermark over the partitions a stage reads: the smallest of their newest event times, so a partition
 * read later than the others never turns its data late. A partition silent for `idleMs` of wall time (no data, or
 * none yet) stops holding the watermark back, as Flink's source idleness does. Pure: wall time is an argument.
 */
export class PartitionWatermarks {
  private readonly partitions = new Map<number, { maxEventMs: number; lastActiveMs: number }>();

  constructor(private readonly idleMs: number) {}

  /** The partitions now assigned; others are forgotten. */
  assign(partitions: number[], nowMs: number): void {
    for (const p of [...this.partitions.keys()]) if (!partitions.includes(p)) this.partitions.delete(p);
    for (const p of partitions) if (!this.partitions.has(p)) this.partitions.set(p, { maxEventMs: -Infinity, lastActiveMs: nowMs });
  }

  observe(partition: number, eventMs: number, nowMs: number): void {
    let p = this.partitions.get(partition);
    if (!p) this.partitions.set(partition, (p = { maxEventMs: -Infinity, lastActiveMs: nowMs }));
    p.maxEventMs = Math.max(p.maxEventMs, eventMs);
    p.lastActiveMs = nowMs;
  }

  current(nowMs: number): number {
    let activeMin = Infinity;
    let anyActive = false;
    let overallMax = -Infinity;
    for (const p of this.partitions.values()) {
      overallMax = Math.max(overallMax, p.maxEventMs);
      if (nowMs - p.lastActiveMs < this.idleMs) {
        anyActive = true;
        activeMin = Math.min(activeMin, p.maxEventMs);
      }
    }
    return anyActive ? activeMin : overallMax;
  }

  /** True when every partition has been silent for the idle time. */
  allIdle(nowMs: number): boolean {
    for (const p of this.partitions.values()) if (nowMs - p.lastActiveMs < this.idleMs) return false;
    return true;
  }

  get newestEventMs(): number {
    let max = -Infinity;
    for (const p of this.partitions.values()) max = Math.max(max, p.maxEventMs);
    return max;
  }
}
