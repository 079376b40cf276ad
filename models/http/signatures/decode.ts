/**
 * Decoding a raw request value the way a server or browser might before the value reaches its sink, keeping for every
 * decoded character the range of raw characters it came from, so a match found in the decoded text is reported as a
 * fragment of the raw value with its offsets. Layers are applied until nothing changes (at most MAX_PASSES): percent
 * escapes (also double-encoded, `%uXXXX`, and overlong UTF-8 such as `%c0%af` for `/`), `+` as a space in form values,
 * HTML character references (`&#x27;`, `&lt;`, with or without `;`), backslash escapes (`\u0027`, `\x27`, `\u{27}`),
 * full-width forms (`＜` → `<`). Pure.
 */

export interface Decoded {
  /** The decoded text. */
  text: string;
  /** For decoded character i, the raw range [start[i], end[i]) it came from; absent when nothing was decoded. */
  start?: Int32Array;
  end?: Int32Array;
}

// Any character a layer reads: most values (ids, words, numbers) have none and are their own decoding.
const ENCODED = /[%&\\\uff01-\uff5e]/;

const MAX_PASSES = 4;

/** One decoding layer's output: text and, per output character, the input range it came from. */
interface Layer { text: string; from: number[]; to: number[] }

export interface DecodeOptions {
  /** `+` means a space (query strings and form bodies). */
  form?: boolean;
  /** The raw text is the content of a JSON string literal: its escapes (`\"`, `\\`, `\/`, `\n`…) come off first. */
  json?: boolean;
}

/** The fully decoded value with its raw offsets. */
export function decodeValue(raw: string, options: DecodeOptions = {}): Decoded {
  if (!ENCODED.test(raw) && !(options.form && raw.includes('+'))) return { text: raw };
  let text = raw;
  let start = identity(raw.length, 0);
  let end = identity(raw.length, 1);
  const apply = (layer: Layer | undefined) => {
    // Each layer decodes the previous layer's output: compose the maps.
    if (layer) ({ text, start, end } = compose(layer, start, end));
    return layer !== undefined;
  };
  if (options.json) apply(jsonLayer(text));
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    // `+` is a space only in the form encoding itself, not in what it decodes to.
    const changed = [apply(percentLayer(text, options.form === true && pass === 0)), apply(entityLayer(text)), apply(escapeLayer(text)), apply(widthLayer(text))];
    if (!changed.includes(true)) break;
  }
  return { text, start, end };
}

/** The raw range of decoded characters [from, to). */
export function rawRange(d: Decoded, from: number, to: number): [number, number] {
  if (d.text.length === 0) return [0, 0];
  const a = Math.min(Math.max(from, 0), d.text.length - 1);
  const b = Math.min(Math.max(to, a + 1), d.text.length);
  return d.start && d.end ? [d.start[a], d.end[b - 1]] : [a, b];
}

function identity(n: number, offset: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i + offset;
  return a;
}

function compose(layer: Layer, start: Int32Array, end: Int32Array): Required<Decoded> {
  const n = layer.text.length;
  const s = new Int32Array(n), e = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    s[i] = start[layer.from[i]];
    e[i] = end[layer.to[i] - 1];
  }
  return { text: layer.text, start: s, end: e };
}

/** Builds a layer's output piece by piece; `undefined` from `finish` when nothing changed. */
class LayerBuilder {
  private text = '';
  private readonly from: number[] = [];
  private readonly to: number[] = [];
  private changed = false;
  constructor(private readonly input: string) {}

  keep(i: number): void {
    this.text += this.input[i];
    this.from.push(i);
    this.to.push(i + 1);
  }

  put(chars: string, from: number, to: number): void {
    this.changed = true;
    for (const c of chars) {
      this.text += c;
      this.from.push(from);
      this.to.push(to);
    }
  }

  finish(): Layer | undefined {
    return this.changed ? { text: this.text, from: this.from, to: this.to } : undefined;
  }
}

function hexAt(s: string, i: number, n: number): number {
  if (i + n > s.length) return -1;
  let v = 0;
  for (let k = 0; k < n; k++) {
    const c = s.charCodeAt(i + k);
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/** Percent escapes: runs of `%XX` bytes are read as UTF-8 (overlong forms too), else byte by byte as Latin-1. */
function percentLayer(s: string, plusIsSpace: boolean): Layer | undefined {
  if (s.indexOf('%') < 0 && !(plusIsSpace && s.indexOf('+') >= 0)) return undefined;
  const out = new LayerBuilder(s);
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === 43 && plusIsSpace) {
      out.put(' ', i, i + 1);
      i++;
      continue;
    }
    if (c !== 37) {
      out.keep(i);
      i++;
      continue;
    }
    if ((s[i + 1] === 'u' || s[i + 1] === 'U') && hexAt(s, i + 2, 4) >= 0) {
      out.put(String.fromCharCode(hexAt(s, i + 2, 4)), i, i + 6);
      i += 6;
      continue;
    }
    const b0 = hexAt(s, i + 1, 2);
    if (b0 < 0) {
      out.keep(i);
      i++;
      continue;
    }
    // A multi-byte UTF-8 sequence (including overlong encodings of ASCII, which lenient decoders accept).
    const need = b0 >= 0xc0 && b0 < 0xe0 ? 1 : b0 >= 0xe0 && b0 < 0xf0 ? 2 : b0 >= 0xf0 && b0 < 0xf8 ? 3 : 0;
    let code = need === 1 ? b0 & 0x1f : need === 2 ? b0 & 0x0f : b0 & 0x07;
    let k = 0;
    for (; k < need; k++) {
      const at = i + 3 * (k + 1);
      const b = s[at] === '%' ? hexAt(s, at + 1, 2) : -1;
      if (b < 0x80 || b >= 0xc0) break;
      code = (code << 6) | (b & 0x3f);
    }
    if (need > 0 && k === need) {
      out.put(String.fromCodePoint(Math.min(code, 0x10ffff)), i, i + 3 * (need + 1));
      i += 3 * (need + 1);
      continue;
    }
    out.put(String.fromCharCode(b0), i, i + 3);
    i += 3;
  }
  return out.finish();
}

const NAMED_ENTITIES: Record<string, string> = {
  lt: '<', gt: '>', quot: '"', apos: "'", amp: '&', sol: '/', bsol: '\\', colon: ':', semi: ';', lpar: '(', rpar: ')',
  tab: '\t', newline: '\n', nbsp: ' ', period: '.', equals: '=', grave: '`', excl: '!', num: '#', dollar: '$',
  percnt: '%', plus: '+', comma: ',', lsqb: '[', rsqb: ']', lcub: '{', rcub: '}', ast: '*', vert: '|', quest: '?',
  commat: '@', hyphen: '-', lowbar: '_', verbar: '|', lbrack: '[', rbrack: ']', lbrace: '{', rbrace: '}',
};

/** HTML character references: `&#39;`, `&#x27;`, `&#0000039` (browsers take them without `;`), `&lt;`, `&Tab;`. */
function entityLayer(s: string): Layer | undefined {
  if (s.indexOf('&') < 0) return undefined;
  const out = new LayerBuilder(s);
  let i = 0;
  while (i < s.length) {
    if (s[i] !== '&') {
      out.keep(i);
      i++;
      continue;
    }
    const numeric = /^&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));?/.exec(s.slice(i, i + 14));
    if (numeric) {
      const code = numeric[1] !== undefined ? parseInt(numeric[1], 16) : parseInt(numeric[2], 10);
      if (code > 0 && code <= 0x10ffff) {
        out.put(String.fromCodePoint(code), i, i + numeric[0].length);
        i += numeric[0].length;
        continue;
      }
    }
    const named = /^&([a-zA-Z]{2,8});?/.exec(s.slice(i, i + 11));
    const value = named ? NAMED_ENTITIES[named[1].toLowerCase()] : undefined;
    // A named reference without `;` only where browsers read it so (`&lt` yes, `&copy2` text): require `;` except for lt/gt/quot/amp.
    if (named && value !== undefined && (named[0].endsWith(';') || /^(lt|gt|quot|amp)$/i.test(named[1]))) {
      out.put(value, i, i + named[0].length);
      i += named[0].length;
      continue;
    }
    out.keep(i);
    i++;
  }
  return out.finish();
}

const JSON_ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/** The escapes of a JSON string literal other than `\\u` (which the escape layer reads, also outside JSON). */
function jsonLayer(s: string): Layer | undefined {
  if (s.indexOf('\\') < 0) return undefined;
  const out = new LayerBuilder(s);
  for (let i = 0; i < s.length; i++) {
    const value = s[i] === '\\' ? JSON_ESCAPES[s[i + 1]] : undefined;
    if (value !== undefined) {
      out.put(value, i, i + 2);
      i++;
    } else out.keep(i);
  }
  return out.finish();
}

/** JavaScript/JSON-style escapes: `\uXXXX`, `\u{X…}`, `\xXX`. Other backslashes (Windows paths) stay. */
function escapeLayer(s: string): Layer | undefined {
  if (s.indexOf('\\') < 0) return undefined;
  const out = new LayerBuilder(s);
  let i = 0;
  while (i < s.length) {
    if (s[i] === '\\') {
      const kind = s[i + 1];
      if ((kind === 'u' || kind === 'U') && hexAt(s, i + 2, 4) >= 0) {
        out.put(String.fromCharCode(hexAt(s, i + 2, 4)), i, i + 6);
        i += 6;
        continue;
      }
      if (kind === 'u' && s[i + 2] === '{') {
        const m = /^\\u\{([0-9a-fA-F]{1,6})\}/.exec(s.slice(i, i + 11));
        if (m && parseInt(m[1], 16) <= 0x10ffff) {
          out.put(String.fromCodePoint(parseInt(m[1], 16)), i, i + m[0].length);
          i += m[0].length;
          continue;
        }
      }
      if ((kind === 'x' || kind === 'X') && hexAt(s, i + 2, 2) >= 0) {
        out.put(String.fromCharCode(hexAt(s, i + 2, 2)), i, i + 4);
        i += 4;
        continue;
      }
    }
    out.keep(i);
    i++;
  }
  return out.finish();
}

/** Full-width ASCII forms (U+FF01–FF5E) as ASCII. */
function widthLayer(s: string): Layer | undefined {
  let any = false;
  for (let i = 0; i < s.length && !any; i++) {
    const c = s.charCodeAt(i);
    any = c >= 0xff01 && c <= 0xff5e;
  }
  if (!any) return undefined;
  const out = new LayerBuilder(s);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xff01 && c <= 0xff5e) out.put(String.fromCharCode(c - 0xfee0), i, i + 1);
    else out.keep(i);
  }
  return out.finish();
}
