#define _GNU_SOURCE
#include "engine.h"

#include <errno.h>
#include <limits.h>
#include <linux/types.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "emit.h"
#include "sensor.h"
#include "text.h"
#include "tracker.h"

/* What the reference keeps of a body: the exported excerpt plus a margin the redactor needs. */
#define REDACTION_MARGIN 256
#define MAX_HEADER_BYTES (16 * 1024)
#define MAX_PENDING 64
#define MAX_NON_HTTP_CHUNKS 8
#define OUTPUT_FLUSH_BYTES (256 * 1024)
/* A batch is handed over before it grows past this (frames.ts bounds a frame at 16 MiB); large
 * batches cost the agent less than many small ones (measured). */
#define MAX_BATCH_BYTES (1024 * 1024)

struct engine {
  struct engine_options opts;
  int out_fd;
  bool output_failed;
  buf_t out;
  redactor_t *redactor;
  struct emitter *emitter;
  struct tracker *tracker;
  uint64_t counters[ENG_MAX];
};

static void on_exchange(void *ctx, const struct exchange *ex) {
  struct engine *e = ctx;
  e->counters[ENG_PAIRED_EXCHANGES]++;
  if (!emitter_exchange(e->emitter, ex)) {
    e->counters[ENG_SELF_EXCHANGES]++;
    return;
  }
  e->counters[ENG_EXCHANGES]++;
  if (e->opts.spans) e->counters[ENG_SPANS]++;
  if (e->opts.rows) e->counters[ENG_ROWS]++;
  if ((e->opts.batch_exchanges && engine_batched(e) >= e->opts.batch_exchanges) || emitter_batch_bytes(e->emitter) >= MAX_BATCH_BYTES)
    engine_flush_batches(e);
}

struct engine *engine_new(const struct engine_options *opts, int out_fd) {
  struct engine *e = calloc(1, sizeof(*e));
  if (!e) abort();
  e->opts = *opts;
  e->out_fd = out_fd;
  e->redactor = redactor_new(opts->redact_headers, opts->nredact_headers, opts->redact_fields, opts->nredact_fields);
  struct emit_options eo = {.body_bytes = opts->body_bytes, .spans = opts->spans, .rows = opts->rows};
  e->emitter = emitter_new(&eo, e->redactor);
  struct tracker_options to = {
      .keep_body_bytes = opts->body_bytes + REDACTION_MARGIN,
      .max_header_bytes = MAX_HEADER_BYTES,
      .max_connections = opts->max_connections,
      .idle_timeout_ns = (int64_t)opts->idle_timeout_ns,
      .max_pending = MAX_PENDING,
      .max_non_http_chunks = MAX_NON_HTTP_CHUNKS,
  };
  e->tracker = tracker_new(&to, on_exchange, e);
  return e;
}

void engine_free(struct engine *e) {
  if (!e) return;
  tracker_free(e->tracker);
  emitter_free(e->emitter);
  redactor_free(e->redactor);
  buf_free(&e->out);
  free(e);
}

void engine_set_realtime_offset(struct engine *e, uint64_t offset_ns) { emitter_set_realtime_offset(e->emitter, offset_ns); }

static bool write_all(struct engine *e, struct iovec *iov, int n);

bool engine_flush_output(struct engine *e) {
  struct iovec iov = {e->out.p, e->out.len};
  if (e->out.len) write_all(e, &iov, 1);
  e->out.len = 0;
  return !e->output_failed;
}

void engine_write_frame(struct engine *e, const void *rec, uint32_t len) {
  buf_add(&e->out, &len, 4);
  buf_add(&e->out, rec, len);
  if (e->out.len >= OUTPUT_FLUSH_BYTES) engine_flush_output(e);
}

uint32_t engine_batched(const struct engine *e) {
  return emitter_span_count(e->emitter) > emitter_row_count(e->emitter) ? emitter_span_count(e->emitter)
                                                                       : emitter_row_count(e->emitter);
}

/* Writes everything in iov (partial writes resumed); false once the output is gone. */
static bool write_all(struct engine *e, struct iovec *iov, int n) {
  while (n > 0 && !e->output_failed) {
    ssize_t done = writev(e->out_fd, iov, n > IOV_MAX ? IOV_MAX : n);
    if (done < 0 && errno == EINTR) continue;
    if (done <= 0) {
      e->output_failed = true;
      break;
    }
    while (n > 0 && (size_t)done >= iov->iov_len) {
      done -= (ssize_t)iov->iov_len;
      iov++;
      n--;
    }
    if (n > 0) {
      iov->iov_base = (char *)iov->iov_base + done;
      iov->iov_len -= (size_t)done;
    }
  }
  return !e->output_failed;
}

/* The span batch goes out with one writev, straight from the groups' buffers (no copy into the
 * output buffer: these are most of the bytes the loader writes). */
static void write_span_batch(struct engine *e, const struct span_group *groups, size_t ngroups) {
  uint32_t len = 8;
  for (size_t i = 0; i < ngroups; i++) len += 28 + (uint32_t)groups[i].bytes.len;
  buf_add(&e->out, &len, 4);
  uint32_t head[2] = {EV_SPANS, (uint32_t)ngroups};
  buf_add(&e->out, head, 8);
  size_t heads_at = e->out.len;
  for (size_t i = 0; i < ngroups; i++) {
    uint32_t g[3] = {groups[i].pid, groups[i].count, (uint32_t)groups[i].bytes.len};
    char comm[16] = {0};
    memcpy(comm, groups[i].comm, groups[i].comm_len);
    buf_add(&e->out, g, 12);
    buf_add(&e->out, comm, 16);
  }
  struct iovec local[33];
  size_t n = 1 + 2 * ngroups;
  struct iovec *iov = n <= 33 ? local : malloc(n * sizeof(struct iovec));
  iov[0] = (struct iovec){e->out.p, heads_at};
  for (size_t i = 0; i < ngroups; i++) {
    iov[1 + 2 * i] = (struct iovec){e->out.p + heads_at + 28 * i, 28};
    iov[2 + 2 * i] = (struct iovec){groups[i].bytes.p, groups[i].bytes.len};
  }
  write_all(e, iov, (int)n);
  if (iov != local) free(iov);
  e->out.len = 0;
}

void engine_flush_batches(struct engine *e) {
  const struct span_group *groups;
  size_t ngroups = emitter_groups(e->emitter, &groups);
  if (ngroups) write_span_batch(e, groups, ngroups);
  const buf_t *rows = emitter_rows(e->emitter);
  if (emitter_row_count(e->emitter)) {
    uint32_t len = 8 + (uint32_t)rows->len;
    buf_add(&e->out, &len, 4);
    uint32_t head[2] = {EV_ROWS, emitter_row_count(e->emitter)};
    buf_add(&e->out, head, 8);
    buf_add(&e->out, rows->p, rows->len);
  }
  emitter_clear(e->emitter);
  if (e->out.len >= OUTPUT_FLUSH_BYTES) engine_flush_output(e);
}

static uint8_t comm_len(const char *comm) {
  uint8_t n = 0;
  while (n < COMM_LEN && comm[n]) n++;
  return n;
}

static uint64_t rd64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}
static uint32_t rd32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

uint64_t engine_record(struct engine *e, const void *data, size_t len) {
  const uint8_t *r = data;
  e->counters[ENG_RECORDS]++;
  if (len < 4) {
    e->counters[ENG_MALFORMED_RECORDS]++;
    return 0;
  }
  uint32_t type = rd32(r);
  if (type == EV_DATA) {
    if (len < DATA_HEADER_SIZE || len - DATA_HEADER_SIZE < rd32(r + 44)) {
      e->counters[ENG_MALFORMED_RECORDS]++;
      return 0;
    }
    struct data_rec d = {
        .tgid = rd32(r + 4),
        .tid = rd32(r + 8),
        .fd = (int32_t)rd32(r + 12),
        .ts_ns = rd64(r + 16),
        .conn_id = rd64(r + 24),
        .ssl_ptr = rd64(r + 32),
        .size = rd32(r + 40),
        .captured = rd32(r + 44),
        .direction = r[48] != 0,
        .tls = r[49] == SRC_TLS,
        .role = r[50] <= ROLE_SERVER ? r[50] : ROLE_UNKNOWN,
        .comm = (const char *)r + 56,
        .data = r + DATA_HEADER_SIZE,
    };
    d.comm_len = comm_len(d.comm);
    tracker_data(e->tracker, &d);
    return d.ts_ns;
  }
  if (type == EV_CONN_OPEN || type == EV_CONN_CLOSE) {
    if (len < sizeof(struct conn_event)) {
      e->counters[ENG_MALFORMED_RECORDS]++;
      return 0;
    }
    uint16_t family;
    memcpy(&family, r + 56, 2);
    struct conn_rec c = {
        .open = type == EV_CONN_OPEN,
        .tgid = rd32(r + 4),
        .tid = rd32(r + 8),
        .fd = (int32_t)rd32(r + 12),
        .ts_ns = rd64(r + 16),
        .conn_id = rd64(r + 24),
        .cgroup_id = rd64(r + 48),
        .role = r[62] <= ROLE_SERVER ? r[62] : ROLE_UNKNOWN,
        .preexisting = (r[63] & CONN_PREEXISTING) != 0,
        .comm = (const char *)r + 96,
    };
    c.comm_len = comm_len(c.comm);
    if (c.open) {
      format_address(r + 64, family, c.local.address);
      format_address(r + 80, family, c.remote.address);
      memcpy(&c.local.port, r + 58, 2);
      memcpy(&c.remote.port, r + 60, 2);
    }
    tracker_conn(e->tracker, &c);
    engine_write_frame(e, data, (uint32_t)len); /* the agent keeps the connection logs */
    return c.ts_ns;
  }
  if (type == EV_EXEC) {
    if (len < EXEC_HEADER_SIZE) {
      e->counters[ENG_MALFORMED_RECORDS]++;
      return 0;
    }
    engine_write_frame(e, data, (uint32_t)len);
    return 0; /* execs do not move the clock the connections expire by */
  }
  e->counters[ENG_MALFORMED_RECORDS]++;
  return 0;
}

void engine_expire(struct engine *e, uint64_t now_ns) { tracker_expire(e->tracker, now_ns); }

void engine_close_all(struct engine *e, uint64_t now_ns) {
  tracker_close_all(e->tracker, now_ns);
  engine_flush_batches(e);
}

void engine_write_stats(struct engine *e, struct stats_record *rec) {
  const struct tracker_counters *c = tracker_counters(e->tracker);
  e->counters[ENG_TRACKED_CONNECTIONS] = tracker_size(e->tracker);
  e->counters[ENG_UNPARSEABLE] = c->unparseable;
  e->counters[ENG_NON_HTTP_CONNECTIONS] = c->non_http_connections;
  e->counters[ENG_HTTP2_CONNECTIONS] = c->http2_connections;
  e->counters[ENG_TLS_CIPHERTEXT_CHUNKS] = c->tls_ciphertext_chunks;
  e->counters[ENG_UNANSWERED_REQUESTS] = c->unanswered_requests;
  e->counters[ENG_UNMATCHED_RESPONSES] = c->unmatched_responses;
  e->counters[ENG_PENDING_OVERFLOW] = c->pending_overflow;
  e->counters[ENG_EVICTED_CONNECTIONS] = c->evicted_connections;
  e->counters[ENG_EXPIRED_CONNECTIONS] = c->expired_connections;
  e->counters[ENG_IGNORED_BYTES] = c->ignored_bytes;
  rec->type = EV_STATS;
  rec->counter_count = CNT_MAX;
  rec->engine_count = ENG_MAX;
  rec->pad = 0;
  memcpy(rec->engine, e->counters, sizeof(e->counters));
  engine_write_frame(e, rec, sizeof(*rec));
}
