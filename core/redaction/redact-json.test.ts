import { describe, expect, it } from 'vitest';
import { redactBody } from './redact.ts';
import { mulberry32 } from '../random.ts';

// redactBody skips the JSON parse/redact/stringify round trip when a scan shows it would return
// the text unchanged. A leading space defeats that scan (JSON.stringify writes none) but not
// JSON.parse, so `redactBody(' ' + text)` is the round trip's own answer: the two must agree.

const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl';

const rng = mulberry32;

const KEYS = ['ok', 'q', 'marker', 'user', 'password', 'token', 'items', 'n', '0', '12', '__proto__', 'note', 'card', 'id', 'é', 'a b', 'api_key', 'ok'];
const STRINGS = ['load-1', 'items-response-marker', '', 'hello world', JWT, 'Bearer abcdefghijkl', '4111 1111 1111 1111', 'café', '😀', '\ud800', 'tab\there', 'quote"d', 'back\\slash', 'line\nbreak', '\u2028', 'AKIAABCDEFGHIJKLMNOP', 'sk-proj-abcdefghijklmnopqrstuv'];
const NUMBERS = ['0', '-0', '7', '-12', '123456789012', '1234567890123', '4111111111111111', '1.5', '1.0', '1e5', '1E5', '-1.25e-3', '00', '0.0', '9007199254740993', '100'];

function value(random: () => number, depth: number): string {
  const r = random();
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  if (depth < 4 && r < 0.2) {
    const n = Math.floor(random() * 5);
    return `{${Array.from({ length: n }, () => `${JSON.stringify(pick(KEYS))}:${value(random, depth + 1)}`).join(',')}}`;
  }
  if (depth < 4 && r < 0.3) return `[${Array.from({ length: Math.floor(random() * 4) }, () => value(random, depth + 1)).join(',')}]`;
  if (r < 0.6) return random() < 0.1 ? `"\\u0041${pick(STRINGS)}"` : JSON.stringify(pick(STRINGS));
  if (r < 0.85) return pick(NUMBERS);
  return pick(['true', 'false', 'null']);
}

/** Whitespace where JSON allows it, now and then. */
function reformat(text: string, random: () => number): string {
  if (random() < 0.7) return text;
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"' && text[i - 1] !== '\\') inString = !inString;
    out += c;
    if (!inString && (c === ',' || c === ':') && random() < 0.3) out += ' ';
  }
  return out;
}

describe('the JSON redaction shortcut', () => {
  it('returns a plain document as it is, and still redacts one that needs it', () => {
    const plain = '{"ok":true,"q":"load-7","marker":"items-response-marker","n":[1,2,null,false]}';
    expect(redactBody(plain, 'application/json')).toBe(plain);
    expect(redactBody('{"ok":true,"password":"hunter2"}', 'application/json')).toBe('{"ok":true,"password":"[REDACTED:field]"}');
    expect(redactBody(`{"note":"${JWT}"}`, 'application/json')).toBe('{"note":"[REDACTED:jwt]"}');
    expect(redactBody('{"n":4111111111111111}', 'application/json')).toBe('{"n":"[REDACTED:card]"}');
    expect(redactBody('{"a":1,"a":2}', 'application/json')).toBe('{"a":2}');
    expect(redactBody('{"b":1,"1":2}', 'application/json')).toBe('{"1":2,"b":1}');
    expect(redactBody('{"x":1.0,"y":-0}', 'application/json')).toBe('{"x":1,"y":0}');
  });

  it('agrees with the full round trip on random documents (fixed seed)', () => {
    const random = rng(7);
    let valid = 0;
    for (let n = 0; n < 5000; n++) {
      const text = reformat(value(random, 0), random);
      try {
        JSON.parse(text);
      } catch {
        continue; // not JSON: both go to the pattern pass, the shortcut is not involved
      }
      valid++;
      expect(redactBody(text, 'application/json')).toBe(redactBody(` ${text}`, 'application/json'));
    }
    expect(valid).toBeGreaterThan(3000);
  });
});
