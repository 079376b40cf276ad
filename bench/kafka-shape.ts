/**
 * Kafka traffic in the shape Peregrine's receiver writes: SDK-built trace requests (~495 B per span, `spansPerTrace`
 * spans per trace id) split by the receiver's own splitter into one message per trace id keyed by its hex id, one
 * produce call per request. Shared by the Kafka client and consumer-path benchmarks.
 */
import type { OutgoingMessage, Producer } from '../core/kafka/adapter.ts';
import { ExportTraceServiceRequest } from '../ingest/otlp/proto-types.ts';
import { sdkTraceRequest } from '../ingest/otlp/testing/sdk-requests.ts';
import { parseExportRequest, splitRequest } from '../ingest/receiver/split.ts';

/** SDK-built requests whose spans are grouped into traces of `perTrace` spans (the SDK fixture makes one per span). */
export function traceRequests(count: number, spans: number, perTrace: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => {
    const obj = ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(sdkTraceRequest({ seed: 1000 + i, spans })), { defaults: false }) as Record<string, any>;
    let n = 0;
    let traceId: Uint8Array = new Uint8Array(16);
    for (const rs of obj.resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans) {
      if (n++ % perTrace === 0) traceId = s.traceId;
      else s.traceId = traceId;
    }
    return Buffer.from(ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(obj)).finish());
  });
}

export interface ProduceCall {
  messages: OutgoingMessage[];
  spans: number;
}

/** What the receiver hands its producer for each of `requests`: one call per request, one message per trace id. */
export function receiverProduceCalls(requests: Buffer[]): ProduceCall[] {
  return requests.map((body) => {
    const split = splitRequest(parseExportRequest('traces', body), { maxMessageBytes: 1_000_000, partition: 'traceId' });
    return { messages: split.messages.map((m) => ({ key: m.key, value: m.value })), spans: split.accepted };
  });
}

/** Writes at least `spans` spans to `topic` in the receiver's shape; resolves with the spans and messages written. */
export async function prefillTopic(producer: Producer, topic: string, spans: number, calls: ProduceCall[]): Promise<{ spans: number; messages: number }> {
  let written = 0;
  let messages = 0;
  for (let i = 0; written < spans; i++) {
    const call = calls[i % calls.length]!;
    await producer.send(topic, call.messages);
    written += call.spans;
    messages += call.messages.length;
  }
  return { spans: written, messages };
}
