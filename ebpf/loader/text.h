/* Byte buffers and text helpers shared by the loader's engine: growable buffers, UTF-8 as Node
 * decodes it, JavaScript's whitespace and number formatting (the redaction and the exported
 * strings must be exactly what the TypeScript reference produces, core/redaction/redact.ts). */
#ifndef PEREGRINE_TEXT_H
#define PEREGRINE_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct {
  uint8_t *p;
  size_t len, cap;
} buf_t;

void buf_grow(buf_t *b, size_t extra);
void buf_free(buf_t *b);

static inline void buf_add(buf_t *b, const void *data, size_t n) {
  if (b->cap - b->len < n) buf_grow(b, n);
  if (n) memcpy(b->p + b->len, data, n);
  b->len += n;
}
static inline void buf_addc(buf_t *b, uint8_t c) {
  if (b->cap == b->len) buf_grow(b, 1);
  b->p[b->len++] = c;
}
static inline void buf_adds(buf_t *b, const char *s) { buf_add(b, s, strlen(s)); }
static inline void buf_add_buf(buf_t *b, const buf_t *from) { buf_add(b, from->p, from->len); }

/* A byte range (no ownership). */
typedef struct {
  const uint8_t *p;
  size_t n;
} span_t;

static inline span_t span_of(const void *p, size_t n) { return (span_t){(const uint8_t *)p, n}; }
static inline span_t span_cstr(const char *s) { return (span_t){(const uint8_t *)s, strlen(s)}; }
static inline bool span_eq(span_t a, span_t b) { return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0); }
static inline bool span_eq_cstr(span_t a, const char *s) { return span_eq(a, span_cstr(s)); }

static inline uint8_t ascii_lower(uint8_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }
/* ASCII case-insensitive comparison with a lower-case string of known length. */
static inline bool ascii_ieq_n(span_t a, const char *lower, size_t n) {
  if (a.n != n) return false;
  for (size_t i = 0; i < n; i++)
    if (ascii_lower(a.p[i]) != (uint8_t)lower[i]) return false;
  return true;
}
/* The same with a string literal (`"" lit` refuses anything else). */
#define ascii_ieq(a, lit) ascii_ieq_n((a), "" lit, sizeof("" lit) - 1)
static inline bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
static inline bool is_alpha(uint8_t c) { return (c | 32) >= 'a' && (c | 32) <= 'z'; }
static inline bool is_alnum(uint8_t c) { return is_digit(c) || is_alpha(c); }
/* JavaScript's \w without the u flag. */
static inline bool is_word(uint8_t c) { return is_alnum(c) || c == '_'; }

/* Decodes bytes as UTF-8 exactly as Node's Buffer#toString('utf8') does (each maximal ill-formed
 * subsequence becomes one U+FFFD) and appends valid UTF-8. */
void utf8_from_bytes(buf_t *out, const uint8_t *s, size_t n);
bool is_ascii(const uint8_t *s, size_t n);
/* Appends latin1 bytes (what llhttp's strings are in Node) as UTF-8. */
void utf8_from_latin1(buf_t *out, const uint8_t *s, size_t n);

/* The code point at s[*i] of UTF-8 (or WTF-8: lone surrogates as 3-byte sequences); advances *i.
 * Malformed input yields one byte as U+FFFD (never happens on what this module produces). */
uint32_t utf8_next(const uint8_t *s, size_t n, size_t *i);
/* UTF-16 code units of one code point. */
static inline unsigned utf16_units(uint32_t cp) { return cp >= 0x10000 ? 2 : 1; }
/* Appends a code point (surrogates allowed: WTF-8). */
void utf8_put(buf_t *out, uint32_t cp);

/* JavaScript's \s (WhiteSpace and LineTerminator). */
bool js_space_cp(uint32_t cp);
/* Whether a \s character starts at s[i]; its byte length in *len. */
bool js_space_at(const uint8_t *s, size_t n, size_t i, size_t *len);
/* String.prototype.trim / trimStart on UTF-8. */
span_t js_trim(span_t s);
span_t js_trim_start(span_t s);

/* Number.prototype.toString() of a double; returns the length written to out (>= 32 bytes). */
size_t js_number(double v, char *out);

uint64_t hash_bytes(const void *p, size_t n);

#endif
