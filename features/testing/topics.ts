/** Test helpers for the features stage's integration tests: reading a whole topic, waiting for a group to finish. */
import type { IncomingRecord, KafkaAdapter } from '../../core/kafka/adapter.ts';

/** Every record of `topic` up to its end as of the call (a throwaway consumer group). */
export async function readTopic(kafka: KafkaAdapter, topic: string): Promise<IncomingRecord[]> {
  const ends = new Map((await kafka.topicOffsets(topic)).map((o) => [o.partition, BigInt(o.high)]));
  const remaining = new Set([...ends].filter(([, high]) => high > 0n).map(([p]) => p));
  const out: IncomingRecord[] = [];
  if (remaining.size === 0) return out;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const consumer = await kafka.consume({
    groupId: `read-${topic}-${process.pid}-${Date.now()}`,
    topics: [topic],
    fromBeginning: true,
    onBatch: async (batch) => {
      const end = ends.get(batch.partition) ?? 0n;
      for (const r of batch.records) if (BigInt(r.offset) < end) out.push(r);
      const last = batch.records.at(-1);
      if (last && BigInt(last.offset) + 1n >= end) remaining.delete(batch.partition);
      if (remaining.size === 0) done();
    },
  });
  await finished;
  await consumer.stop();
  return out;
}

/** Total records on a topic (all partitions). */
export async function topicSize(kafka: KafkaAdapter, topic: string): Promise<number> {
  return (await kafka.topicOffsets(topic)).reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
}
