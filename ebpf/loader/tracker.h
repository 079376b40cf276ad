/* Per-connection reassembly, in C: sensor records in, paired HTTP exchanges out — the logic of
 * ebpf/agent/connections.ts (the reference): role inference, TLS switch-over (SSL_* plaintext
 * replaces the syscalls' ciphertext), HTTP/2 and binary write-off, pipelining, 1xx answers,
 * responses delimited by the close, bounds on connections, pending requests and idle time. */
#ifndef PEREGRINE_TRACKER_H
#define PEREGRINE_TRACKER_H

#include <stdbool.h>
#include <stdint.h>

#include "http.h"

enum { ROLE_UNKNOWN_ = 0, ROLE_CLIENT_ = 1, ROLE_SERVER_ = 2 };
enum { DIR_EGRESS_ = 0, DIR_INGRESS_ = 1 };

struct endpoint {
  char address[48]; /* as frames.ts prints it */
  uint16_t port;
};

struct conn_meta {
  uint32_t tgid;
  int32_t fd;
  uint64_t conn_id;
  uint8_t role;
  bool tls, preexisting, has_local, has_remote;
  uint8_t comm_len;
  char comm[16]; /* raw bytes of the task's comm (decoded as UTF-8 when written out) */
  struct endpoint local, remote;
  uint64_t cgroup_id;
  uint64_t opened_ns;
};

struct exchange {
  const struct conn_meta *conn; /* a snapshot, valid during the callback */
  uint32_t tid;
  struct http_message *request, *response;
  double latency_ns;
};

/* A data record (struct data_event) as read. */
struct data_rec {
  uint32_t tgid, tid;
  int32_t fd;
  uint64_t ts_ns, conn_id, ssl_ptr;
  uint32_t size, captured;
  const uint8_t *data;
  uint8_t direction; /* 0 egress, else ingress */
  bool tls;
  uint8_t role;
  const char *comm;
  uint8_t comm_len;
};

/* A connection open or close record (struct conn_event) as read. */
struct conn_rec {
  bool open;
  uint32_t tgid, tid;
  int32_t fd;
  uint64_t ts_ns, conn_id, cgroup_id;
  uint8_t role;
  bool preexisting;
  const char *comm;
  uint8_t comm_len;
  struct endpoint local, remote;
};

struct tracker_options {
  uint32_t keep_body_bytes;
  uint32_t max_header_bytes;
  uint32_t max_connections;
  int64_t idle_timeout_ns;
  uint32_t max_pending;
  uint32_t max_non_http_chunks;
};

struct tracker_counters {
  uint64_t exchanges, unparseable, non_http_connections, http2_connections, tls_ciphertext_chunks;
  uint64_t unanswered_requests, unmatched_responses, pending_overflow, evicted_connections, expired_connections;
  uint64_t ignored_bytes;
};

typedef void (*exchange_fn)(void *ctx, const struct exchange *ex);

struct tracker;
struct tracker *tracker_new(const struct tracker_options *opts, exchange_fn on_exchange, void *ctx);
void tracker_free(struct tracker *t);
void tracker_data(struct tracker *t, const struct data_rec *rec);
void tracker_conn(struct tracker *t, const struct conn_rec *rec);
/* Drops connections idle since before now - idle timeout (their close completes what it can). */
void tracker_expire(struct tracker *t, uint64_t now_ns);
void tracker_close_all(struct tracker *t, uint64_t now_ns);
size_t tracker_size(const struct tracker *t);
const struct tracker_counters *tracker_counters(const struct tracker *t);

/* frames.ts's ip(): dotted IPv4, IPv4-mapped IPv6 as IPv4, else RFC 5952 IPv6. */
void format_address(const uint8_t bytes[16], uint16_t family, char out[48]);

#endif
