import { describe, expect, it } from 'vitest';
import { PartitionWatermarks } from './watermark.ts';

describe('PartitionWatermarks', () => {
  it('is held back by an assigned partition that has not delivered yet, until it goes idle', () => {
    const w = new PartitionWatermarks(1000);
    w.assign([0, 1], 0);
    w.observe(0, 50_000, 10);
    expect(w.current(10)).toBe(-Infinity);
    w.observe(1, 20_000, 20);
    expect(w.current(20)).toBe(20_000);
    // partition 1 falls silent: after the idle time only partition 0 counts
    w.observe(0, 60_000, 900);
    expect(w.current(1_100)).toBe(60_000);
  });

  it('uses the newest event time once every partition is idle', () => {
    const w = new PartitionWatermarks(1000);
    w.assign([0, 1], 0);
    w.observe(0, 5_000, 0);
    w.observe(1, 7_000, 0);
    expect(w.allIdle(500)).toBe(false);
    expect(w.allIdle(1_500)).toBe(true);
    expect(w.current(1_500)).toBe(7_000);
    expect(w.newestEventMs).toBe(7_000);
  });

  it('forgets partitions that were revoked', () => {
    const w = new PartitionWatermarks(1000);
    w.assign([0, 1], 0);
    w.observe(0, 5_000, 0);
    w.assign([0], 0);
    expect(w.current(10)).toBe(5_000);
  });
});
