import { writeResult, type Sink } from '../component.ts';
import type { OutgoingMessage, Producer } from './adapter.ts';

/** Messages onto one topic, acknowledged by all in-sync replicas. */
export function kafkaTopicSink(producer: Producer, topic: string, name = `kafka:${topic}`): Sink<OutgoingMessage> {
  return { name, write: (messages) => writeResult(() => producer.send(topic, messages)) };
}
