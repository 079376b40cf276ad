#include "text.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

void buf_grow(buf_t *b, size_t extra) {
  size_t need = b->len + extra;
  if (need <= b->cap) return;
  size_t cap = b->cap ? b->cap * 2 : 256;
  while (cap < need) cap *= 2;
  uint8_t *p = realloc(b->p, cap);
  if (!p) abort(); /* out of memory: nothing sensible is left to do */
  b->p = p;
  b->cap = cap;
}

void buf_free(buf_t *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

void utf8_put(buf_t *out, uint32_t cp) {
  uint8_t b[4];
  size_t n;
  if (cp < 0x80) {
    b[0] = cp;
    n = 1;
  } else if (cp < 0x800) {
    b[0] = 0xC0 | (cp >> 6);
    b[1] = 0x80 | (cp & 0x3F);
    n = 2;
  } else if (cp < 0x10000) {
    b[0] = 0xE0 | (cp >> 12);
    b[1] = 0x80 | ((cp >> 6) & 0x3F);
    b[2] = 0x80 | (cp & 0x3F);
    n = 3;
  } else {
    b[0] = 0xF0 | (cp >> 18);
    b[1] = 0x80 | ((cp >> 12) & 0x3F);
    b[2] = 0x80 | ((cp >> 6) & 0x3F);
    b[3] = 0x80 | (cp & 0x3F);
    n = 4;
  }
  buf_add(out, b, n);
}

void utf8_from_bytes(buf_t *out, const uint8_t *s, size_t n) {
  buf_grow(out, n + 8);
  size_t i = 0;
  while (i < n) {
    /* ASCII runs are the common case: copy them as they are. */
    size_t start = i;
    while (i < n && s[i] < 0x80) i++;
    if (i > start) buf_add(out, s + start, i - start);
    if (i >= n) break;
    uint8_t b = s[i];
    unsigned need;
    uint8_t lower = 0x80, upper = 0xBF;
    uint32_t cp;
    if (b >= 0xC2 && b <= 0xDF) {
      need = 1;
      cp = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
      if (b == 0xE0) lower = 0xA0;
      if (b == 0xED) upper = 0x9F;
      need = 2;
      cp = b & 0x0F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      if (b == 0xF0) lower = 0x90;
      if (b == 0xF4) upper = 0x8F;
      need = 3;
      cp = b & 0x07;
    } else {
      utf8_put(out, 0xFFFD);
      i++;
      continue;
    }
    size_t j = i + 1;
    unsigned seen = 0;
    while (seen < need) {
      if (j >= n || s[j] < lower || s[j] > upper) break;
      lower = 0x80;
      upper = 0xBF;
      cp = (cp << 6) | (s[j] & 0x3F);
      j++;
      seen++;
    }
    if (seen == need) {
      buf_add(out, s + i, j - i);
    } else {
      /* The maximal subpart (lead and the continuation bytes that fitted) is one U+FFFD; the
       * offending byte is read again. */
      utf8_put(out, 0xFFFD);
    }
    i = j;
  }
}

bool is_ascii(const uint8_t *s, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, s + i, 8);
    if (w & 0x8080808080808080ull) return false;
  }
  for (; i < n; i++)
    if (s[i] & 0x80) return false;
  return true;
}

void utf8_from_latin1(buf_t *out, const uint8_t *s, size_t n) {
  if (is_ascii(s, n)) {
    buf_add(out, s, n);
    return;
  }
  buf_grow(out, 2 * n);
  uint8_t *o = out->p + out->len;
  for (size_t i = 0; i < n; i++) {
    uint8_t c = s[i];
    if (c < 0x80) {
      *o++ = c;
    } else {
      *o++ = 0xC0 | (c >> 6);
      *o++ = 0x80 | (c & 0x3F);
    }
  }
  out->len = o - out->p;
}

uint32_t utf8_next(const uint8_t *s, size_t n, size_t *i) {
  size_t k = *i;
  uint8_t b = s[k];
  if (b < 0x80) {
    *i = k + 1;
    return b;
  }
  if (b >= 0xC0 && b < 0xE0 && k + 1 < n) {
    *i = k + 2;
    return ((uint32_t)(b & 0x1F) << 6) | (s[k + 1] & 0x3F);
  }
  if (b >= 0xE0 && b < 0xF0 && k + 2 < n) {
    *i = k + 3;
    return ((uint32_t)(b & 0x0F) << 12) | ((uint32_t)(s[k + 1] & 0x3F) << 6) | (s[k + 2] & 0x3F);
  }
  if (b >= 0xF0 && k + 3 < n) {
    *i = k + 4;
    return ((uint32_t)(b & 0x07) << 18) | ((uint32_t)(s[k + 1] & 0x3F) << 12) | ((uint32_t)(s[k + 2] & 0x3F) << 6) |
           (s[k + 3] & 0x3F);
  }
  *i = k + 1;
  return 0xFFFD;
}

bool js_space_cp(uint32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= 9 && cp <= 13);
  return cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000 || cp == 0xFEFF;
}

bool js_space_at(const uint8_t *s, size_t n, size_t i, size_t *len) {
  uint8_t c = s[i];
  if (c < 0x80) {
    *len = 1;
    return c == ' ' || (c >= 9 && c <= 13);
  }
  /* Every non-ASCII \s character starts with C2, E1, E2, E3 or EF. */
  if (c != 0xC2 && c != 0xE1 && c != 0xE2 && c != 0xE3 && c != 0xEF) {
    size_t j = i;
    utf8_next(s, n, &j);
    *len = j - i;
    return false;
  }
  size_t j = i;
  uint32_t cp = utf8_next(s, n, &j);
  *len = j - i;
  return js_space_cp(cp);
}

span_t js_trim_start(span_t s) {
  size_t i = 0, len;
  while (i < s.n && js_space_at(s.p, s.n, i, &len)) i += len;
  return (span_t){s.p + i, s.n - i};
}

span_t js_trim(span_t s) {
  s = js_trim_start(s);
  /* From the end: find the last character that is not whitespace by walking forward (UTF-8 is
   * not self-delimiting backwards without care; these strings are short). */
  size_t i = 0, keep = 0, len;
  while (i < s.n) {
    bool space = js_space_at(s.p, s.n, i, &len);
    i += len;
    if (!space) keep = i;
  }
  return (span_t){s.p, keep};
}

/* The significant digits of printf's %e text (trailing zeros dropped) and its exponent. */
static int e_digits(const char *text, char *digits, int *exp10) {
  const char *e = strchr(text, 'e');
  *exp10 = atoi(e + 1);
  int k = 0;
  for (const char *c = text; c < e; c++)
    if (*c >= '0' && *c <= '9') digits[k++] = *c;
  while (k > 1 && digits[k - 1] == '0') k--;
  digits[k] = 0;
  return k;
}

/* The shortest decimal digits that read back as v (v finite, > 0); the decimal exponent of the
 * first digit in *exp10. */
static int shortest_digits(double v, char *digits, int *exp10) {
  char tmp[40];
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
    if (strtod(tmp, NULL) != v) {
      /* The correctly rounded candidate misses; at a power of two the neighbour above may not. */
      char mant[24];
      int ex, k = e_digits(tmp, mant, &ex);
      while (k < prec) mant[k++] = '0';
      mant[k] = 0;
      int carry = 1;
      for (int d = k - 1; d >= 0 && carry; d--) {
        if (mant[d] == '9') {
          mant[d] = '0';
        } else {
          mant[d]++;
          carry = 0;
        }
      }
      if (carry) continue;
      if (k == 1) snprintf(tmp, sizeof(tmp), "%ce%d", mant[0], ex);
      else snprintf(tmp, sizeof(tmp), "%c.%se%d", mant[0], mant + 1, ex);
      if (strtod(tmp, NULL) != v) continue;
    }
    return e_digits(tmp, digits, exp10);
  }
  snprintf(tmp, sizeof(tmp), "%.16e", v);
  return e_digits(tmp, digits, exp10);
}

size_t js_number(double v, char *out) {
  if (isnan(v)) return (size_t)sprintf(out, "NaN");
  if (v == 0) return (size_t)sprintf(out, "0");
  if (isinf(v)) return (size_t)sprintf(out, v < 0 ? "-Infinity" : "Infinity");
  char *o = out;
  if (v < 0) {
    *o++ = '-';
    v = -v;
  }
  /* Integers below 2^53 print as themselves: the usual case, without the search. */
  if (v < 9007199254740992.0 && v == floor(v)) return (size_t)(o - out) + (size_t)sprintf(o, "%.0f", v);
  char digits[24];
  int e10;
  int k = shortest_digits(v, digits, &e10);
  int n = e10 + 1; /* ECMAScript's n: the decimal point position */
  if (k <= n && n <= 21) {
    memcpy(o, digits, k);
    o += k;
    for (int i = 0; i < n - k; i++) *o++ = '0';
  } else if (0 < n && n <= 21) {
    memcpy(o, digits, n);
    o += n;
    *o++ = '.';
    memcpy(o, digits + n, k - n);
    o += k - n;
  } else if (-6 < n && n <= 0) {
    *o++ = '0';
    *o++ = '.';
    for (int i = 0; i < -n; i++) *o++ = '0';
    memcpy(o, digits, k);
    o += k;
  } else {
    *o++ = digits[0];
    if (k > 1) {
      *o++ = '.';
      memcpy(o, digits + 1, k - 1);
      o += k - 1;
    }
    o += sprintf(o, "e%c%d", n - 1 >= 0 ? '+' : '-', abs(n - 1));
  }
  *o = 0;
  return (size_t)(o - out);
}

uint64_t hash_bytes(const void *p, size_t n) {
  /* Eight bytes a step, then a final mix: short keys (names, values), bounded tables. */
  const uint8_t *s = p;
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xff51afd7ed558ccdull);
  for (; n >= 8; s += 8, n -= 8) {
    uint64_t w;
    memcpy(&w, s, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
  }
  uint64_t w = 0;
  for (size_t i = 0; i < n; i++) w |= (uint64_t)s[i] << (8 * i);
  h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 29;
  return h;
}
