#include "emit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

#include "json.h"

#define SELF_HEADER "x-peregrine-sensor"

/* ---- encoded attributes seen before: most repeat span after span (the same headers, the same
 * connection's addresses). Direct-mapped; a key is the bytes the encoding depends on. ---- */
#define MEMO_SLOTS 4096
#define MEMO_MAX_KEY 256

struct memo_slot {
  uint64_t hash;
  uint32_t key_len, value_len;
  buf_t mem; /* key, then the encoded bytes */
};

struct red_header {
  uint32_t name, name_len, value, value_len;
};

/* A message after redaction: header names and values and the body excerpt, UTF-8. */
struct red_message {
  buf_t text;
  struct red_header *headers;
  uint32_t n, cap;
  buf_t body;
  double body_size;
};

struct emitter {
  struct emit_options opts;
  redactor_t *r;
  struct red_message req, resp;
  buf_t target, status_text, value, body_text, redacted, span, route, scratch;
  struct span_group *groups;
  size_t ngroups, cap_groups;
  struct memo_slot *memo;
  uint32_t nspans;
  buf_t rows;
  uint32_t nrows;
  uint8_t random[64 * 1024];
  size_t random_off;
};

struct emitter *emitter_new(const struct emit_options *opts, redactor_t *redactor) {
  struct emitter *e = calloc(1, sizeof(*e));
  if (!e) abort();
  e->opts = *opts;
  e->r = redactor;
  e->random_off = sizeof(e->random);
  return e;
}

static void red_free(struct red_message *m) {
  buf_free(&m->text);
  buf_free(&m->body);
  free(m->headers);
}

void emitter_free(struct emitter *e) {
  if (!e) return;
  red_free(&e->req);
  red_free(&e->resp);
  buf_t *bufs[] = {&e->target, &e->status_text, &e->value, &e->body_text, &e->redacted, &e->span, &e->route, &e->scratch, &e->rows};
  for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++) buf_free(bufs[i]);
  for (size_t i = 0; i < e->cap_groups; i++) buf_free(&e->groups[i].bytes);
  free(e->groups);
  if (e->memo)
    for (size_t i = 0; i < MEMO_SLOTS; i++) buf_free(&e->memo[i].mem);
  free(e->memo);
  free(e);
}

void emitter_set_realtime_offset(struct emitter *e, uint64_t offset_ns) { e->opts.realtime_offset_ns = offset_ns; }
uint32_t emitter_span_count(const struct emitter *e) { return e->nspans; }
uint32_t emitter_row_count(const struct emitter *e) { return e->nrows; }
size_t emitter_batch_bytes(const struct emitter *e) {
  size_t n = e->rows.len;
  for (size_t i = 0; i < e->ngroups; i++) n += e->groups[i].bytes.len;
  return n;
}
const buf_t *emitter_rows(const struct emitter *e) { return &e->rows; }
size_t emitter_groups(const struct emitter *e, const struct span_group **groups) {
  *groups = e->groups;
  return e->ngroups;
}

void emitter_clear(struct emitter *e) {
  for (size_t i = 0; i < e->ngroups; i++) {
    e->groups[i].bytes.len = 0;
    e->groups[i].count = 0;
  }
  e->ngroups = 0;
  e->nspans = 0;
  e->rows.len = 0;
  e->nrows = 0;
}

/* Span ids need randomness, not a syscall each: drawn 64 KiB at a time. */
static const uint8_t *random_bytes(struct emitter *e, size_t n) {
  if (e->random_off + n > sizeof(e->random)) {
    size_t got = 0;
    while (got < sizeof(e->random)) {
      ssize_t k = getrandom(e->random + got, sizeof(e->random) - got, 0);
      if (k <= 0) break;
      got += (size_t)k;
    }
    e->random_off = 0;
  }
  const uint8_t *p = e->random + e->random_off;
  e->random_off += n;
  return p;
}

/* ---- routeTemplate (ingest/normalize/route.ts), counting UTF-16 units as JavaScript does ---- */

static bool is_identifier(span_t s) {
  size_t n = 0, digits = 0, hex = 0, letters = 0, token = 0, dashes = 0;
  for (size_t i = 0; i < s.n;) {
    uint8_t c = s.p[i];
    if (c >= 0x80) {
      n += utf16_units(utf8_next(s.p, s.n, &i));
      continue;
    }
    i++;
    n++;
    if (is_digit(c)) {
      digits++;
      hex++;
      token++;
    } else if ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) {
      hex++;
      letters++;
      token++;
    } else if (is_alpha(c)) {
      letters++;
      token++;
    } else if (c == '-') {
      dashes++;
      token++;
    } else if (c == '_' || c == '.' || c == '~' || c == '=' || c == '+' || c == '%') {
      token++;
    }
  }
  if (digits == n) return true;
  if (n == 36 && dashes == 4 && hex == 32 && s.p[8] == '-' && s.p[13] == '-' && s.p[18] == '-' && s.p[23] == '-') return true;
  if (hex == n && n >= 8 && digits > 0) return true;
  if (token == n && n >= 16 && digits > 0 && letters > 0) return true;
  if (digits >= 4 && digits * 2 >= n) return true;
  return false;
}

void route_template(span_t path, buf_t *out) {
  size_t end = path.n;
  for (size_t i = 0; i < path.n; i++)
    if (path.p[i] == '?' || path.p[i] == '#') {
      end = i;
      break;
    }
  if (end == 0) {
    buf_addc(out, '/');
    return;
  }
  size_t seg = 0;
  for (size_t i = 0; i <= end; i++) {
    if (i < end && path.p[i] != '/') continue;
    if (i > seg && is_identifier(span_of(path.p + seg, i - seg))) buf_adds(out, "{id}");
    else buf_add(out, path.p + seg, i - seg);
    if (i < end) buf_addc(out, '/');
    seg = i + 1;
  }
}

/* ---- redaction of an exchange (records.ts redactExchange) ---- */

static void red_add_header(struct red_message *m, span_t name, size_t value_off, size_t value_len) {
  if (m->n == m->cap) {
    m->cap = m->cap ? m->cap * 2 : 16;
    m->headers = realloc(m->headers, m->cap * sizeof(*m->headers));
    if (!m->headers) abort();
  }
  struct red_header *h = &m->headers[m->n++];
  h->name = (uint32_t)m->text.len;
  buf_add(&m->text, name.p, name.n);
  h->name_len = (uint32_t)name.n;
  h->value = (uint32_t)value_off;
  h->value_len = (uint32_t)value_len;
}

static inline span_t red_name(const struct red_message *m, uint32_t i) {
  return span_of(m->text.p + m->headers[i].name, m->headers[i].name_len);
}
static inline span_t red_value(const struct red_message *m, uint32_t i) {
  return span_of(m->text.p + m->headers[i].value, m->headers[i].value_len);
}

/* bodyText: binary and compressed bodies are described, not dumped. */
static void body_text(struct emitter *e, const struct http_message *m, buf_t *out) {
  out->len = 0;
  if (m->body.len == 0) return;
  span_t encoding;
  if (message_header(m, "content-encoding", &encoding) && encoding.n) {
    e->value.len = 0;
    utf8_from_latin1(&e->value, encoding.p, encoding.n);
    span_t trimmed = js_trim(span_of(e->value.p, e->value.len));
    static const char *const encoded[] = {"gzip", "br", "deflate", "compress", "zstd", "x-gzip"};
    for (size_t k = 0; k < sizeof(encoded) / sizeof(encoded[0]); k++) {
      if (!ascii_ieq_n(trimmed, encoded[k], strlen(encoded[k]))) continue;
      char size[40];
      js_number(m->body_size, size);
      buf_addc(out, '[');
      buf_add(out, trimmed.p, trimmed.n);
      buf_adds(out, "-encoded body, ");
      buf_adds(out, size);
      buf_adds(out, " bytes]");
      return;
    }
  }
  size_t n = m->body.len < 512 ? m->body.len : 512, control = 0;
  for (size_t i = 0; i < n; i++) {
    uint8_t b = m->body.p[i];
    if (b == 0 || (b < 32 && b != 9 && b != 10 && b != 13)) control++;
  }
  if ((double)control > (double)n / 10) {
    char size[40];
    js_number(m->body_size, size);
    buf_adds(out, "[binary body, ");
    buf_adds(out, size);
    buf_adds(out, " bytes]");
    return;
  }
  utf8_from_bytes(out, m->body.p, m->body.len);
}

/* cutUtf8: at most max bytes on a character boundary; a trailing U+FFFD goes (the reference
 * decodes the cut bytes and drops one replacement character at the end). */
static size_t cut_utf8(const buf_t *text, size_t max) {
  if (text->len <= max) return text->len;
  size_t k = max;
  while (k > 0 && (text->p[k] & 0xC0) == 0x80) k--;
  uint8_t lead = text->p[k];
  size_t len = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
  if (k < max && k + len > max) return k; /* a character cut in two: its replacement goes */
  size_t end = max;
  if (end >= 3 && text->p[end - 3] == 0xEF && text->p[end - 2] == 0xBF && text->p[end - 1] == 0xBD) end -= 3;
  return end;
}

static void redact_message(struct emitter *e, const struct http_message *m, struct red_message *out) {
  out->text.len = 0;
  out->n = 0;
  out->body.len = 0;
  out->body_size = m->body_size;
  for (uint32_t i = 0; i < m->nheaders; i++) {
    span_t raw_name = message_str(m, m->headers[i].name, m->headers[i].name_len);
    span_t raw_value = message_str(m, m->headers[i].value, m->headers[i].value_len);
    /* latin1 is UTF-8 where it is ASCII (nearly always): converted only otherwise */
    span_t value = raw_value, name = raw_name;
    if (!is_ascii(raw_value.p, raw_value.n)) {
      e->value.len = 0;
      utf8_from_latin1(&e->value, raw_value.p, raw_value.n);
      value = span_of(e->value.p, e->value.len);
    }
    if (!is_ascii(raw_name.p, raw_name.n)) {
      e->scratch.len = 0;
      utf8_from_latin1(&e->scratch, raw_name.p, raw_name.n);
      name = span_of(e->scratch.p, e->scratch.len);
    }
    size_t at = out->text.len;
    switch (redact_header_verdict(e->r, raw_name)) {
    case HV_MASK: buf_adds(&out->text, "[REDACTED:header]"); break;
    case HV_URL: redact_url(e->r, value, &out->text); break;
    default: redact_scrub(e->r, value, false, &out->text);
    }
    red_add_header(out, name, at, out->text.len - at);
  }
  body_text(e, m, &e->body_text);
  bool truncated = m->body_truncated || (double)m->body.len < m->body_size;
  span_t ct_raw;
  bool has_ct = message_header(m, "content-type", &ct_raw);
  e->value.len = 0;
  if (has_ct) utf8_from_latin1(&e->value, ct_raw.p, ct_raw.n);
  span_t ct = span_of(e->value.p, e->value.len);
  e->redacted.len = 0;
  redact_body(e->r, span_of(e->body_text.p, e->body_text.len), has_ct ? &ct : NULL, truncated, &e->redacted);
  buf_add(&out->body, e->redacted.p, cut_utf8(&e->redacted, e->opts.body_bytes));
}

/* ---- protobuf ---- */

static inline size_t vsize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

/* Writes go straight into reserved room: these encoders run for every attribute of every span. */
static inline uint8_t *room(buf_t *b, size_t n) {
  if (b->cap - b->len < n) buf_grow(b, n);
  return b->p + b->len;
}
static inline void commit(buf_t *b, uint8_t *end) { b->len = (size_t)(end - b->p); }
static inline uint8_t *w_varint(uint8_t *p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  *p++ = (uint8_t)v;
  return p;
}
static inline uint8_t *w_bytes(uint8_t *p, const void *s, size_t n) {
  memcpy(p, s, n);
  return p + n;
}
static inline uint8_t *w_len_field(uint8_t *p, unsigned field, const void *s, size_t n) {
  *p++ = (uint8_t)(field << 3 | 2);
  p = w_varint(p, n);
  return w_bytes(p, s, n);
}
static inline void put_len_field(buf_t *b, unsigned field, const void *s, size_t n) {
  commit(b, w_len_field(room(b, n + 11), field, s, n));
}
static inline void put_fixed64_field(buf_t *b, unsigned field, uint64_t v) {
  uint8_t *p = room(b, 9);
  *p++ = (uint8_t)(field << 3 | 1);
  for (int i = 0; i < 8; i++) *p++ = (uint8_t)(v >> (8 * i));
  commit(b, p);
}

/* KeyValue{key, AnyValue{string_value}} in Span.attributes (9); `key2` is appended to `key`. */
static void kv_string(buf_t *b, span_t key, span_t key2, span_t value) {
  size_t klen = key.n + key2.n;
  size_t any = 1 + vsize(value.n) + value.n;
  size_t kv = 1 + vsize(klen) + klen + 1 + vsize(any) + any;
  uint8_t *p = room(b, kv + 11);
  *p++ = 9 << 3 | 2;
  p = w_varint(p, kv);
  *p++ = 1 << 3 | 2;
  p = w_varint(p, klen);
  p = w_bytes(p, key.p, key.n);
  p = w_bytes(p, key2.p, key2.n);
  *p++ = 2 << 3 | 2;
  p = w_varint(p, any);
  p = w_len_field(p, 1, value.p, value.n);
  commit(b, p);
}
#define kv_cstr(b, key, value) kv_string((b), span_of((key), sizeof(key) - 1), span_of("", 0), (value))

/* A number as the reference's writer types it: non-negative safe integers and other int64s as
 * int_value, anything else as double_value. */
#define kv_number(b, key, v) kv_number_n((b), (key), sizeof(key) - 1, (v))
static void kv_number_n(buf_t *b, const char *key, size_t klen, double v) {
  bool integer = v == floor(v) && v >= -9223372036854775808.0 && v < 9223372036854775808.0;
  uint64_t u = integer ? (uint64_t)(int64_t)v : 0;
  size_t any = integer ? 1 + vsize(u) : 9;
  size_t kv = 1 + vsize(klen) + klen + 1 + vsize(any) + any;
  uint8_t *p = room(b, kv + 11);
  *p++ = 9 << 3 | 2;
  p = w_varint(p, kv);
  p = w_len_field(p, 1, key, klen);
  *p++ = 2 << 3 | 2;
  p = w_varint(p, any);
  if (integer) {
    *p++ = 3 << 3 | 0;
    p = w_varint(p, u);
  } else {
    *p++ = 4 << 3 | 1;
    uint64_t bits;
    memcpy(&bits, &v, 8);
    for (int i = 0; i < 8; i++) *p++ = (uint8_t)(bits >> (8 * i));
  }
  commit(b, p);
}

static struct memo_slot *memo_lookup(struct emitter *e, span_t key, uint64_t *hash, span_t *value) {
  if (key.n > MEMO_MAX_KEY) return NULL;
  if (!e->memo) e->memo = calloc(MEMO_SLOTS, sizeof(struct memo_slot));
  uint64_t h = hash_bytes(key.p, key.n);
  *hash = h;
  struct memo_slot *slot = &e->memo[h & (MEMO_SLOTS - 1)];
  if (slot->hash == h && slot->key_len == key.n && slot->mem.len && memcmp(slot->mem.p, key.p, key.n) == 0) {
    *value = span_of(slot->mem.p + key.n, slot->value_len);
    return NULL;
  }
  value->p = NULL;
  return slot;
}

static void memo_store(struct memo_slot *slot, uint64_t hash, span_t key, const uint8_t *bytes, size_t n) {
  if (!slot || n > 4 * MEMO_MAX_KEY) return;
  slot->mem.len = 0;
  buf_add(&slot->mem, key.p, key.n);
  buf_add(&slot->mem, bytes, n);
  slot->hash = hash;
  slot->key_len = (uint32_t)key.n;
  slot->value_len = (uint32_t)n;
}

/* Appends the memoized encoding of `key`, or makes it with `make` and remembers it. */
#define MEMOIZED(e, b, key, make)                                         \
  do {                                                                   \
    uint64_t memo_hash_ = 0;                                             \
    span_t memo_value_;                                                  \
    struct memo_slot *memo_slot_ = memo_lookup((e), (key), &memo_hash_, &memo_value_); \
    if (memo_value_.p) {                                                 \
      buf_add((b), memo_value_.p, memo_value_.n);                        \
    } else {                                                             \
      size_t memo_start_ = (b)->len;                                     \
      make;                                                              \
      memo_store(memo_slot_, memo_hash_, (key), (b)->p + memo_start_, (b)->len - memo_start_); \
    }                                                                    \
  } while (0)

/* Whether a header name is `lower` (lower case) but for case. */
static bool named(span_t name, span_t lower) {
  if (name.n != lower.n) return false;
  for (size_t k = 0; k < lower.n; k++)
    if (ascii_lower(name.p[k]) != lower.p[k]) return false;
  return true;
}

static void kv_header_array(buf_t *b, const struct red_message *m, uint32_t first, const char *prefix, span_t lower, span_t *last) {
  size_t plen = strlen(prefix), array = 0;
  for (uint32_t j = first; j < m->n; j++) {
    if (!named(red_name(m, j), lower)) continue;
    span_t v = red_value(m, j);
    size_t entry = 1 + vsize(v.n) + v.n;
    array += 1 + vsize(entry) + entry;
    *last = v;
  }
  size_t any = 1 + vsize(array) + array;
  size_t klen = plen + lower.n;
  size_t kv = 1 + vsize(klen) + klen + 1 + vsize(any) + any;
  uint8_t *p = room(b, kv + 11);
  *p++ = 9 << 3 | 2;
  p = w_varint(p, kv);
  *p++ = 1 << 3 | 2;
  p = w_varint(p, klen);
  p = w_bytes(p, prefix, plen);
  p = w_bytes(p, lower.p, lower.n);
  *p++ = 2 << 3 | 2;
  p = w_varint(p, any);
  *p++ = 5 << 3 | 2;
  p = w_varint(p, array);
  for (uint32_t j = first; j < m->n; j++) {
    if (!named(red_name(m, j), lower)) continue;
    span_t v = red_value(m, j);
    *p++ = 1 << 3 | 2;
    p = w_varint(p, 1 + vsize(v.n) + v.n);
    p = w_len_field(p, 1, v.p, v.n);
  }
  commit(b, p);
}

/* Header values as `http.<kind>.header.<name>` string arrays, repeated names merged in the order of
 * their first appearance; the last values of Host and User-Agent for the caller. */
static bool same_name(span_t a, span_t b) {
  if (a.n != b.n) return false;
  for (size_t k = 0; k < a.n; k++)
    if (ascii_lower(a.p[k]) != ascii_lower(b.p[k])) return false;
  return true;
}

static void kv_headers(struct emitter *e, buf_t *b, const struct red_message *m, bool request, span_t *host, span_t *ua) {
  const char *prefix = request ? "http.request.header." : "http.response.header.";
  uint64_t local_hashes[64];
  uint64_t *hashes = m->n <= 64 ? local_hashes : malloc(m->n * sizeof(uint64_t));
  for (uint32_t i = 0; i < m->n; i++) {
    /* case-folded for letters (| 0x20); a collision of other bytes is settled by same_name */
    span_t name = red_name(m, i);
    uint64_t h = name.n;
    for (size_t k = 0; k < name.n; k++) h = h * 31 + (name.p[k] | 0x20);
    hashes[i] = h;
  }
  uint8_t key_bytes[MEMO_MAX_KEY], lower_bytes[128];
  for (uint32_t i = 0; i < m->n; i++) {
    span_t name = red_name(m, i);
    bool seen = false, repeated = false;
    for (uint32_t j = 0; j < m->n && !seen; j++) {
      if (j == i || hashes[j] != hashes[i] || !same_name(red_name(m, j), name)) continue;
      if (j < i) seen = true;
      else repeated = true;
    }
    if (seen) continue;
    span_t last = red_value(m, i);
    bool is_host = request && ascii_ieq(name, "host"), is_ua = request && ascii_ieq(name, "user-agent");
    if (!repeated && 2 + name.n + last.n <= sizeof(key_bytes)) {
      /* the encoded attribute, by the name as written and the value */
      key_bytes[0] = request ? 'q' : 's';
      memcpy(key_bytes + 1, name.p, name.n);
      key_bytes[1 + name.n] = 0;
      memcpy(key_bytes + 2 + name.n, last.p, last.n);
      span_t key = span_of(key_bytes, 2 + name.n + last.n);
      uint64_t hash = 0;
      span_t known;
      struct memo_slot *slot = memo_lookup(e, key, &hash, &known);
      if (known.p) {
        buf_add(b, known.p, known.n);
      } else {
        size_t start = b->len;
        for (size_t k = 0; k < name.n; k++) key_bytes[1 + k] = ascii_lower(name.p[k]);
        kv_header_array(b, m, i, prefix, span_of(key_bytes + 1, name.n), &last);
        memcpy(key_bytes + 1, name.p, name.n);
        memo_store(slot, hash, key, b->p + start, b->len - start);
      }
    } else {
      buf_t heap = {0};
      uint8_t *lower = name.n <= sizeof(lower_bytes) ? lower_bytes : (buf_grow(&heap, name.n), heap.p);
      for (size_t k = 0; k < name.n; k++) lower[k] = ascii_lower(name.p[k]);
      kv_header_array(b, m, i, prefix, span_of(lower, name.n), &last);
      buf_free(&heap);
    }
    if (is_host) *host = last;
    if (is_ua) *ua = last;
  }
  if (hashes != local_hashes) free(hashes);
}

/* `host` without a trailing `:port`. */
static span_t without_port(span_t host) {
  size_t i = host.n;
  while (i > 0 && is_digit(host.p[i - 1])) i--;
  if (i > 0 && i < host.n && host.p[i - 1] == ':') return span_of(host.p, i - 1);
  return host;
}

static int hex_nibble(uint8_t c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* A W3C traceparent on the request joins the span to the caller's trace. */
static bool traceparent(struct emitter *e, const struct http_message *req, uint8_t trace[16], uint8_t parent[8]) {
  span_t raw;
  if (!message_header(req, "traceparent", &raw)) return false;
  e->value.len = 0;
  utf8_from_latin1(&e->value, raw.p, raw.n);
  span_t v = js_trim(span_of(e->value.p, e->value.len));
  if (v.n != 55 || v.p[0] != '0' || v.p[1] != '0' || v.p[2] != '-' || v.p[35] != '-' || v.p[52] != '-') return false;
  uint8_t hex[55];
  for (size_t i = 0; i < 55; i++) hex[i] = ascii_lower(v.p[i]);
  bool trace_zero = true, parent_zero = true;
  for (size_t i = 0; i < 16; i++) {
    int hi = hex_nibble(hex[3 + 2 * i]), lo = hex_nibble(hex[4 + 2 * i]);
    if (hi < 0 || lo < 0) return false;
    trace[i] = (uint8_t)(hi << 4 | lo);
    if (trace[i]) trace_zero = false;
  }
  for (size_t i = 0; i < 8; i++) {
    int hi = hex_nibble(hex[36 + 2 * i]), lo = hex_nibble(hex[37 + 2 * i]);
    if (hi < 0 || lo < 0) return false;
    parent[i] = (uint8_t)(hi << 4 | lo);
    if (parent[i]) parent_zero = false;
  }
  if (hex_nibble(hex[53]) < 0 || hex_nibble(hex[54]) < 0) return false;
  return !trace_zero && !parent_zero;
}

static const struct endpoint *end_of(const struct conn_meta *c, bool local) {
  if (local) return c->has_local ? &c->local : NULL;
  return c->has_remote ? &c->remote : NULL;
}

#define add_address(b, key, ep) \
  do {                            \
    if (ep) kv_cstr((b), key, span_cstr((ep)->address)); \
  } while (0)
#define add_port(b, key, ep) \
  do {                       \
    if (ep) kv_number((b), key, (ep)->port); \
  } while (0)

static struct span_group *group_of(struct emitter *e, const struct conn_meta *conn) {
  for (size_t i = 0; i < e->ngroups; i++)
    if (e->groups[i].pid == conn->tgid) return &e->groups[i];
  if (e->ngroups == e->cap_groups) {
    size_t cap = e->cap_groups ? e->cap_groups * 2 : 8;
    e->groups = realloc(e->groups, cap * sizeof(*e->groups));
    if (!e->groups) abort();
    memset(e->groups + e->cap_groups, 0, (cap - e->cap_groups) * sizeof(*e->groups));
    e->cap_groups = cap;
  }
  struct span_group *g = &e->groups[e->ngroups++];
  g->pid = conn->tgid;
  g->count = 0;
  g->bytes.len = 0;
  g->comm_len = conn->comm_len;
  memcpy(g->comm, conn->comm, conn->comm_len);
  return g;
}

/* server.address … network.local.port: what the connection's ends (and the Host header) say. */
static void kv_connection(buf_t *b, const struct conn_meta *conn, bool server, span_t server_address) {
  const struct endpoint *server_end = end_of(conn, server), *client_end = end_of(conn, !server);
  if (server_address.n) kv_cstr(b, "server.address", server_address);
  add_port(b, "server.port", server_end);
  add_address(b, "client.address", client_end);
  add_port(b, "client.port", client_end);
  add_address(b, "network.peer.address", end_of(conn, false));
  add_port(b, "network.peer.port", end_of(conn, false));
  add_address(b, "network.local.address", end_of(conn, true));
  add_port(b, "network.local.port", end_of(conn, true));
}

static void encode_span(struct emitter *e, const struct exchange *ex, span_t method, span_t target, int status, const char *version) {
  const struct conn_meta *conn = ex->conn;
  struct span_group *g = group_of(e, conn);
  buf_t *b = &g->bytes;
  /* ScopeSpans.spans (field 2): the span is written in place after a 2-byte length, fixed after */
  size_t at = b->len;
  uint8_t *p = room(b, 3);
  *p++ = 2 << 3 | 2;
  commit(b, p + 2);
  size_t start = b->len;

  uint8_t trace[16], parent[8];
  if (traceparent(e, ex->request, trace, parent)) {
    put_len_field(b, 1, trace, 16);
    put_len_field(b, 2, random_bytes(e, 8), 8);
    put_len_field(b, 4, parent, 8);
  } else {
    put_len_field(b, 1, random_bytes(e, 16), 16);
    put_len_field(b, 2, random_bytes(e, 8), 8);
  }
  const uint8_t *q = memchr(target.p, '?', target.n);
  span_t path = q ? span_of(target.p, q - target.p) : target;
  e->route.len = 0;
  buf_add(&e->route, method.p, method.n);
  buf_addc(&e->route, ' ');
  route_template(path, &e->route);
  put_len_field(b, 5, e->route.p, e->route.len);
  bool server = conn->role == ROLE_SERVER_;
  p = room(b, 2);
  *p++ = 6 << 3 | 0;
  *p++ = server ? 2 : conn->role == ROLE_CLIENT_ ? 3 : 1;
  commit(b, p);
  put_fixed64_field(b, 7, e->opts.realtime_offset_ns + ex->request->start_ns);
  put_fixed64_field(b, 8, e->opts.realtime_offset_ns + ex->response->end_ns);

  MEMOIZED(e, b, method, kv_cstr(b, "http.request.method", method));
  if (path.n) kv_cstr(b, "url.path", path);
  if (q && q + 1 < target.p + target.n) kv_cstr(b, "url.query", span_of(q + 1, target.p + target.n - q - 1));
  /* scheme, status, protocol, transport: a handful of combinations */
  uint8_t fixed[16] = {1, conn->tls, (uint8_t)(status >> 8), (uint8_t)status};
  size_t flen = 4 + strlen(version);
  memcpy(fixed + 4, version, flen - 4);
  MEMOIZED(e, b, span_of(fixed, flen), {
    kv_cstr(b, "url.scheme", span_cstr(conn->tls ? "https" : "http"));
    kv_number(b, "http.response.status_code", status);
    kv_cstr(b, "network.protocol.name", span_cstr("http"));
    kv_cstr(b, "network.protocol.version", span_cstr(version));
    kv_cstr(b, "network.transport", span_cstr("tcp"));
  });
  span_t host = {0}, ua = {0};
  kv_headers(e, b, &e->req, true, &host, &ua);
  kv_headers(e, b, &e->resp, false, &host, &ua);
  const struct endpoint *server_end = end_of(conn, server);
  span_t server_address = host.p && host.n ? without_port(host) : server_end ? span_cstr(server_end->address) : span_of("", 0);
  /* the connection's part, keyed by what it is made of */
  uint8_t key_bytes[MEMO_MAX_KEY];
  size_t kn = 0;
  key_bytes[kn++] = 2;
  key_bytes[kn++] = (uint8_t)(server | conn->has_local << 1 | conn->has_remote << 2);
  const struct endpoint *ends[2] = {conn->has_local ? &conn->local : NULL, conn->has_remote ? &conn->remote : NULL};
  for (int k = 0; k < 2; k++) {
    if (!ends[k]) continue;
    size_t alen = strlen(ends[k]->address);
    memcpy(key_bytes + kn, ends[k]->address, alen + 1);
    kn += alen + 1;
    memcpy(key_bytes + kn, &ends[k]->port, 2);
    kn += 2;
  }
  if (kn + server_address.n <= sizeof(key_bytes)) {
    memcpy(key_bytes + kn, server_address.p, server_address.n);
    MEMOIZED(e, b, span_of(key_bytes, kn + server_address.n), kv_connection(b, conn, server, server_address));
  } else {
    kv_connection(b, conn, server, server_address);
  }
  if (ua.p && ua.n) MEMOIZED(e, b, ua, kv_cstr(b, "user_agent.original", ua));
  kv_number(b, "http.request.body.size", e->req.body_size);
  kv_number(b, "http.response.body.size", e->resp.body_size);
  if (e->req.body.len) kv_cstr(b, "http.request.body", span_of(e->req.body.p, e->req.body.len));
  if (e->resp.body.len) kv_cstr(b, "http.response.body", span_of(e->resp.body.p, e->resp.body.len));
  kv_number(b, "thread.id", ex->tid);
  kv_cstr(b, "peregrine.capture", span_cstr(conn->tls ? "ebpf-tls-uprobe" : "ebpf-syscall"));
  /* Semantic conventions: 5xx is an error on both sides, 4xx only for the client. */
  bool error = status >= 500 || (!server && status >= 400) || status == 0;
  char message[24];
  int mlen = error ? snprintf(message, sizeof(message), "HTTP %d", status) : 0;
  size_t status_len = (mlen ? 1 + vsize(mlen) + mlen : 0) + (error ? 2 : 0);
  p = room(b, 16 + status_len);
  *p++ = 15 << 3 | 2;
  p = w_varint(p, status_len);
  if (mlen) p = w_len_field(p, 2, message, mlen);
  if (error) {
    *p++ = 3 << 3 | 0;
    *p++ = 2;
  }
  commit(b, p);

  /* the span's length, in the two bytes kept for it (moved in the rare other cases) */
  size_t len = b->len - start, need = vsize(len);
  if (need != 2) {
    room(b, need);
    memmove(b->p + start + need - 2, b->p + start, len);
    b->len += need - 2;
  }
  w_varint(b->p + at + 1, len);
  g->count++;
  e->nspans++;
}

/* ---- Pixie rows ---- */

static bool array_index_name(span_t k, uint64_t *v) {
  if (k.n == 0 || k.n > 10 || (k.n > 1 && k.p[0] == '0')) return false;
  uint64_t x = 0;
  for (size_t i = 0; i < k.n; i++) {
    if (!is_digit(k.p[i])) return false;
    x = x * 10 + (k.p[i] - '0');
  }
  if (x > 4294967294ull) return false;
  *v = x;
  return true;
}

static void header_json_member(buf_t *out, const struct red_message *m, uint32_t first, buf_t *tmp, bool comma) {
  span_t name = red_name(m, first);
  if (comma) buf_addc(out, ',');
  json_quote(out, name);
  buf_addc(out, ':');
  tmp->len = 0;
  for (uint32_t j = first; j < m->n; j++) {
    if (!span_eq(red_name(m, j), name)) continue;
    if (j > first) buf_adds(tmp, ", ");
    span_t v = red_value(m, j);
    buf_add(tmp, v.p, v.n);
  }
  json_quote(out, span_of(tmp->p, tmp->len));
}

/* JSON.stringify of an object { name: value } with repeated names joined by ", ": array-index
 * names first in numeric order, then the others in order of first appearance. */
static void headers_json(buf_t *out, const struct red_message *m, buf_t *tmp) {
  uint32_t local[64];
  uint64_t values[64];
  uint32_t *firsts = m->n <= 64 ? local : malloc(m->n * sizeof(uint32_t));
  uint64_t *index = m->n <= 64 ? values : malloc(m->n * sizeof(uint64_t));
  uint32_t nfirst = 0, nindex = 0;
  for (uint32_t i = 0; i < m->n; i++) {
    span_t name = red_name(m, i);
    bool earlier = false;
    for (uint32_t j = 0; j < nfirst && !earlier; j++) earlier = span_eq(red_name(m, firsts[j]), name);
    if (!earlier) firsts[nfirst++] = i;
  }
  /* array-index names: (value, position) sorted by value */
  for (uint32_t k = 0; k < nfirst; k++) {
    uint64_t v;
    if (!array_index_name(red_name(m, firsts[k]), &v)) continue;
    uint32_t at = nindex++;
    while (at > 0 && (index[at - 1] >> 32) > v) {
      index[at] = index[at - 1];
      at--;
    }
    index[at] = v << 32 | firsts[k];
  }
  buf_addc(out, '{');
  bool comma = false;
  for (uint32_t k = 0; k < nindex; k++) {
    header_json_member(out, m, (uint32_t)index[k], tmp, comma);
    comma = true;
  }
  for (uint32_t k = 0; k < nfirst; k++) {
    uint64_t v;
    if (array_index_name(red_name(m, firsts[k]), &v)) continue;
    header_json_member(out, m, firsts[k], tmp, comma);
    comma = true;
  }
  buf_addc(out, '}');
  if (firsts != local) free(firsts);
  if (index != values) free(index);
}

static void json_key(buf_t *out, const char *key, bool comma) {
  if (comma) buf_addc(out, ',');
  buf_addc(out, '"');
  buf_adds(out, key);
  buf_adds(out, "\":");
}

static void json_num(buf_t *out, const char *key, double v) {
  char text[40];
  json_key(out, key, true);
  buf_add(out, text, js_number(v, text));
}

static void json_str(buf_t *out, const char *key, span_t v) {
  json_key(out, key, true);
  json_quote(out, v);
}

static bool json_content_type(const struct http_message *req, const struct http_message *resp) {
  span_t ct;
  if (!message_header(req, "content-type", &ct) && !message_header(resp, "content-type", &ct)) return false;
  for (size_t i = 0; i + 4 <= ct.n; i++)
    if (ascii_ieq(span_of(ct.p + i, 4), "json")) return true;
  return false;
}

/* One http_events row as JSON text; upid (a placeholder here) and px_info's process details are
 * the agent's (records.ts pixieRow). */
static void encode_row(struct emitter *e, const struct exchange *ex, span_t method, span_t target, int status) {
  const struct conn_meta *conn = ex->conn;
  buf_t *o = &e->rows;
  size_t start = o->len;
  buf_add(o, "\0\0\0\0\0\0\0\0", 8); /* pid, length: filled below */
  char num[32];
  buf_adds(o, "{\"time_\":");
  snprintf(num, sizeof(num), "%llu", (unsigned long long)(e->opts.realtime_offset_ns + ex->response->end_ns));
  buf_adds(o, num);
  json_str(o, "upid", span_of("", 0));
  json_str(o, "remote_addr", conn->has_remote ? span_cstr(conn->remote.address) : span_of("", 0));
  json_num(o, "remote_port", conn->has_remote ? conn->remote.port : 0);
  json_str(o, "local_addr", conn->has_local ? span_cstr(conn->local.address) : span_of("", 0));
  json_num(o, "local_port", conn->has_local ? conn->local.port : 0);
  json_num(o, "trace_role", conn->role == ROLE_CLIENT_ ? 1 : conn->role == ROLE_SERVER_ ? 2 : 0);
  json_num(o, "major_version", ex->request->version_major);
  json_num(o, "minor_version", ex->request->version_minor);
  json_num(o, "content_type", json_content_type(ex->request, ex->response) ? 1 : 0);
  json_key(o, "req_headers", true);
  e->scratch.len = 0;
  buf_t joined = {0};
  headers_json(&e->scratch, &e->req, &joined);
  json_quote(o, span_of(e->scratch.p, e->scratch.len));
  json_str(o, "req_method", method);
  json_str(o, "req_path", target);
  json_str(o, "req_body", span_of(e->req.body.p, e->req.body.len));
  json_num(o, "req_body_size", e->req.body_size);
  json_key(o, "resp_headers", true);
  e->scratch.len = 0;
  headers_json(&e->scratch, &e->resp, &joined);
  buf_free(&joined);
  json_quote(o, span_of(e->scratch.p, e->scratch.len));
  json_num(o, "resp_status", status);
  json_str(o, "resp_message", span_of(e->status_text.p, e->status_text.len));
  json_str(o, "resp_body", span_of(e->resp.body.p, e->resp.body.len));
  json_num(o, "resp_body_size", e->resp.body_size);
  json_num(o, "latency", round(ex->latency_ns));
  buf_adds(o, ",\"px_info\":{\"comm\":");
  e->value.len = 0;
  utf8_from_bytes(&e->value, (const uint8_t *)conn->comm, conn->comm_len);
  json_quote(o, span_of(e->value.p, e->value.len));
  snprintf(num, sizeof(num), ",\"pid\":%u", conn->tgid);
  buf_adds(o, num);
  buf_adds(o, conn->tls ? ",\"tls\":true}}" : ",\"tls\":false}}");
  uint32_t pid = conn->tgid, len = (uint32_t)(o->len - start - 8);
  memcpy(o->p + start, &pid, 4);
  memcpy(o->p + start + 4, &len, 4);
  e->nrows++;
}

/* A number below 1000 in decimal; its length. */
static size_t small_uint(char *out, unsigned v) {
  if (v >= 100) return (size_t)sprintf(out, "%u", v);
  if (v >= 10) {
    out[0] = (char)('0' + v / 10);
    out[1] = (char)('0' + v % 10);
    return 2;
  }
  out[0] = (char)('0' + v);
  return 1;
}

bool emitter_exchange(struct emitter *e, const struct exchange *ex) {
  const struct http_message *req = ex->request, *resp = ex->response;
  /* The sensor's own exports, as received by the collector: never reported (a loop). */
  for (uint32_t i = 0; i < req->nheaders; i++)
    if (ascii_ieq(message_str(req, req->headers[i].name, req->headers[i].name_len), SELF_HEADER)) return false;
  e->target.len = 0;
  e->value.len = 0;
  if (req->has_target) utf8_from_latin1(&e->value, req->text.p + req->target, req->target_len);
  else buf_addc(&e->value, '/');
  redact_target(e->r, span_of(e->value.p, e->value.len), &e->target);
  span_t target = span_of(e->target.p, e->target.len);
  const char *name = method_name(req->method);
  span_t method = span_cstr(name ? name : "UNKNOWN");
  int status = resp->has_status ? resp->status : 0;
  e->status_text.len = 0;
  if (resp->has_status_text) utf8_from_latin1(&e->status_text, resp->text.p + resp->status_text, resp->status_text_len);
  char version[16], *v = version;
  v += small_uint(v, req->version_major);
  *v++ = '.';
  v += small_uint(v, req->version_minor);
  *v = 0;
  redact_message(e, req, &e->req);
  redact_message(e, resp, &e->resp);
  if (e->opts.rows) encode_row(e, ex, method, target, status);
  if (e->opts.spans) encode_span(e, ex, method, target, status, version);
  return true;
}
