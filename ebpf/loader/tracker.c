#include "tracker.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

/* A connection's identity, as the reference's string keys: `${tgid}:${fd}:${connId}` for socket
 * records, `${tgid}:ssl:${sslPtr}` for TLS records without a socket. */
struct conn_key {
  uint32_t tgid;
  int32_t fd;
  uint64_t id;
  uint8_t ssl;
};

enum mode { MODE_HTTP, MODE_NOT_HTTP };

struct conn {
  struct conn_key key;
  struct conn_meta meta;
  int64_t last_ns, order_ns;
  uint32_t last_tid;
  uint8_t mode;
  int8_t request_direction; /* -1: not decided */
  struct http_stream *requests, *responses;
  struct http_message *pending_head, *pending_tail;
  uint32_t npending;
  uint32_t chunks_without_http;
  bool saw_http, broken_reported;
  bool in_id_table, in_fd_table;
  struct conn *next_key, *next_id, *next_fd; /* hash chains */
  struct conn *older, *newer;               /* activity order (the reference's Map order) */
  struct tracker *tracker;
};

#define TABLE_BITS 15
#define TABLE_SIZE (1u << TABLE_BITS)

struct tracker {
  struct tracker_options opts;
  struct stream_options stream_opts;
  double reorder_ns;
  exchange_fn on_exchange;
  void *ctx;
  struct message_pool pool;
  struct tracker_counters counters;
  size_t size;
  struct conn *oldest, *newest;
  struct conn *by_key[TABLE_SIZE];
  struct conn *by_id[TABLE_SIZE];
  struct conn *by_fd[TABLE_SIZE];
};

static uint32_t mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return (uint32_t)h & (TABLE_SIZE - 1);
}
static uint32_t key_slot(const struct conn_key *k) { return mix(((uint64_t)k->tgid << 32 ^ (uint32_t)k->fd) * 31 + k->id * 7 + k->ssl); }
static uint32_t id_slot(uint64_t id) { return mix(id); }
static uint32_t fd_slot(uint32_t tgid, int32_t fd) { return mix(((uint64_t)tgid << 32) | (uint32_t)fd); }
static bool key_eq(const struct conn_key *a, const struct conn_key *b) {
  return a->tgid == b->tgid && a->fd == b->fd && a->id == b->id && a->ssl == b->ssl;
}

struct tracker *tracker_new(const struct tracker_options *opts, exchange_fn on_exchange, void *ctx) {
  struct tracker *t = calloc(1, sizeof(*t));
  if (!t) abort();
  t->opts = *opts;
  t->stream_opts.keep_body_bytes = opts->keep_body_bytes;
  t->stream_opts.max_header_bytes = opts->max_header_bytes;
  double r = (double)opts->idle_timeout_ns / 300;
  t->reorder_ns = r < 1e9 ? r : 1e9;
  t->on_exchange = on_exchange;
  t->ctx = ctx;
  return t;
}

size_t tracker_size(const struct tracker *t) { return t->size; }
const struct tracker_counters *tracker_counters(const struct tracker *t) { return &t->counters; }

/* ---- order list and tables ---- */

static void unlink_order(struct tracker *t, struct conn *c) {
  if (c->older) c->older->newer = c->newer;
  else t->oldest = c->newer;
  if (c->newer) c->newer->older = c->older;
  else t->newest = c->older;
  c->older = c->newer = NULL;
}

static void append_order(struct tracker *t, struct conn *c) {
  c->older = t->newest;
  c->newer = NULL;
  if (t->newest) t->newest->newer = c;
  else t->oldest = c;
  t->newest = c;
}

static struct conn *find_key(struct tracker *t, const struct conn_key *k) {
  for (struct conn *c = t->by_key[key_slot(k)]; c; c = c->next_key)
    if (key_eq(&c->key, k)) return c;
  return NULL;
}

static void remove_from(struct conn **slot, struct conn *c, size_t link) {
  for (struct conn **p = slot; *p; p = (struct conn **)((char *)*p + link)) {
    if (*p == c) {
      *p = *(struct conn **)((char *)c + link);
      return;
    }
  }
}
#define REMOVE(slot, c, field) remove_from((slot), (c), offsetof(struct conn, field))

static struct conn *find_id(struct tracker *t, uint64_t id) {
  for (struct conn *c = t->by_id[id_slot(id)]; c; c = c->next_id)
    if (c->meta.conn_id == id) return c;
  return NULL;
}

/* byConnId.set(id, c): the id now names c. */
static void set_id(struct tracker *t, struct conn *c) {
  struct conn *old = find_id(t, c->meta.conn_id);
  if (old) {
    REMOVE(&t->by_id[id_slot(old->meta.conn_id)], old, next_id);
    old->in_id_table = false;
  }
  uint32_t s = id_slot(c->meta.conn_id);
  c->next_id = t->by_id[s];
  t->by_id[s] = c;
  c->in_id_table = true;
}

static void add_fd(struct tracker *t, struct conn *c) {
  struct conn **p = &t->by_fd[fd_slot(c->meta.tgid, c->meta.fd)];
  while (*p) p = &(*p)->next_fd; /* insertion order */
  c->next_fd = NULL;
  *p = c;
  c->in_fd_table = true;
}

/* ---- exchanges ---- */

static int first_pending_method(void *ctx) {
  struct conn *c = ctx;
  return c->pending_head ? c->pending_head->method : -1;
}

static struct http_stream *request_stream(struct conn *c) {
  if (!c->requests) c->requests = http_stream_new(KIND_REQUEST, &c->tracker->stream_opts, &c->tracker->pool, NULL, NULL);
  return c->requests;
}

static struct http_stream *response_stream(struct conn *c) {
  if (!c->responses)
    c->responses = http_stream_new(KIND_RESPONSE, &c->tracker->stream_opts, &c->tracker->pool, first_pending_method, c);
  return c->responses;
}

static void free_list(struct tracker *t, struct http_message *m) {
  while (m) {
    struct http_message *next = m->next;
    message_free(&t->pool, m);
    m = next;
  }
}

/* Completed requests join the pending queue; completed responses pair with its head. `deliver`
 * false: the pairs are made and counted but not handed on (an evicted connection's). */
static void collect(struct tracker *t, struct conn *c, uint32_t tid, bool deliver) {
  if (c->requests && http_has_completed(c->requests)) {
    struct http_message *m = http_take_completed(c->requests);
    while (m) {
      struct http_message *next = m->next;
      if (c->npending >= t->opts.max_pending) {
        struct http_message *drop = c->pending_head;
        c->pending_head = drop->next;
        if (!c->pending_head) c->pending_tail = NULL;
        c->npending--;
        message_free(&t->pool, drop);
        t->counters.pending_overflow++;
      }
      m->next = NULL;
      if (c->pending_tail) c->pending_tail->next = m;
      else c->pending_head = m;
      c->pending_tail = m;
      c->npending++;
      m = next;
    }
  }
  if (c->responses && http_has_completed(c->responses)) {
    struct http_message *m = http_take_completed(c->responses);
    while (m) {
      struct http_message *next = m->next;
      uint16_t status = m->has_status ? m->status : 0;
      if (status >= 100 && status < 200 && status != 101) { /* 100 Continue etc. precede the answer */
        message_free(&t->pool, m);
        m = next;
        continue;
      }
      struct http_message *req = c->pending_head;
      if (!req) {
        t->counters.unmatched_responses++;
        message_free(&t->pool, m);
        m = next;
        continue;
      }
      c->pending_head = req->next;
      if (!c->pending_head) c->pending_tail = NULL;
      c->npending--;
      t->counters.exchanges++;
      if (deliver) {
        double latency = (double)(int64_t)(m->end_ns - req->start_ns);
        struct exchange ex = {&c->meta, tid, req, m, latency > 0 ? latency : 0};
        t->on_exchange(t->ctx, &ex);
      }
      message_free(&t->pool, req);
      message_free(&t->pool, m);
      m = next;
    }
  }
}

static void reset_streams(struct conn *c) {
  http_stream_free(c->requests);
  http_stream_free(c->responses);
  c->requests = c->responses = NULL;
  if (c->meta.role == ROLE_UNKNOWN_) c->request_direction = -1;
}

static void drop(struct tracker *t, struct conn *c, uint64_t now_ns, bool deliver) {
  /* A response delimited by the close (HTTP/1.0 without Content-Length) completes now. */
  if (c->mode == MODE_HTTP) {
    if (c->responses) http_finish(c->responses, now_ns);
    if (c->requests) http_finish(c->requests, now_ns);
    collect(t, c, c->last_tid, deliver);
  }
  t->counters.unanswered_requests += c->npending;
  free_list(t, c->pending_head);
  c->pending_head = c->pending_tail = NULL;
  c->npending = 0;
  reset_streams(c);
  REMOVE(&t->by_key[key_slot(&c->key)], c, next_key);
  unlink_order(t, c);
  if (c->in_id_table) REMOVE(&t->by_id[id_slot(c->meta.conn_id)], c, next_id);
  if (c->in_fd_table) REMOVE(&t->by_fd[fd_slot(c->meta.tgid, c->meta.fd)], c, next_fd);
  t->size--;
  free(c);
}

static void write_off(struct tracker *t, struct conn *c, bool count) {
  if (count) t->counters.non_http_connections++;
  c->mode = MODE_NOT_HTTP;
  t->counters.unanswered_requests += c->npending;
  free_list(t, c->pending_head);
  c->pending_head = c->pending_tail = NULL;
  c->npending = 0;
  reset_streams(c);
}

static void set_comm(struct conn_meta *m, const char *comm, uint8_t len) {
  if (len == 0) return; /* `if (rec.comm)`: an empty name changes nothing */
  memcpy(m->comm, comm, len);
  m->comm_len = len;
}

static struct conn *touch(struct tracker *t, struct conn *c, const char *comm, uint8_t comm_len, uint64_t ts) {
  set_comm(&c->meta, comm, comm_len);
  if ((int64_t)ts > c->last_ns) c->last_ns = (int64_t)ts;
  /* Moving to the end keeps the order by activity; once per reorder_ns of stream time is enough. */
  if ((double)((int64_t)ts - c->order_ns) >= t->reorder_ns) {
    unlink_order(t, c);
    append_order(t, c);
    c->order_ns = c->last_ns;
  }
  return c;
}

static struct conn *ensure(struct tracker *t, const struct conn_key *key, uint32_t tgid, uint32_t tid, int32_t fd,
                           uint64_t conn_id, uint8_t role, const char *comm, uint8_t comm_len, uint64_t ts) {
  struct conn *found = find_key(t, key);
  if (found) return touch(t, found, comm, comm_len, ts);
  while (t->size >= t->opts.max_connections && t->oldest) {
    t->counters.evicted_connections++;
    drop(t, t->oldest, ts, false);
  }
  struct conn *c = calloc(1, sizeof(*c));
  if (!c) abort();
  c->tracker = t;
  c->key = *key;
  c->meta.tgid = tgid;
  c->meta.fd = fd;
  c->meta.conn_id = conn_id;
  c->meta.role = role;
  memcpy(c->meta.comm, comm, comm_len);
  c->meta.comm_len = comm_len;
  c->meta.opened_ns = ts;
  c->last_ns = c->order_ns = (int64_t)ts;
  c->last_tid = tid;
  c->mode = MODE_HTTP;
  c->request_direction = -1;
  if (fd >= 0) {
    set_id(t, c);
    add_fd(t, c);
  }
  uint32_t s = key_slot(key);
  c->next_key = t->by_key[s];
  t->by_key[s] = c;
  append_order(t, c);
  t->size++;
  return c;
}

/* ---- records ---- */

static bool looks_like_tls_record(const uint8_t *d, size_t n) {
  return n >= 3 && d[0] >= 0x14 && d[0] <= 0x17 && d[1] == 0x03 && d[2] <= 0x04;
}

/* Protocols that are not HTTP/1.x; true when the chunk was accounted for. */
static bool classify_foreign(struct tracker *t, struct conn *c, const uint8_t *d, size_t n) {
  if (looks_like_tls_record(d, n)) {
    t->counters.tls_ciphertext_chunks++; /* its plaintext comes from the uprobes, if attached */
    return true;
  }
  if (n >= 14 && memcmp(d, "PRI * HTTP/2.0", 14) == 0) {
    t->counters.http2_connections++;
    write_off(t, c, true);
    return true;
  }
  return false;
}

/* The first chunk of a connection whose role is unknown: which side speaks first? */
static bool decide_direction(struct tracker *t, struct conn *c, const struct data_rec *rec) {
  uint8_t dir = rec->direction ? DIR_INGRESS_ : DIR_EGRESS_;
  if (c->meta.role == ROLE_CLIENT_) c->request_direction = DIR_EGRESS_;
  else if (c->meta.role == ROLE_SERVER_) c->request_direction = DIR_INGRESS_;
  else if (starts_message(KIND_REQUEST, rec->data, rec->captured)) c->request_direction = dir;
  else if (starts_message(KIND_RESPONSE, rec->data, rec->captured)) c->request_direction = dir == DIR_EGRESS_ ? DIR_INGRESS_ : DIR_EGRESS_;
  else {
    if (!classify_foreign(t, c, rec->data, rec->captured) && ++c->chunks_without_http >= t->opts.max_non_http_chunks)
      write_off(t, c, true);
    return false;
  }
  if (c->meta.role == ROLE_UNKNOWN_) c->meta.role = c->request_direction == DIR_EGRESS_ ? ROLE_CLIENT_ : ROLE_SERVER_;
  return true;
}

static void feed(struct tracker *t, struct conn *c, const struct data_rec *rec) {
  if (c->request_direction < 0 && !decide_direction(t, c, rec)) return;
  bool is_request = (rec->direction ? DIR_INGRESS_ : DIR_EGRESS_) == c->request_direction;
  struct http_stream *stream = is_request ? request_stream(c) : response_stream(c);
  enum feed_result result;
  if (!http_in_message(stream) && !http_upgraded(stream) && !starts_message(http_kind(stream), rec->data, rec->captured)) {
    result = classify_foreign(t, c, rec->data, rec->captured) ? FEED_OK : http_feed(stream, rec->data, rec->captured, rec->size, rec->ts_ns);
    if (c->mode == MODE_NOT_HTTP) return;
  } else {
    result = http_feed(stream, rec->data, rec->captured, rec->size, rec->ts_ns);
  }
  if (result == FEED_OK) {
    if (http_has_completed(stream)) c->saw_http = true;
  } else {
    if (!c->broken_reported) {
      t->counters.unparseable++;
      c->broken_reported = true; /* one count per break, not per chunk */
    }
    if (!c->saw_http && ++c->chunks_without_http >= t->opts.max_non_http_chunks) {
      write_off(t, c, true);
      return;
    }
  }
  if (result == FEED_OK && http_in_message(stream)) c->broken_reported = false;
  collect(t, c, rec->tid, true);
  /* After a 101 (or a CONNECT tunnel) the bytes are another protocol. */
  if (c->responses && http_upgraded(c->responses)) write_off(t, c, false);
}

void tracker_data(struct tracker *t, const struct data_rec *rec) {
  struct conn *c = NULL;
  if (rec->fd >= 0) {
    struct conn *known = find_id(t, rec->conn_id);
    if (known && known->meta.tgid == rec->tgid && known->meta.fd == rec->fd)
      c = touch(t, known, rec->comm, rec->comm_len, rec->ts_ns);
  }
  if (!c) {
    struct conn_key key = rec->fd >= 0 ? (struct conn_key){rec->tgid, rec->fd, rec->conn_id, 0}
                                       : (struct conn_key){rec->tgid, 0, rec->tls ? rec->ssl_ptr : 0, 1};
    c = ensure(t, &key, rec->tgid, rec->tid, rec->fd, rec->conn_id, rec->role, rec->comm, rec->comm_len, rec->ts_ns);
  }
  c->last_tid = rec->tid;
  if (rec->tls && !c->meta.tls) {
    /* From now on the plaintext comes from SSL_*; what the syscalls carried was ciphertext. */
    c->meta.tls = true;
    reset_streams(c);
    c->mode = MODE_HTTP;
    c->chunks_without_http = 0;
  } else if (!rec->tls && c->meta.tls) {
    t->counters.ignored_bytes += rec->size;
    return;
  }
  if (c->mode == MODE_NOT_HTTP) {
    t->counters.ignored_bytes += rec->size;
    return;
  }
  feed(t, c, rec);
}

void tracker_conn(struct tracker *t, const struct conn_rec *rec) {
  struct conn_key key = {rec->tgid, rec->fd, rec->conn_id, 0};
  if (!rec->open) {
    struct conn *c = find_key(t, &key);
    if (c) drop(t, c, rec->ts_ns, true);
    return;
  }
  /* An open on a (tgid, fd) still tracked: the old instance closed unseen. */
  if (rec->fd >= 0) {
    for (;;) {
      struct conn *stale = NULL;
      for (struct conn *c = t->by_fd[fd_slot(rec->tgid, rec->fd)]; c; c = c->next_fd)
        if (c->meta.tgid == rec->tgid && c->meta.fd == rec->fd && !key_eq(&c->key, &key)) {
          stale = c;
          break;
        }
      if (!stale) break;
      drop(t, stale, rec->ts_ns, true);
    }
  }
  struct conn *c = ensure(t, &key, rec->tgid, rec->tid, rec->fd, rec->conn_id, rec->role, rec->comm, rec->comm_len, rec->ts_ns);
  c->meta.local = rec->local;
  c->meta.remote = rec->remote;
  c->meta.has_local = c->meta.has_remote = true;
  c->meta.cgroup_id = rec->cgroup_id;
  c->meta.preexisting = rec->preexisting;
  if (rec->role != ROLE_UNKNOWN_) c->meta.role = rec->role;
}

void tracker_expire(struct tracker *t, uint64_t now_ns) {
  while (t->oldest && (int64_t)now_ns - t->oldest->last_ns >= t->opts.idle_timeout_ns) {
    t->counters.expired_connections++;
    drop(t, t->oldest, now_ns, true);
  }
}

void tracker_close_all(struct tracker *t, uint64_t now_ns) {
  while (t->oldest) drop(t, t->oldest, now_ns, true);
}

void tracker_free(struct tracker *t) {
  if (!t) return;
  while (t->oldest) {
    struct conn *c = t->oldest;
    free_list(t, c->pending_head);
    reset_streams(c);
    unlink_order(t, c);
    free(c);
  }
  message_pool_free(&t->pool);
  free(t);
}

void format_address(const uint8_t b[16], uint16_t family, char out[48]) {
  if (family == 2) {
    snprintf(out, 48, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
    return;
  }
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (memcmp(b, mapped, 12) == 0) {
    snprintf(out, 48, "%u.%u.%u.%u", b[12], b[13], b[14], b[15]);
    return;
  }
  unsigned g[8];
  for (int i = 0; i < 8; i++) g[i] = (unsigned)b[2 * i] << 8 | b[2 * i + 1];
  int best = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (g[i] != 0) {
      i++;
      continue;
    }
    int j = i;
    while (j < 8 && g[j] == 0) j++;
    if (j - i > best_len && j - i > 1) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  char *o = out;
  if (best < 0) {
    for (int i = 0; i < 8; i++) o += sprintf(o, i ? ":%x" : "%x", g[i]);
    return;
  }
  for (int i = 0; i < best; i++) o += sprintf(o, i ? ":%x" : "%x", g[i]);
  o += sprintf(o, "::");
  for (int i = best + best_len; i < 8; i++) o += sprintf(o, i > best + best_len ? ":%x" : "%x", g[i]);
}
