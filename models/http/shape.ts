/**
 * The shape of a parameter value, at three levels of detail, plus its character classes and numeric reading.
 * Normal values of a field share a few shapes (a postcode is `9`, a DNI `9A`, an e-mail `a@a.a`); tampering that
 * keeps to ordinary characters (`a@a@a.a`, `9A@9`) still changes the shape. Pure functions, no allocation beyond
 * the strings they return.
 */

/** Character class symbol: letters by case (ASCII and Latin-1 apart), digits, everything else as itself. */
export function charClass(code: number): string {
  if (code >= 97 && code <= 122) return 'a';
  if (code >= 65 && code <= 90) return 'A';
  if (code >= 48 && code <= 57) return '9';
  if (code >= 0xc0 && code <= 0xff && code !== 0xd7 && code !== 0xf7) return code >= 0xdf ? 'ä' : 'Ä';
  if (code < 32 || code === 127) return '^'; // control characters
  if (code > 0xff) return '¤'; // anything beyond Latin-1
  return String.fromCharCode(code);
}

/** Classes at the coarse level: letters of any case and alphabet are one class. */
function coarseClass(code: number): string {
  const c = charClass(code);
  return c === 'A' || c === 'ä' || c === 'Ä' ? 'a' : c;
}

/** Classes at the word level: letters and digits are one class. */
function wordClass(code: number): string {
  const c = coarseClass(code);
  return c === '9' ? 'a' : c;
}

/** Classes whose runs collapse to one symbol: a word or a number is one unit; `@@@` is not `@`. */
const COLLAPSING = new Set(['a', 'A', '9', 'ä', 'Ä']);

export interface ValueShape {
  /** Runs of letters or digits collapsed, punctuation kept one by one: `17621392B` -> `9A`, `a@@b` -> `a@@a`;
   *  a long random-looking alphanumeric token (session id) is `x`. */
  fine: string;
  coarse: string;
  word: string;
  /** Distinct character classes present (letters of any case as one class), and how often each occurs. */
  classes: string[];
  classCounts: number[];
  length: number;
  /** The value as a number when it is one (`42`, `-3.5`, `3,5`), else undefined. */
  numeric: number | undefined;
}

export function valueShape(value: string): ValueShape {
  let fine = '', coarse = '', word = '';
  let lastFine = '', lastCoarse = '', lastWord = '';
  const classes: string[] = [];
  const classCounts: number[] = [];
  let tokenEnd = 0;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    const c = coarseClass(code);
    const k = classes.indexOf(c);
    if (k < 0) { classes.push(c); classCounts.push(1); } else classCounts[k]++;
    if (i >= tokenEnd) tokenEnd = randomTokenEnd(value, i);
    if (i < tokenEnd) {
      // Inside a random-looking token (session id, hash): its letter/digit alternation carries no meaning.
      if (lastFine !== 'x') { fine += 'x'; lastFine = 'x'; }
      if (lastCoarse !== 'x') { coarse += 'x'; lastCoarse = 'x'; }
    } else {
      const f = charClass(code);
      if (f !== lastFine || !COLLAPSING.has(f)) { fine += f; lastFine = f; }
      if (c !== lastCoarse || !COLLAPSING.has(c)) { coarse += c; lastCoarse = c; }
    }
    const w = wordClass(code);
    if (w !== lastWord || !COLLAPSING.has(w)) { word += w; lastWord = w; }
  }
  return { fine, coarse, word, classes, classCounts, length: value.length, numeric: readNumber(value) };
}

/** Random tokens: runs of ASCII letters and digits, both present, at least this long. */
const TOKEN_MIN = 12;

/** If an alphanumeric run starts at `start` and looks random, where it ends; else `start`. */
function randomTokenEnd(value: string, start: number): number {
  if (start > 0 && isAsciiAlnum(value.charCodeAt(start - 1))) return start;
  let end = start, letters = 0, digits = 0;
  while (end < value.length) {
    const code = value.charCodeAt(end);
    if (code >= 48 && code <= 57) digits++;
    else if ((code >= 65 && code <= 90) || (code >= 97 && code <= 122)) letters++;
    else break;
    end++;
  }
  return end - start >= TOKEN_MIN && letters > 0 && digits > 0 ? end : start;
}

function isAsciiAlnum(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

const NUMBER = /^[+-]?\d{1,15}(?:[.,]\d{1,15})?$/;

export function readNumber(value: string): number | undefined {
  if (!NUMBER.test(value)) return undefined;
  return Number(value.replace(',', '.'));
}
