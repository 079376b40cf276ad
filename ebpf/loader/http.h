/* One direction of an HTTP/1.x connection as a stream of messages: llhttp (vendored, the parser
 * inside Node) driven exactly as the TypeScript reference drives Node's binding
 * (ebpf/agent/http-stream.ts, fast path off): header flushing every 32 fields, header size and
 * chunk extension limits, trailing whitespace trimmed from values, HEAD and 101/CONNECT answers,
 * capture gaps skipped by counting inside Content-Length bodies and filled inside chunked ones. */
#ifndef PEREGRINE_HTTP_H
#define PEREGRINE_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include "llhttp/llhttp.h"
#include "text.h"

enum { KIND_REQUEST = 0, KIND_RESPONSE = 1 };

struct http_header {
  uint32_t name, name_len, value, value_len; /* offsets into the message's text */
};

/* A message as the reference's HttpMessage: strings are the raw (latin1) bytes llhttp saw. */
struct http_message {
  struct http_message *next; /* queue link */
  uint8_t kind;
  int method;                /* Node's methods[] index, -1 when undefined */
  bool has_target, has_status, has_status_text, headers_done;
  uint16_t status;
  uint8_t version_major, version_minor;
  bool body_truncated, upgrade, filling;
  uint32_t target, target_len, status_text, status_text_len;
  buf_t text;                /* target, status text, header names and values */
  struct http_header *headers;
  uint32_t nheaders, cap_headers;
  buf_t body;                /* the kept excerpt */
  double body_size;          /* the true (de-chunked) size, a JavaScript number */
  uint64_t start_ns, end_ns;
};

struct message_pool {
  struct http_message *free;
  unsigned nfree;
};

struct http_message *message_new(struct message_pool *pool, uint8_t kind);
void message_free(struct message_pool *pool, struct http_message *m);
void message_pool_free(struct message_pool *pool);
static inline span_t message_str(const struct http_message *m, uint32_t off, uint32_t len) {
  return span_of(m->text.p + off, len);
}
/* The first value of a header (ASCII case-insensitive name, lower case), or false. */
bool message_header_n(const struct http_message *m, const char *lower, size_t len, span_t *value);
#define message_header(m, lower, value) message_header_n((m), (lower), sizeof(lower) - 1, (value))
/* Node's http methods[] name of a method index, or NULL. */
const char *method_name(int method);

struct stream_options {
  uint32_t keep_body_bytes;
  uint32_t max_header_bytes;
};

enum feed_result { FEED_OK = 0, FEED_ERROR = 1, FEED_LOST = 2 };

struct http_stream;
/* For responses: the method of the request being answered (the first pending one), or -1. */
typedef int (*request_method_fn)(void *ctx);

struct http_stream *http_stream_new(uint8_t kind, const struct stream_options *opts, struct message_pool *pool,
                                    request_method_fn method_of, void *ctx);
void http_stream_free(struct http_stream *s);

/* `data`/`captured`: the captured bytes; `size`: what really moved (captured <= size normally). */
enum feed_result http_feed(struct http_stream *s, const uint8_t *data, size_t captured, double size, uint64_t ts_ns);
/* The peer closed: completes a message delimited by the end of the connection. */
void http_finish(struct http_stream *s, uint64_t ts_ns);
bool http_in_message(const struct http_stream *s);
bool http_upgraded(const struct http_stream *s);
uint8_t http_kind(const struct http_stream *s);
/* Takes the completed messages (a list linked by ->next, oldest first). */
struct http_message *http_take_completed(struct http_stream *s);
bool http_has_completed(const struct http_stream *s);

/* Whether a chunk can begin a message of this kind (startsMessage of the reference). */
bool starts_message(uint8_t kind, const uint8_t *data, size_t n);

#endif
