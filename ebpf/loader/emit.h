/* What leaves the loader for one HTTP exchange, built as the reference builds it
 * (ebpf/agent/records.ts redactExchange, otlp.ts httpSpan/encodeSpan, records.ts pixieRow):
 * redaction first, then an OTLP Span (protobuf, ready to sit in a ScopeSpans) and/or a Pixie
 * http_events row (JSON, without the process columns the agent adds). Batched per process. */
#ifndef PEREGRINE_EMIT_H
#define PEREGRINE_EMIT_H

#include "redact.h"
#include "tracker.h"

struct emit_options {
  uint32_t body_bytes;
  bool spans, rows;
  uint64_t realtime_offset_ns;
};

struct span_group {
  uint32_t pid;
  uint8_t comm_len;
  char comm[16];
  uint32_t count;
  buf_t bytes; /* ScopeSpans field 2 (key, length, Span) repeated */
};

struct emitter;
struct emitter *emitter_new(const struct emit_options *opts, redactor_t *redactor);
void emitter_free(struct emitter *e);
void emitter_set_realtime_offset(struct emitter *e, uint64_t offset_ns);

/* Handles one exchange: false when it is the sensor's own export (x-peregrine-sensor). */
bool emitter_exchange(struct emitter *e, const struct exchange *ex);

/* What is batched: spans by process (groups in first-seen order) and rows. */
uint32_t emitter_span_count(const struct emitter *e);
uint32_t emitter_row_count(const struct emitter *e);
size_t emitter_batch_bytes(const struct emitter *e);
size_t emitter_groups(const struct emitter *e, const struct span_group **groups);
const buf_t *emitter_rows(const struct emitter *e);
void emitter_clear(struct emitter *e);

/* routeTemplate of ingest/normalize/route.ts on UTF-8. */
void route_template(span_t path, buf_t *out);

#endif
