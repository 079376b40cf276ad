/**
 * Reading OTLP from plain objects: protobufjs messages (bytes as Uint8Array, 64-bit integers as Long)
 * and OTLP/JSON as the collector writes it (ids as hex, 64-bit integers as decimal strings, enums as
 * numbers; lowerCamelCase names, snake_case accepted too). Shape errors become DecodeError naming the
 * path of the bad field.
 */
import { DecodeError } from '../../core/errors.ts';
import type { Attributes, AttrValue } from '../normalize/span.ts';
import { MAX_NESTING } from '../../core/protobuf/reader.ts';
import { bigNanosToMs, nanosDiffMs, nanosToMs } from './nanos.ts';

export type Obj = Record<string, unknown>;

/** Where a value sits in the request, for error messages; a function so that paths are only built on failure. */
export type Where = string | (() => string);

export function at(where: Where): string {
  return typeof where === 'string' ? where : where();
}

export function bad(where: Where, what: string): never {
  throw new DecodeError(`invalid OTLP at ${at(where)}: ${what}`);
}

/** A field by its lowerCamelCase name, falling back to the proto (snake_case) name. */
export function field(o: Obj, camel: string, snake?: string): unknown {
  const v = o[camel];
  if (v !== undefined && v !== null) return v;
  return snake === undefined ? undefined : o[snake] ?? undefined;
}

export function asObject(v: unknown, path: Where): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(path, 'expected an object');
  return v as Obj;
}

export function asArray(v: unknown, path: Where): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) bad(path, 'expected an array');
  return v;
}

export function asString(v: unknown, path: Where): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') bad(path, 'expected a string');
  return v;
}

interface LongLike {
  low: number;
  high: number;
}

function isLong(v: unknown): v is LongLike {
  return typeof v === 'object' && v !== null && typeof (v as LongLike).low === 'number' && typeof (v as LongLike).high === 'number';
}

const DECIMAL = /^-?\d{1,20}$/;

/** A 64-bit integer (Long, number or decimal string) as BigInt, wrapped to 64 bits. */
export function asBigInt(v: unknown, path: Where): bigint {
  if (v === undefined || v === null) return 0n;
  if (isLong(v)) return (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) bad(path, 'expected an integer');
    return BigInt(v);
  }
  if (typeof v === 'string' && DECIMAL.test(v)) return BigInt(v);
  bad(path, 'expected a 64-bit integer');
}

/** Unix nanos (fixed64) → { lo, hi } halves, for the exact ms conversions. */
export function nanosHalves(v: unknown, path: Where): [lo: number, hi: number] {
  if (isLong(v)) return [v.low >>> 0, v.high >>> 0];
  const big = BigInt.asUintN(64, asBigInt(v, path));
  return [Number(big & 0xffffffffn), Number(big >> 32n)];
}

export function nanosMs(v: unknown, path: Where): number {
  if (isLong(v)) return nanosToMs(v.low >>> 0, v.high >>> 0);
  return bigNanosToMs(asBigInt(v, path));
}

export function nanosSpanMs(start: unknown, end: unknown, path: Where): [startMs: number, durationMs: number] {
  const [slo, shi] = nanosHalves(start, path);
  const [elo, ehi] = nanosHalves(end, path);
  return [nanosToMs(slo, shi), nanosDiffMs(slo, shi, elo, ehi)];
}

/** A signed 64-bit integer as the nearest double (as Long#toNumber and the wire decoder round). */
export function int64Number(v: unknown, path: Where): number {
  if (isLong(v)) return (v.high | 0) * 4294967296 + (v.low >>> 0);
  if (typeof v === 'number') return v;
  return Number(BigInt.asIntN(64, asBigInt(v, path)));
}

/** An unsigned 64-bit count as the nearest double. */
export function uint64Number(v: unknown, path: Where): number {
  if (isLong(v)) return (v.high >>> 0) * 4294967296 + (v.low >>> 0);
  if (typeof v === 'number') return v;
  return Number(BigInt.asUintN(64, asBigInt(v, path)));
}

/** int32/uint32/enum fields: numbers, or (JSON) decimal strings or enum names from `names`. */
export function asInt(v: unknown, path: Where, names?: Record<string, number>): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string') {
    if (names && v in names) return names[v];
    if (/^-?\d+$/.test(v)) return Number(v);
  }
  if (isLong(v)) return v.low | 0;
  bad(path, 'expected an integer or enum name');
}

export function asDouble(v: unknown, path: Where): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const n = Number(v);
    if (!Number.isNaN(n) || v === 'NaN') return n;
  }
  bad(path, 'expected a number');
}

export function asBool(v: unknown, path: Where): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') bad(path, 'expected a boolean');
  return v;
}

const HEX_ID = /^[0-9a-fA-F]*$/;

/** A trace/span id: bytes (protobufjs) or hex (OTLP/JSON) → lowercase hex, '' when empty or all zero. */
export function asId(v: unknown, size: 8 | 16, path: Where): string {
  if (v === undefined || v === null) return '';
  // protobufjs reflection (the logs reference) leaves unset bytes fields as an empty array.
  if (Array.isArray(v)) v = Uint8Array.from(v as number[]);
  let hex: string;
  if (v instanceof Uint8Array) {
    if (v.length === 0) return '';
    if (v.length !== size) bad(path, `must be ${size} bytes, got ${v.length}`);
    hex = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
  } else if (typeof v === 'string') {
    if (v === '') return '';
    if (v.length !== size * 2 || !HEX_ID.test(v)) bad(path, `must be ${size * 2} hex characters`);
    hex = v.toLowerCase();
  } else bad(path, 'expected an id');
  for (let i = 0; i < hex.length; i++) if (hex.charCodeAt(i) !== 48) return hex;
  return '';
}

/** bytes (Uint8Array or base64 text) → canonical base64. */
function asBase64(v: unknown, path: Where): string {
  if (Array.isArray(v)) v = Uint8Array.from(v as number[]);
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  if (typeof v === 'string') return Buffer.from(v, 'base64').toString('base64');
  bad(path, 'expected bytes');
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** Flattens an AnyValue the way the wire decoder does: arrays/kvlists to JSON text, bytes to base64. */
export function flattenAnyValue(v: unknown, path: Where): AttrValue {
  if (v === undefined || v === null) return '';
  const value = anyValue(v, path, 0);
  if (value === null) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return value;
}

function anyValue(v: unknown, path: Where, depth: number): Json {
  if (depth > MAX_NESTING) bad(path, 'attribute value nested too deeply');
  const o = asObject(v, path);
  let x = field(o, 'stringValue', 'string_value');
  if (x !== undefined) return asString(x, `${path}.stringValue`);
  x = field(o, 'boolValue', 'bool_value');
  if (x !== undefined) return asBool(x, `${path}.boolValue`);
  x = field(o, 'intValue', 'int_value');
  if (x !== undefined) return int64Number(x, `${path}.intValue`);
  x = field(o, 'doubleValue', 'double_value');
  if (x !== undefined) return asDouble(x, `${path}.doubleValue`);
  x = field(o, 'arrayValue', 'array_value');
  if (x !== undefined) {
    const values = asArray(field(asObject(x, `${path}.arrayValue`), 'values'), `${path}.arrayValue.values`);
    return values.map((item, i) => (item === null || item === undefined ? null : anyValue(item, `${path}.arrayValue.values[${i}]`, depth + 1)));
  }
  x = field(o, 'kvlistValue', 'kvlist_value');
  if (x !== undefined) {
    const values = asArray(field(asObject(x, `${path}.kvlistValue`), 'values'), `${path}.kvlistValue.values`);
    const out: { [key: string]: Json } = {};
    values.forEach((kv, i) => {
      const p = `${path}.kvlistValue.values[${i}]`;
      const entry = asObject(kv, p);
      const key = asString(entry.key, `${p}.key`);
      const inner = entry.value;
      if (key !== '') out[key] = inner === undefined || inner === null ? null : anyValue(inner, `${p}.value`, depth + 1);
    });
    return out;
  }
  x = field(o, 'bytesValue', 'bytes_value');
  if (x !== undefined) return asBase64(x, `${path}.bytesValue`);
  return null;
}

/** Repeated KeyValue → calls `sink` for each keyed attribute, in order. */
export function eachAttribute(list: unknown, path: Where, sink: (key: string, value: AttrValue) => void): void {
  const items = asArray(list, path);
  for (let i = 0; i < items.length; i++) {
    const kv = asObject(items[i], () => `${at(path)}[${i}]`);
    const key = typeof kv.key === 'string' ? kv.key : asString(kv.key, () => `${at(path)}[${i}].key`);
    if (key === '') continue;
    sink(key, flattenAnyValue(kv.value, () => `${at(path)}[${i}].value`));
  }
}

export function attributesOf(list: unknown, path: Where): Attributes {
  const out: Attributes = {};
  eachAttribute(list, path, (key, value) => {
    out[key] = value;
  });
  return out;
}

export function resourceAttributes(resource: unknown, path: Where): Attributes {
  if (resource === undefined || resource === null) return {};
  return attributesOf(asObject(resource, path).attributes, () => `${at(path)}.attributes`);
}

/** JSON text or bytes → parsed object, or DecodeError. */
export function parseJson(input: Uint8Array | string): Obj {
  let text: string;
  if (typeof input === 'string') text = input;
  else if (input instanceof Uint8Array) text = new TextDecoder('utf-8').decode(input);
  else throw new DecodeError(`expected bytes or text, got ${typeof input}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new DecodeError(`invalid OTLP/JSON: ${(error as Error).message}`, { cause: error });
  }
  return asObject(parsed, '$');
}
