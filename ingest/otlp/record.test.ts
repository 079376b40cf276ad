import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../core/errors.ts';
import type { IncomingRecord } from '../../core/kafka/adapter.ts';
import { decodeSpansRecord } from './record.ts';
import { sdkTraceRequest, sdkTraceRequestJson } from './testing/sdk-requests.ts';

const record = (value: Buffer): IncomingRecord => ({ topic: 'otlp_spans', partition: 0, offset: '0', value, headers: {}, timestampMs: 0 });

describe('decodeSpansRecord', () => {
  it('reads otlp_proto and otlp_json messages alike', () => {
    const proto = decodeSpansRecord(record(Buffer.from(sdkTraceRequest({ seed: 2, spans: 30 }))));
    const json = decodeSpansRecord(record(Buffer.from(sdkTraceRequestJson({ seed: 2, spans: 30 }))));
    expect(proto).toHaveLength(30);
    expect(json).toEqual(proto);
  });

  it('turns malformed JSON of any shape into DecodeError', () => {
    for (const text of ['{', '{"resourceSpans": null}x', '{"resourceSpans": 5}', '{"resourceSpans": [null]}']) {
      expect(() => decodeSpansRecord(record(Buffer.from(text)))).toThrow(DecodeError);
    }
    expect(() => decodeSpansRecord(record(undefined as unknown as Buffer))).toThrow(DecodeError);
  });
});
