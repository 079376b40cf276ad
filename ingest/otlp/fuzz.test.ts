import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../core/errors.ts';
import { mutateBytes, runFuzz, seedPayloads } from './testing/fuzz-cases.ts';
import { sdkTraceRequest, seededRandom } from './testing/sdk-requests.ts';
import { decodeLogsRequest } from './logs.ts';
import { decodeMetricsRequest } from './metrics.ts';
import { checkTraceRequest, decodeTraceRequest } from './traces.ts';

describe('decoder fuzzing', () => {
  it('20,000 seeded random and mutated payloads: every outcome is events or a DecodeError', () => {
    const tally = runFuzz(seedPayloads(150), 20_000, 42);
    expect(tally.firstViolation).toBeUndefined();
    expect(tally.internalErrors + tally.otherErrors).toBe(0);
    expect(tally.cases).toBe(20_000);
    // Both outcomes occur: the mutations reach past the first byte, and many stay valid.
    expect(tally.decoded).toBeGreaterThan(500);
    expect(tally.decodeErrors).toBeGreaterThan(1000);
  }, 120_000);

  it('checkTraceRequest accepts and rejects exactly what decodeTraceRequest does, and counts the same spans', () => {
    const outcome = (f: () => number): string => {
      try {
        return `ok ${f()}`;
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        return `error ${e.message}`;
      }
    };
    const rng = seededRandom(11);
    const seeds = seedPayloads(90);
    let rejected = 0;
    for (let i = 0; i < 6_000; i++) {
      const seed = seeds[i % seeds.length]!;
      const bytes = i < seeds.length ? seed.proto : mutateBytes(seed.proto, rng);
      const decoded = outcome(() => decodeTraceRequest(bytes).length);
      expect(outcome(() => checkTraceRequest(bytes))).toBe(decoded);
      if (decoded.startsWith('error')) rejected++;
    }
    expect(rejected).toBeGreaterThan(500);
    const sdk = sdkTraceRequest({ seed: 3, spans: 20 });
    expect(checkTraceRequest(sdk)).toBe(20);
    expect(() => checkTraceRequest(sdk, { maxEvents: 5 })).toThrow(/more than 5 spans/);
    // A check leaves the decoder building events again.
    expect(decodeTraceRequest(sdk)).toHaveLength(20);
    expect(decodeTraceRequest(sdk)[0]?.kind).toBe('request');
  });

  it('deeply nested attribute values are rejected, not recursed into', () => {
    // AnyValue{array_value: ArrayValue{values: [AnyValue{array_value: ...}]}} nested 100,000 deep.
    let inner: number[] = [];
    for (let depth = 0; depth < 100_000 && inner.length < 2_000_000; depth++) {
      const array = [0x0a, ...varint(inner.length), ...inner]; // ArrayValue.values
      inner = [0x2a, ...varint(array.length), ...array]; // AnyValue.array_value
      if (depth > 200) break; // far past the limit; keeps the test input small
    }
    const kv = [0x0a, 0x01, 0x6b, 0x12, ...varint(inner.length), ...inner];
    const span = [0x4a, ...varint(kv.length), ...kv];
    const scope = [0x12, ...varint(span.length), ...span];
    const rs = [0x12, ...varint(scope.length), ...scope];
    const request = Uint8Array.from([0x0a, ...varint(rs.length), ...rs]);
    expect(() => decodeTraceRequest(request)).toThrow(/nested too deeply/);
    expect(() => checkTraceRequest(request)).toThrow(/nested too deeply/);
  });

  it('a flood of empty spans stops at maxEvents instead of filling memory', () => {
    const spans = new Uint8Array(2 * 1000).fill(0);
    for (let i = 0; i < 1000; i++) spans[2 * i] = 0x12; // ScopeSpans.spans, length 0
    const scope = Uint8Array.from([0x12, ...varint(spans.length), ...spans]);
    const request = Uint8Array.from([0x0a, ...varint(scope.length), ...scope]);
    expect(decodeTraceRequest(request)).toHaveLength(1000);
    expect(() => decodeTraceRequest(request, { maxEvents: 999 })).toThrow(DecodeError);
  });

  it('non-bytes input is a DecodeError too', () => {
    for (const decode of [decodeTraceRequest, decodeMetricsRequest, decodeLogsRequest]) {
      expect(() => decode('nope' as unknown as Uint8Array)).toThrow(DecodeError);
      expect(() => decode(undefined as unknown as Uint8Array)).toThrow(DecodeError);
    }
  });
});

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}
