/**
 * The OTLP common messages (KeyValue, AnyValue, Resource) read straight from protobuf bytes, and the
 * guard every hot-path decoder runs inside.
 */
import { DecodeError } from '../../core/errors.ts';
import { classifyAttributeKey, UNIQUE_VALUE, type Attributes, type AttrValue } from '../normalize/span.ts';
import { InternTable } from '../../core/protobuf/bytes-cache.ts';
import { MAX_NESTING, ProtoReader } from '../../core/protobuf/reader.ts';

export interface DecodeOptions {
  /** Upper bound on events from one message; more is treated as malformed (a few bytes per span could otherwise cost GBs). */
  maxEvents?: number;
}

export const DEFAULT_MAX_EVENTS = 250_000;

/** Key of the KeyValue last read by readKeyValue (avoids allocating a pair per attribute). */
export let lastKey = '';
/** classifyAttributeKey(lastKey), cached per key in the key table. */
export let lastKeyMeta = 0;

/** Attribute keys: few, repeated in every span, each remembered with its normalizer classification. */
const keyTable = new InternTable(512, 64, classifyAttributeKey);

/**
 * Reads one KeyValue ending at `end` and returns its flattened value (`lastKey` holds the key).
 * Returns undefined for a KeyValue without key.
 */
export function readKeyValue(r: ProtoReader, end: number): AttrValue | undefined {
  const saved = r.end;
  r.end = end;
  let key = '';
  let meta = 0;
  let value: AttrValue = '';
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === 0x0a) {
      key = r.internedString(keyTable, classifyAttributeKey);
      meta = r.meta;
    } else if (tag === 0x12) {
      const valueEnd = r.lengthEnd();
      value = readAnyValue(r, valueEnd, (meta & UNIQUE_VALUE) !== 0);
    } else if (tag >>> 3 <= 2) r.wrongType(tag, 'KeyValue');
    else r.skip(tag);
  }
  r.end = saved;
  lastKey = key;
  lastKeyMeta = key === '' ? 0 : meta;
  return key === '' ? undefined : value;
}

/** A top-level AnyValue, flattened: arrays and kvlists become JSON text, bytes base64, empty ''. */
export function readAnyValue(r: ProtoReader, end: number, unique = false): AttrValue {
  const saved = r.end;
  r.end = end;
  let value: AttrValue = '';
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag) {
      case 0x0a:
        value = unique ? r.uniqueString() : r.string();
        break;
      case 0x10:
        r.varint64();
        value = r.lo !== 0 || r.hi !== 0;
        break;
      case 0x18:
        r.varint64();
        value = r.int64Number();
        break;
      case 0x21:
        value = r.double();
        break;
      case 0x2a: {
        const inner = r.lengthEnd();
        value = JSON.stringify(readArray(r, inner, 1));
        break;
      }
      case 0x32: {
        const inner = r.lengthEnd();
        value = JSON.stringify(readKvList(r, inner, 1));
        break;
      }
      case 0x3a:
        value = r.base64();
        break;
      default:
        if (tag >>> 3 <= 7) r.wrongType(tag, 'AnyValue');
        r.skip(tag);
    }
  }
  r.end = saved;
  return value;
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

function readNested(r: ProtoReader, end: number, depth: number): Json {
  if (depth > MAX_NESTING) r.fail('attribute value nested too deeply');
  const saved = r.end;
  r.end = end;
  let value: Json = null;
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag) {
      case 0x0a:
        value = r.string();
        break;
      case 0x10:
        r.varint64();
        value = r.lo !== 0 || r.hi !== 0;
        break;
      case 0x18:
        r.varint64();
        value = r.int64Number();
        break;
      case 0x21:
        value = r.double();
        break;
      case 0x2a: {
        const inner = r.lengthEnd();
        value = readArray(r, inner, depth + 1);
        break;
      }
      case 0x32: {
        const inner = r.lengthEnd();
        value = readKvList(r, inner, depth + 1);
        break;
      }
      case 0x3a:
        value = r.base64();
        break;
      default:
        if (tag >>> 3 <= 7) r.wrongType(tag, 'AnyValue');
        r.skip(tag);
    }
  }
  r.end = saved;
  return value;
}

function readArray(r: ProtoReader, end: number, depth: number): Json[] {
  if (depth > MAX_NESTING) r.fail('attribute value nested too deeply');
  const saved = r.end;
  r.end = end;
  const out: Json[] = [];
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === 0x0a) {
      const inner = r.lengthEnd();
      out.push(readNested(r, inner, depth + 1));
    } else if (tag >>> 3 === 1) r.wrongType(tag, 'ArrayValue');
    else r.skip(tag);
  }
  r.end = saved;
  return out;
}

function readKvList(r: ProtoReader, end: number, depth: number): { [key: string]: Json } {
  if (depth > MAX_NESTING) r.fail('attribute value nested too deeply');
  const saved = r.end;
  r.end = end;
  const out: { [key: string]: Json } = {};
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === 0x0a) {
      const kvEnd = r.lengthEnd();
      r.end = kvEnd;
      let key = '';
      let value: Json = null;
      while (r.pos < kvEnd) {
        const t = r.tag();
        if (t === 0x0a) key = r.string();
        else if (t === 0x12) {
          const inner = r.lengthEnd();
          value = readNested(r, inner, depth + 1);
        } else if (t >>> 3 <= 2) r.wrongType(t, 'KeyValue');
        else r.skip(t);
      }
      r.end = end;
      if (key !== '') out[key] = value;
    } else if (tag >>> 3 === 1) r.wrongType(tag, 'KeyValueList');
    else r.skip(tag);
  }
  r.end = saved;
  return out;
}

/**
 * Checks one KeyValue ending at `end` exactly as `readKeyValue` reads it — same wire types, nesting bound and
 * failures — without decoding anything (strings are never rejected, only their bounds are read).
 */
export function checkKeyValue(r: ProtoReader, end: number): void {
  const saved = r.end;
  r.end = end;
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === 0x0a) r.pos = r.lengthEnd();
    else if (tag === 0x12) {
      const valueEnd = r.lengthEnd();
      checkAnyValue(r, valueEnd, 0);
    } else if (tag >>> 3 <= 2) r.wrongType(tag, 'KeyValue');
    else r.skip(tag);
  }
  r.end = saved;
}

/** An AnyValue as `readAnyValue` (depth 0) or `readNested` (deeper) reads it. */
function checkAnyValue(r: ProtoReader, end: number, depth: number): void {
  if (depth > MAX_NESTING) r.fail('attribute value nested too deeply');
  const saved = r.end;
  r.end = end;
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag) {
      case 0x0a:
      case 0x3a:
        r.pos = r.lengthEnd();
        break;
      case 0x10:
      case 0x18:
        r.varint64();
        break;
      case 0x21:
        r.double();
        break;
      case 0x2a:
      case 0x32: {
        const inner = r.lengthEnd();
        checkList(r, inner, depth + 1, tag === 0x32);
        break;
      }
      default:
        if (tag >>> 3 <= 7) r.wrongType(tag, 'AnyValue');
        r.skip(tag);
    }
  }
  r.end = saved;
}

/** An ArrayValue (or, with `kv`, a KeyValueList) as `readArray` / `readKvList` read them. */
function checkList(r: ProtoReader, end: number, depth: number, kv: boolean): void {
  if (depth > MAX_NESTING) r.fail('attribute value nested too deeply');
  const saved = r.end;
  r.end = end;
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === 0x0a) {
      const inner = r.lengthEnd();
      if (kv) checkNestedKeyValue(r, inner, depth);
      else checkAnyValue(r, inner, depth + 1);
    } else if (tag >>> 3 === 1) r.wrongType(tag, kv ? 'KeyValueList' : 'ArrayValue');
    else r.skip(tag);
  }
  r.end = saved;
}

/** A KeyValue inside a KeyValueList at `depth`. */
function checkNestedKeyValue(r: ProtoReader, end: number, depth: number): void {
  const saved = r.end;
  r.end = end;
  while (r.pos < end) {
    const t = r.tag();
    if (t === 0x0a) r.pos = r.lengthEnd();
    else if (t === 0x12) {
      const inner = r.lengthEnd();
      checkAnyValue(r, inner, depth + 1);
    } else if (t >>> 3 <= 2) r.wrongType(t, 'KeyValue');
    else r.skip(t);
  }
  r.end = saved;
}

/** A Resource message ending at `end` → its attributes. */
export function readResource(r: ProtoReader, end: number): Attributes {
  const saved = r.end;
  r.end = end;
  const attrs: Attributes = {};
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === 0x0a) {
      const value = readKeyValue(r, r.lengthEnd());
      if (value !== undefined) attrs[lastKey] = value;
    } else if (tag === 0x10) r.varint64();
    else if (tag >>> 3 <= 2) r.wrongType(tag, 'Resource');
    else r.skip(tag);
  }
  r.end = saved;
  return attrs;
}

/**
 * Runs a decoder and guarantees its only failure is DecodeError. A non-DecodeError from inside is a
 * bug in the decoder; it is reported as `internal:` so fuzzing can tell the two apart.
 */
export function guarded<T>(what: string, decode: () => T): T {
  try {
    return decode();
  } catch (error) {
    if (error instanceof DecodeError) throw error;
    throw new DecodeError(`internal: ${what} decoder failed: ${(error as Error)?.message ?? String(error)}`, { cause: error });
  }
}

export function asBytes(input: Uint8Array): Uint8Array {
  if (!(input instanceof Uint8Array)) throw new DecodeError(`expected bytes, got ${typeof input}`);
  return input;
}
