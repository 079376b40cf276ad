import { afterAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { KafkaConfig } from '../config.ts';
import { createLogger } from '../log.ts';
import type { IncomingRecord } from './adapter.ts';
import { createKafkaAdapter } from './kafkajs.ts';

const log = createLogger({ level: 'warn', pretty: false });
const kafka = createKafkaAdapter(KafkaConfig.parse({}), log);
afterAll(() => kafka.close());

async function consumeUntil(groupId: string, topic: string, want: number, commitEvery: (r: IncomingRecord) => boolean): Promise<IncomingRecord[]> {
  const seen: IncomingRecord[] = [];
  let done!: () => void;
  const finished = new Promise<void>((r) => { done = r; });
  const consumer = await kafka.consume({
    groupId, topics: [topic], fromBeginning: true,
    onBatch: async (batch) => {
      for (const r of batch.records) {
        seen.push(r);
        if (commitEvery(r)) await batch.commit((BigInt(r.offset) + 1n).toString(), 'meta');
      }
      if (seen.length >= want) done();
    },
  });
  await Promise.race([finished, new Promise((r) => setTimeout(r, 30_000))]);
  await consumer.stop();
  return seen;
}

describe('Kafka adapter against the real broker', () => {
  it('produces with acks=all and consumes through a consumer group, committing only what the stage says', async () => {
    const topic = `peregrine-test-${randomUUID()}`;
    const groupId = `group-${randomUUID()}`;
    await kafka.ensureTopics([{ topic, partitions: 3 }]);
    await kafka.ensureTopics([{ topic, partitions: 3 }]); // idempotent
    const producer = await kafka.producer();
    await producer.send(topic, Array.from({ length: 30 }, (_, i) => ({ key: `k${i % 5}`, value: Buffer.from(`v${i}`), headers: { h: String(i) } })));
    await producer.close();

    // First run commits only records with an even payload index: the rest must come back.
    const first = await consumeUntil(groupId, topic, 30, (r) => Number(r.value.toString().slice(1)) % 2 === 0);
    expect(first.map((r) => r.value.toString()).sort()).toEqual(Array.from({ length: 30 }, (_, i) => `v${i}`).sort());
    expect(first.every((r) => r.headers.h !== undefined && r.key !== undefined)).toBe(true);
    // same key → same partition, in order
    const byKey = new Map<string, Set<number>>();
    for (const r of first) byKey.set(r.key!.toString(), (byKey.get(r.key!.toString()) ?? new Set()).add(r.partition));
    expect([...byKey.values()].every((s) => s.size === 1)).toBe(true);

    const committed = await kafka.committedOffsets(groupId, topic);
    expect(committed.some((c) => c.metadata === 'meta')).toBe(true);
    // Second run of the same group: what was committed past is not redelivered; the tail after the last commit is.
    const lastCommitted = new Map(committed.map((c) => [c.partition, BigInt(c.offset)]));
    const expectedAgain = first.filter((r) => BigInt(r.offset) >= (lastCommitted.get(r.partition) ?? 0n)).length;
    const second = await consumeUntil(groupId, topic, expectedAgain, () => true);
    expect(second.length).toBe(expectedAgain);
    expect(second.every((r) => BigInt(r.offset) >= (lastCommitted.get(r.partition) ?? 0n))).toBe(true);
  });

  it('names the brokers when they are unreachable', async () => {
    const dead = createKafkaAdapter(KafkaConfig.parse({ brokers: ['127.0.0.1:1'], connectTimeoutMs: 1000 }), log);
    await expect(dead.checkReachable()).rejects.toThrow(/kafka: brokers 127\.0\.0\.1:1/);
    await dead.close();
  });
});
