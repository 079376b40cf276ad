/**
 * Fuzzing support shared by the fuzz unit test and bench/fuzz-decode.ts: valid seed payloads for each
 * signal, seeded mutations of them, and the rule every decoder must keep (events or DecodeError,
 * nothing else).
 */
import { DecodeError } from '../../../core/errors.ts';
import { decodeLogsRequest } from '../logs.ts';
import { decodeMetricsRequest } from '../metrics.ts';
import { decodeLogsRequestJson, decodeMetricsRequestJson, decodeTraceRequestJson } from '../json.ts';
import { exportLogsServiceRequestType, ExportMetricsServiceRequest, ExportTraceServiceRequest } from '../proto-types.ts';
import { randomLogsRequest, randomMetricsRequest, randomTraceRequest, toJson, toProtobufjs } from './random-requests.ts';
import { seededRandom } from './sdk-requests.ts';
import { sdkTraceRequest } from './sdk-requests.ts';
import { checkTraceRequest, decodeTraceRequest } from '../traces.ts';

export type Signal = 'traces' | 'metrics' | 'logs';

export interface SeedPayload {
  signal: Signal;
  proto: Uint8Array;
  json: string;
}

export function seedPayloads(count: number): SeedPayload[] {
  const logsType = exportLogsServiceRequestType();
  const out: SeedPayload[] = [];
  for (let seed = 1; seed <= count; seed++) {
    const signal: Signal = (['traces', 'metrics', 'logs'] as const)[seed % 3];
    const neutral = signal === 'traces' ? randomTraceRequest(seed) : signal === 'metrics' ? randomMetricsRequest(seed) : randomLogsRequest(seed);
    const type = signal === 'traces' ? ExportTraceServiceRequest : signal === 'metrics' ? ExportMetricsServiceRequest : logsType;
    out.push({ signal, proto: type.encode(type.fromObject(toProtobufjs(neutral))).finish(), json: JSON.stringify(toJson(neutral)) });
  }
  out.push({ signal: 'traces', proto: sdkTraceRequest({ seed: 9, spans: 20 }), json: '{}' });
  return out;
}

/**
 * A seeded mutation of a copy of `input` (never `input` itself: a Buffer's `slice` is a view, so copies are made
 * explicitly): bit flips, byte overwrites, truncation, insertion, duplication, or noise.
 */
export function mutateBytes(input: Uint8Array, rng: () => number): Uint8Array {
  const n = input.length;
  const at = () => Math.floor(rng() * Math.max(1, n));
  const kind = Math.floor(rng() * 8);
  switch (kind) {
    case 0: {
      const out = Uint8Array.from(input);
      for (let i = 0, flips = 1 + Math.floor(rng() * 4); i < flips && n > 0; i++) out[at()] ^= 1 << Math.floor(rng() * 8);
      return out;
    }
    case 1: {
      const out = Uint8Array.from(input);
      for (let i = 0, k = 1 + Math.floor(rng() * 3); i < k && n > 0; i++) out[at()] = [0x00, 0x7f, 0x80, 0xff, 0x0a, 0x12][Math.floor(rng() * 6)];
      return out;
    }
    case 2:
      return Uint8Array.prototype.slice.call(input, 0, at());
    case 3: {
      const p = at();
      const noise = Uint8Array.from({ length: 1 + Math.floor(rng() * 12) }, () => Math.floor(rng() * 256));
      const out = new Uint8Array(n + noise.length);
      out.set(input.subarray(0, p));
      out.set(noise, p);
      out.set(input.subarray(p), p + noise.length);
      return out;
    }
    case 4: {
      // Duplicate a slice (repeated fields, overlapping messages).
      const a = at();
      const b = Math.min(n, a + Math.floor(rng() * 64));
      const out = new Uint8Array(n + (b - a));
      out.set(input.subarray(0, b));
      out.set(input.subarray(a), b);
      return out;
    }
    case 5: {
      // A length prefix made huge: the classic out-of-bounds read.
      const out = Uint8Array.from(input);
      const p = at();
      if (n > p + 1) {
        out[p] = 0xff;
        out[p + 1] = 0xff;
      }
      return out;
    }
    case 6:
      return Uint8Array.from({ length: Math.floor(rng() * 256) }, () => Math.floor(rng() * 256));
    default: {
      const out = Uint8Array.from(input);
      const p = at();
      if (n > 0) out[p] = (out[p] & 0xf8) | Math.floor(rng() * 8); // change a wire type
      return out;
    }
  }
}

export function mutateText(input: string, rng: () => number): string {
  const n = input.length;
  const at = () => Math.floor(rng() * Math.max(1, n));
  switch (Math.floor(rng() * 5)) {
    case 0:
      return input.slice(0, at());
    case 1: {
      const p = at();
      return input.slice(0, p) + ['"', '{', '}', '[', ']', ',', ':', '0', 'null', '"x"', '-1e999', '"ff"'][Math.floor(rng() * 12)] + input.slice(p + 1);
    }
    case 2:
      return input.replace(/"[0-9a-f]{16,32}"/, '"zz"').replace(/"\d+"/, '"-"');
    case 3:
      return input.replace(/\d/g, (d) => (rng() < 0.05 ? String.fromCharCode(48 + Math.floor(rng() * 10)) : d)).replace(/"(stringValue|intValue)"/, '"boolValue"');
    default:
      return `[${input}]`;
  }
}

export interface FuzzTally {
  cases: number;
  decoded: number;
  events: number;
  decodeErrors: number;
  internalErrors: number;
  otherErrors: number;
  firstViolation?: string;
}

export function emptyTally(): FuzzTally {
  return { cases: 0, decoded: 0, events: 0, decodeErrors: 0, internalErrors: 0, otherErrors: 0 };
}

const WIRE: Record<Signal, (b: Uint8Array) => unknown[]> = {
  traces: (b) => decodeTraceRequest(b),
  metrics: (b) => decodeMetricsRequest(b),
  logs: (b) => decodeLogsRequest(b),
};
const JSONS: Record<Signal, (s: string) => unknown[]> = {
  traces: (s) => decodeTraceRequestJson(s),
  metrics: (s) => decodeMetricsRequestJson(s),
  logs: (s) => decodeLogsRequestJson(s),
};

/** Runs one decoder on one input and counts the outcome; anything but events or a plain DecodeError is a violation. */
export function check(tally: FuzzTally, what: string, decode: () => unknown[]): void {
  tally.cases++;
  try {
    const events = decode();
    if (!Array.isArray(events)) throw new Error('decoder returned a non-array');
    tally.decoded++;
    tally.events += events.length;
  } catch (error) {
    if (error instanceof DecodeError && !error.message.startsWith('internal:')) tally.decodeErrors++;
    else {
      if (error instanceof DecodeError) tally.internalErrors++;
      else tally.otherErrors++;
      tally.firstViolation ??= `${what}: ${(error as Error)?.stack ?? String(error)}`;
    }
  }
}

/** The receiver's check (`checkTraceRequest`) must accept and reject exactly what the decoder does; a disagreement is a violation. */
function sameVerdict(tally: FuzzTally, what: string, bytes: Uint8Array): void {
  const verdict = (f: () => number): string => {
    try {
      return `ok ${f()}`;
    } catch (e) {
      return e instanceof DecodeError ? `error ${e.message}` : `throws ${String(e)}`;
    }
  };
  const decoded = verdict(() => decodeTraceRequest(bytes).length);
  const checked = verdict(() => checkTraceRequest(bytes));
  if (decoded === checked) return;
  tally.otherErrors++;
  tally.firstViolation ??= `${what}: decode says "${decoded}", check says "${checked}"`;
}

/** `count` seeded cases over the seed payloads: each signal's wire and JSON decoders, and every decoder on the wrong signal. */
export function runFuzz(seeds: SeedPayload[], count: number, seed: number, tally: FuzzTally = emptyTally(), onProgress?: (done: number) => void): FuzzTally {
  const rng = seededRandom(seed);
  const signals: Signal[] = ['traces', 'metrics', 'logs'];
  for (let i = 0; i < count; i++) {
    const base = seeds[Math.floor(rng() * seeds.length)];
    const r = rng();
    if (r < 0.75) {
      const bytes = mutateBytes(base.proto, rng);
      check(tally, `${base.signal} wire case ${i}`, () => WIRE[base.signal](bytes));
      if (base.signal === 'traces') sameVerdict(tally, `traces check case ${i}`, bytes);
    } else if (r < 0.9) {
      const text = mutateText(base.json, rng);
      check(tally, `${base.signal} JSON case ${i}`, () => JSONS[base.signal](text));
    } else {
      // A valid payload of one signal fed to another signal's decoder.
      const other = signals[Math.floor(rng() * 3)];
      check(tally, `${base.signal} as ${other} case ${i}`, () => WIRE[other](base.proto));
    }
    if (onProgress && i % 10_000 === 0) onProgress(i);
  }
  return tally;
}
