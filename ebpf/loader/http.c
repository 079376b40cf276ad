#include "http.h"

#include <math.h>
#include <stdlib.h>

/* Node's binding flushes header pairs to JavaScript when the 32nd field starts. */
#define MAX_HEADER_FIELDS 32
#define MAX_CHUNK_EXTENSIONS 16384
#define MAX_POOLED_MESSAGES 512
static const uint8_t ZEROS[64 * 1024];

/* require('_http_common').methods: HTTP_METHOD_MAP's names by position (QUERY, number 46, sits at
 * index 34, so methods[46] is undefined and methods[34] names QUERY). */
static const char *const METHODS[] = {
    "DELETE", "GET",        "HEAD",     "POST",   "PUT",      "CONNECT", "OPTIONS",   "TRACE",       "COPY",
    "LOCK",   "MKCOL",      "MOVE",     "PROPFIND", "PROPPATCH", "SEARCH", "UNLOCK",  "BIND",        "REBIND",
    "UNBIND", "ACL",        "REPORT",   "MKACTIVITY", "CHECKOUT", "MERGE", "M-SEARCH", "NOTIFY",     "SUBSCRIBE",
    "UNSUBSCRIBE", "PATCH", "PURGE",    "MKCALENDAR", "LINK",   "UNLINK", "SOURCE",   "QUERY",
};
#define NMETHODS (sizeof(METHODS) / sizeof(METHODS[0]))

const char *method_name(int method) { return method >= 0 && (size_t)method < NMETHODS ? METHODS[method] : NULL; }

static int method_index(const char *name) {
  for (size_t i = 0; i < NMETHODS; i++)
    if (strcmp(METHODS[i], name) == 0) return (int)i;
  return -1;
}

struct http_message *message_new(struct message_pool *pool, uint8_t kind) {
  struct http_message *m = pool->free;
  if (m) {
    pool->free = m->next;
    pool->nfree--;
    buf_t text = m->text, body = m->body;
    struct http_header *headers = m->headers;
    uint32_t cap = m->cap_headers;
    memset(m, 0, sizeof(*m));
    text.len = body.len = 0;
    m->text = text;
    m->body = body;
    m->headers = headers;
    m->cap_headers = cap;
  } else {
    m = calloc(1, sizeof(*m));
    if (!m) abort();
  }
  m->kind = kind;
  m->method = -1;
  return m;
}

static void message_destroy(struct http_message *m) {
  buf_free(&m->text);
  buf_free(&m->body);
  free(m->headers);
  free(m);
}

void message_free(struct message_pool *pool, struct http_message *m) {
  if (!m) return;
  /* Keep buffers of ordinary size for reuse; let unusual ones go. */
  if (pool->nfree >= MAX_POOLED_MESSAGES || m->text.cap > 64 * 1024 || m->body.cap > 64 * 1024) {
    message_destroy(m);
    return;
  }
  m->next = pool->free;
  pool->free = m;
  pool->nfree++;
}

void message_pool_free(struct message_pool *pool) {
  while (pool->free) {
    struct http_message *m = pool->free;
    pool->free = m->next;
    message_destroy(m);
  }
  pool->nfree = 0;
}

bool message_header_n(const struct http_message *m, const char *lower, size_t len, span_t *value) {
  for (uint32_t i = 0; i < m->nheaders; i++) {
    const struct http_header *h = &m->headers[i];
    if (h->name_len != len) continue;
    const uint8_t *name = m->text.p + h->name;
    size_t k = 0;
    while (k < len && ascii_lower(name[k]) == (uint8_t)lower[k]) k++;
    if (k == len) {
      *value = message_str(m, h->value, h->value_len);
      return true;
    }
  }
  return false;
}

/* A header whose name and value already lie in the message's text. */
static void message_add_header(struct http_message *m, uint32_t name, uint32_t name_len, uint32_t value, uint32_t value_len) {
  if (m->nheaders == m->cap_headers) {
    m->cap_headers = m->cap_headers ? m->cap_headers * 2 : 16;
    m->headers = realloc(m->headers, m->cap_headers * sizeof(*m->headers));
    if (!m->headers) abort();
  }
  m->headers[m->nheaders++] = (struct http_header){name, name_len, value, value_len};
}

/* ---- the stream ---- */

struct piece {
  uint32_t off, len;
};

struct http_stream {
  uint8_t kind;
  const struct stream_options *opts;
  struct message_pool *pool;
  request_method_fn method_of;
  void *ctx;

  llhttp_t parser;
  bool has_parser;
  struct http_message *current;
  uint64_t chunk_ts;
  double content_length; /* NAN: undefined */
  bool chunked;
  double skipping;
  bool stopped;

  /* Node's binding state (node_http_parser.cc) */
  uint64_t header_nread, chunk_ext_nread;
  uint32_t num_fields, num_values;
  struct piece fields[MAX_HEADER_FIELDS], values[MAX_HEADER_FIELDS];
  buf_t pieces; /* fields and values while no message holds them (never, in practice) */
  buf_t url;    /* url_: reset at message begin and by a flush */
  buf_t status; /* status_message_ */
  bool have_flushed;

  struct http_message *done_head, *done_tail;
};

static const llhttp_settings_t SETTINGS;

struct http_stream *http_stream_new(uint8_t kind, const struct stream_options *opts, struct message_pool *pool,
                                    request_method_fn method_of, void *ctx) {
  struct http_stream *s = calloc(1, sizeof(*s));
  if (!s) abort();
  s->kind = kind;
  s->opts = opts;
  s->pool = pool;
  s->method_of = method_of;
  s->ctx = ctx;
  s->content_length = NAN;
  return s;
}

static void drop_current(struct http_stream *s) {
  message_free(s->pool, s->current);
  s->current = NULL;
}

void http_stream_free(struct http_stream *s) {
  if (!s) return;
  drop_current(s);
  while (s->done_head) {
    struct http_message *m = s->done_head;
    s->done_head = m->next;
    message_free(s->pool, m);
  }
  buf_free(&s->pieces);
  buf_free(&s->url);
  buf_free(&s->status);
  free(s);
}

bool http_in_message(const struct http_stream *s) { return s->current != NULL || s->skipping > 0; }
bool http_upgraded(const struct http_stream *s) { return s->stopped; }
uint8_t http_kind(const struct http_stream *s) { return s->kind; }
bool http_has_completed(const struct http_stream *s) { return s->done_head != NULL; }

struct http_message *http_take_completed(struct http_stream *s) {
  struct http_message *m = s->done_head;
  s->done_head = s->done_tail = NULL;
  return m;
}

static void complete(struct http_stream *s, struct http_message *m) {
  m->end_ns = s->chunk_ts;
  m->next = NULL;
  if (s->done_tail) s->done_tail->next = m;
  else s->done_head = m;
  s->done_tail = m;
}

static void dispose(struct http_stream *s) { s->has_parser = false; }

static void reset(struct http_stream *s) {
  dispose(s);
  drop_current(s);
  s->skipping = 0;
}

/* ---- Node's binding, then the reference's callbacks ---- */

static inline struct http_stream *of(llhttp_t *p) { return (struct http_stream *)p->data; }

static int track_header(struct http_stream *s, size_t len) {
  s->header_nread += len;
  if (s->header_nread >= s->opts->max_header_bytes) {
    llhttp_set_error_reason(&s->parser, "HPE_HEADER_OVERFLOW:Header overflow");
    return HPE_USER;
  }
  return 0;
}

enum url_mode { URL_NONE, URL_APPEND, URL_IF_SET };

/* The reference's target: `(target ?? '') + url` (kOnHeaders, while the head is read: trailers
 * flush too, and their url is not the target's), or `if (url) target += url` (headers-complete). */
static void append_target(struct http_message *cur, const buf_t *url, enum url_mode mode) {
  if (mode == URL_NONE || cur->headers_done || (mode == URL_IF_SET && url->len == 0)) return;
  if (!cur->has_target) {
    cur->has_target = true;
    cur->target = (uint32_t)cur->text.len;
    cur->target_len = 0;
  }
  if (url->len == 0) return;
  if (cur->target + cur->target_len != cur->text.len) {
    /* keep the target contiguous: move it to the end first */
    buf_t old = {0};
    buf_add(&old, cur->text.p + cur->target, cur->target_len);
    cur->target = (uint32_t)cur->text.len;
    buf_add(&cur->text, old.p, old.len);
    buf_free(&old);
  }
  buf_add(&cur->text, url->p, url->len);
  cur->target_len += (uint32_t)url->len;
}

/* Node's pairs so far (values trimmed of trailing blanks) handed to the message; with the url as
 * the mode says. */
static void commit_headers(struct http_stream *s, enum url_mode mode) {
  struct http_message *cur = s->current;
  if (!cur) return;
  for (uint32_t i = 0; i < s->num_values; i++) {
    /* the callbacks wrote the bytes into the message's text already: only the trailing blanks go */
    uint32_t len = s->values[i].len;
    const uint8_t *v = cur->text.p + s->values[i].off;
    while (len && (v[len - 1] == ' ' || v[len - 1] == '\t')) len--;
    message_add_header(cur, s->fields[i].off, s->fields[i].len, s->values[i].off, len);
  }
  append_target(cur, &s->url, mode);
}

/* Node's Flush(): pairs and url to kOnHeaders; the url is then forgotten. */
static void flush_headers(struct http_stream *s) {
  commit_headers(s, URL_APPEND);
  s->url.len = 0;
  s->have_flushed = true;
}

static int on_message_begin(llhttp_t *p) {
  struct http_stream *s = of(p);
  s->num_fields = s->num_values = 0;
  s->chunk_ext_nread = 0;
  s->url.len = 0;
  s->status.len = 0;
  s->pieces.len = 0;
  /* kOnMessageBegin */
  drop_current(s);
  struct http_message *m = message_new(s->pool, s->kind);
  m->start_ns = s->chunk_ts;
  s->current = m;
  s->content_length = NAN;
  s->chunked = false;
  return 0;
}

/* on_url and on_status: counted against the header limit, then kept. */
static int keep_head_part(struct http_stream *s, buf_t *into, const char *at, size_t len) {
  int rv = track_header(s, len);
  if (rv) return rv;
  buf_add(into, at, len);
  return 0;
}
static int on_url(llhttp_t *p, const char *at, size_t len) { return keep_head_part(of(p), &of(p)->url, at, len); }
static int on_status(llhttp_t *p, const char *at, size_t len) { return keep_head_part(of(p), &of(p)->status, at, len); }

/* Where header bytes go: straight into the message's text (copied once). */
static buf_t *header_text(struct http_stream *s) { return s->current ? &s->current->text : &s->pieces; }

/* Adds a callback's bytes to a field or value; a piece is contiguous unless other text came in
 * between (never from llhttp: a field's or value's pieces follow each other), then it moves. */
static void append_piece(struct http_stream *s, struct piece *pc, const char *at, size_t len) {
  buf_t *t = header_text(s);
  if (pc->off + pc->len != t->len) {
    buf_t old = {0};
    buf_add(&old, t->p + pc->off, pc->len);
    pc->off = (uint32_t)t->len;
    buf_add(t, old.p, old.len);
    buf_free(&old);
  }
  buf_add(t, at, len);
  pc->len += (uint32_t)len;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len) {
  struct http_stream *s = of(p);
  int rv = track_header(s, len);
  if (rv) return rv;
  if (s->num_fields == s->num_values) {
    s->num_fields++;
    if (s->num_fields == MAX_HEADER_FIELDS) {
      flush_headers(s);
      s->pieces.len = 0;
      s->num_fields = 1;
      s->num_values = 0;
    }
    s->fields[s->num_fields - 1] = (struct piece){(uint32_t)header_text(s)->len, 0};
  }
  append_piece(s, &s->fields[s->num_fields - 1], at, len);
  return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len) {
  struct http_stream *s = of(p);
  int rv = track_header(s, len);
  if (rv) return rv;
  if (s->num_values != s->num_fields) {
    s->num_values++;
    s->values[s->num_values - 1] = (struct piece){(uint32_t)header_text(s)->len, 0};
  }
  append_piece(s, &s->values[s->num_values - 1], at, len);
  return 0;
}

/* Number(value) for a Content-Length value llhttp accepted (digits; empty is 0). */
static double js_number_of(span_t v) {
  v = js_trim(v);
  if (v.n == 0) return 0;
  double d = 0;
  for (size_t i = 0; i < v.n; i++) {
    if (!is_digit(v.p[i])) return NAN;
    d = d * 10 + (v.p[i] - '0');
  }
  return d;
}

static bool contains_chunked(span_t v) {
  for (size_t i = 0; i + 7 <= v.n; i++)
    if (ascii_ieq(span_of(v.p + i, 7), "chunked")) return true;
  return false;
}

static int on_headers_complete(llhttp_t *p) {
  struct http_stream *s = of(p);
  s->header_nread = 0;
  struct http_message *cur = s->current;
  /* Node flushes what is left once it has flushed before, else passes the pairs and (requests)
   * the url as arguments. */
  if (s->have_flushed) flush_headers(s);
  else commit_headers(s, s->kind == KIND_REQUEST ? URL_IF_SET : URL_NONE);
  s->num_fields = s->num_values = 0;
  s->pieces.len = 0;
  if (!cur) return 0;
  cur->version_major = p->http_major;
  cur->version_minor = p->http_minor;
  cur->upgrade = p->upgrade;
  cur->headers_done = true;
  cur->body_size = 0;
  if (s->kind == KIND_REQUEST) {
    cur->method = p->method < NMETHODS ? (int)p->method : -1;
  } else {
    cur->has_status = true;
    cur->status = p->status_code;
    cur->has_status_text = true;
    cur->status_text = (uint32_t)cur->text.len;
    cur->status_text_len = (uint32_t)s->status.len;
    buf_add(&cur->text, s->status.p, s->status.len);
  }
  for (uint32_t i = 0; i < cur->nheaders; i++) {
    span_t name = message_str(cur, cur->headers[i].name, cur->headers[i].name_len);
    span_t value = message_str(cur, cur->headers[i].value, cur->headers[i].value_len);
    if (ascii_ieq(name, "content-length")) s->content_length = js_number_of(value);
    else if (ascii_ieq(name, "transfer-encoding") && contains_chunked(value)) s->chunked = true;
  }
  if (s->kind == KIND_RESPONSE) {
    int m = s->method_of ? s->method_of(s->ctx) : -1;
    static int head = -2, connect = -2;
    if (head == -2) head = method_index("HEAD"), connect = method_index("CONNECT");
    if (m == head) return 1; /* no body follows, whatever the headers say */
    if (p->status_code == 101 || (m == connect && p->status_code >= 200 && p->status_code < 300)) {
      cur->upgrade = true;
      return 2;
    }
  }
  return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len) {
  struct http_stream *s = of(p);
  if (len == 0) return 0;
  struct http_message *cur = s->current;
  if (!cur) return 0;
  cur->body_size += (double)len;
  if (cur->filling || cur->body_truncated) return 0;
  if (cur->body.len >= s->opts->keep_body_bytes) {
    cur->body_truncated = true;
    return 0;
  }
  size_t room = s->opts->keep_body_bytes - cur->body.len;
  buf_add(&cur->body, at, len > room ? room : len);
  if (len > room) cur->body_truncated = true;
  return 0;
}

static int on_message_complete(llhttp_t *p) {
  struct http_stream *s = of(p);
  if (s->num_fields) flush_headers(s); /* trailing headers */
  s->num_fields = s->num_values = 0;
  s->pieces.len = 0;
  struct http_message *cur = s->current;
  s->current = NULL;
  if (!cur) return 0;
  complete(s, cur);
  if (cur->upgrade) s->stopped = true;
  return 0;
}

static int on_chunk_extension(llhttp_t *p, const char *at, size_t len) {
  struct http_stream *s = of(p);
  s->chunk_ext_nread += len;
  if (s->chunk_ext_nread > MAX_CHUNK_EXTENSIONS) {
    llhttp_set_error_reason(&s->parser, "HPE_CHUNK_EXTENSIONS_OVERFLOW:Chunk extensions overflow");
    return HPE_USER;
  }
  return 0;
}

static int on_chunk_header(llhttp_t *p) {
  of(p)->header_nread = 0;
  of(p)->chunk_ext_nread = 0;
  return 0;
}

static int on_chunk_complete(llhttp_t *p) {
  of(p)->header_nread = 0;
  return 0;
}

static const llhttp_settings_t SETTINGS = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_status = on_status,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_chunk_extension_name = on_chunk_extension,
    .on_chunk_extension_value = on_chunk_extension,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
    .on_chunk_header = on_chunk_header,
    .on_chunk_complete = on_chunk_complete,
};

static void new_parser(struct http_stream *s) {
  llhttp_init(&s->parser, s->kind == KIND_REQUEST ? HTTP_REQUEST : HTTP_RESPONSE, &SETTINGS);
  s->parser.data = s;
  s->has_parser = true;
  s->header_nread = 0;
  s->url.len = s->status.len = s->pieces.len = 0;
  s->num_fields = s->num_values = 0;
  s->have_flushed = false;
}

/* parser.execute() and the reference's handling of its result. */
static enum feed_result execute(struct http_stream *s, const uint8_t *data, size_t n) {
  if (!s->has_parser) {
    /* The reference calls execute on a disposed parser: it throws, which counts as an error. */
    if (s->stopped) return FEED_OK;
    reset(s);
    return FEED_ERROR;
  }
  llhttp_errno_t err = llhttp_execute(&s->parser, (const char *)data, n);
  if (err == HPE_PAUSED_UPGRADE) {
    err = HPE_OK;
    llhttp_resume_after_upgrade(&s->parser);
  }
  bool error = !s->parser.upgrade && err != HPE_OK;
  if (s->stopped) {
    dispose(s); /* an upgrade ends HTTP on this stream */
    return FEED_OK;
  }
  if (error) {
    reset(s);
    return FEED_ERROR;
  }
  return FEED_OK;
}

static void finish_skipped_message(struct http_stream *s) {
  struct http_message *cur = s->current;
  s->current = NULL;
  if (!cur) return;
  if (!isnan(s->content_length)) cur->body_size = s->content_length;
  complete(s, cur);
}

static enum feed_result skip_gap(struct http_stream *s, double gap) {
  struct http_message *cur = s->current;
  if (cur && cur->headers_done && !isnan(s->content_length) && !s->chunked) {
    /* Inside a Content-Length body: count the missing bytes instead of parsing them. */
    double remaining = s->content_length - cur->body_size;
    if (gap <= remaining) {
      cur->body_truncated = true;
      dispose(s);
      s->skipping = remaining;
      double n = gap < s->skipping ? gap : s->skipping;
      s->skipping -= n;
      if (s->skipping == 0) finish_skipped_message(s);
      return FEED_OK;
    }
  }
  if (cur && cur->headers_done && s->chunked) {
    /* Chunked: zeros keep llhttp counting inside one chunk's data. */
    cur->body_truncated = true;
    cur->filling = true;
    double left = gap;
    while (left > 0) {
      size_t n = left < (double)sizeof(ZEROS) ? (size_t)left : sizeof(ZEROS);
      if (execute(s, ZEROS, n) != FEED_OK) return FEED_ERROR;
      left -= (double)n;
    }
    if (s->current) s->current->filling = false;
    return FEED_OK;
  }
  reset(s);
  return FEED_ERROR;
}

enum feed_result http_feed(struct http_stream *s, const uint8_t *data, size_t captured, double size, uint64_t ts_ns) {
  if (s->stopped) return FEED_OK;
  s->chunk_ts = ts_ns;
  if (s->skipping > 0) {
    double n = s->skipping < size ? s->skipping : size;
    s->skipping -= n;
    if (s->skipping > 0) return FEED_OK;
    finish_skipped_message(s);
    if (n >= size) return FEED_OK;
    size_t skip = n < (double)captured ? (size_t)n : captured;
    data += skip;
    captured -= skip;
    size -= n;
  }
  if (!s->has_parser) {
    if (!starts_message(s->kind, data, captured)) return FEED_LOST;
    new_parser(s);
  }
  enum feed_result r = execute(s, data, captured);
  if (r != FEED_OK) return r;
  double gap = size - (double)captured;
  if (gap > 0) return skip_gap(s, gap);
  return FEED_OK;
}

void http_finish(struct http_stream *s, uint64_t ts_ns) {
  if (!s->has_parser || s->stopped) return;
  s->chunk_ts = ts_ns;
  llhttp_finish(&s->parser);
}

/* ---- message starts (startsMessage) ---- */

static const char *const START_METHODS[] = {"GET",   "POST",   "PUT",   "DELETE", "HEAD",   "OPTIONS", "PATCH",
                                             "CONNECT", "TRACE", "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE",
                                             "LOCK",  "UNLOCK", "SEARCH", "PURGE", "REPORT"};

/* \s of a latin1 character. */
static inline bool latin1_space(uint8_t c) { return c == ' ' || (c >= 9 && c <= 13) || c == 0xA0; }

bool starts_message(uint8_t kind, const uint8_t *d, size_t n) {
  size_t head = n < 256 ? n : 256;
  if (kind == KIND_RESPONSE) {
    /* /^HTTP\/1\.[01] \d{3}/ on the head, or a short chunk that is a prefix of HTTP/1.x */
    if (head >= 12 && memcmp(d, "HTTP/1.", 7) == 0 && (d[7] == '0' || d[7] == '1') && d[8] == ' ' && is_digit(d[9]) &&
        is_digit(d[10]) && is_digit(d[11]))
      return true;
    if (n >= 12 || n < 6 || memcmp(d, "HTTP/1", 6) != 0) return false;
    size_t i = 6;
    if (i < n && d[i] == '.') i++;
    if (i < n && (d[i] == '0' || d[i] == '1')) i++;
    return i == n;
  }
  /* /^([A-Z]{3,9}) (\S+)(?: (HTTP\/1\.[01])\r?\n| ?$|( ))/ */
  size_t r = 0;
  while (r < head && d[r] >= 'A' && d[r] <= 'Z') r++;
  if (r < 3 || r > 9 || r >= head || d[r] != ' ') return false;
  bool known = false;
  for (size_t k = 0; k < sizeof(START_METHODS) / sizeof(START_METHODS[0]) && !known; k++)
    known = strlen(START_METHODS[k]) == r && memcmp(START_METHODS[k], d, r) == 0;
  if (!known) return false;
  size_t t = r + 1, e = t;
  while (e < head && !latin1_space(d[e])) e++;
  if (e == t) return false;
  /* " HTTP/1.x" then "\n" or "\r\n": the whole request line */
  if (e + 9 <= head && memcmp(d + e, " HTTP/1.", 8) == 0 && (d[e + 8] == '0' || d[e + 8] == '1')) {
    size_t k = e + 9;
    if (k < head && d[k] == '\r') k++;
    if (k < head && d[k] == '\n') return true;
  }
  if (e == head || (d[e] == ' ' && e + 1 == head)) return true; /* cut by the end of the head */
  return false; /* `( )`: a space and more: not HTTP/1.x */
}
