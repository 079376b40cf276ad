/* The loader's user-space engine: the sensor records (bpf/sensor.h) in, what the agent needs out,
 * on one file descriptor as `[u32 length][record]` frames:
 *   EV_HELLO, EV_STATS (BPF counters, then the engine's), EV_CONN_OPEN/CLOSE and EV_EXEC (the
 *   records as BPF wrote them: the agent keeps connection and exec logs), and instead of the data
 *   records, batches of finished exchanges:
 *   EV_SPANS: u32 type, u32 groups; per group: u32 pid, u32 spans, u32 bytes, char comm[16],
 *             then `bytes` of ScopeSpans field 2 (key, length, Span) repeated;
 *   EV_ROWS:  u32 type, u32 rows; per row: u32 pid, u32 length, then a JSON object.
 * Pure computation plus buffered writes: time comes in with the records and the ticks. */
#ifndef PEREGRINE_ENGINE_H
#define PEREGRINE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ENGINE_STATS_VERSION 2

struct hello_record {
  uint32_t type;
  uint32_t version;
  uint64_t realtime_minus_monotonic_ns; /* add to a record's ts_ns for wall-clock time */
  uint32_t capture_bytes;
  uint32_t loader_pid;
};

/* The per-CPU BPF counters (CNT_*) and the loader's own figures, as before, then the engine's. */
enum engine_counter {
  ENG_RECORDS,
  ENG_EXCHANGES, /* exported: spans or rows were made */
  ENG_SELF_EXCHANGES,
  ENG_SPANS,
  ENG_ROWS,
  ENG_TRACKED_CONNECTIONS,
  ENG_UNPARSEABLE,
  ENG_NON_HTTP_CONNECTIONS,
  ENG_HTTP2_CONNECTIONS,
  ENG_TLS_CIPHERTEXT_CHUNKS,
  ENG_UNANSWERED_REQUESTS,
  ENG_UNMATCHED_RESPONSES,
  ENG_PENDING_OVERFLOW,
  ENG_EVICTED_CONNECTIONS,
  ENG_EXPIRED_CONNECTIONS,
  ENG_IGNORED_BYTES,
  ENG_MALFORMED_RECORDS,
  ENG_PAIRED_EXCHANGES, /* all pairs, the sensor's own exports included */
  ENG_MAX,
};

struct stats_record {
  uint32_t type;
  uint32_t counter_count;
  uint64_t counters[8]; /* CNT_MAX of bpf/sensor.h */
  uint64_t loader_cpu_ns;
  uint64_t bpf_run_time_ns; /* summed over programs; 0 unless kernel.bpf_stats_enabled=1 */
  uint64_t bpf_run_count;
  uint64_t monotonic_ns; /* the stream's clock when this record was written (idle nodes too) */
  uint32_t engine_count;
  uint32_t pad;
  uint64_t engine[ENG_MAX];
};

struct engine_options {
  uint32_t body_bytes;
  uint32_t max_connections;
  uint64_t idle_timeout_ns;
  bool spans, rows;
  uint32_t batch_exchanges; /* hand a batch over at this many exchanges (else at a tick) */
  const char *const *redact_headers; /* lower case */
  size_t nredact_headers;
  const char *const *redact_fields; /* normalized: lower-case letters and digits */
  size_t nredact_fields;
};

struct engine;
struct engine *engine_new(const struct engine_options *opts, int out_fd);
void engine_free(struct engine *e);

void engine_set_realtime_offset(struct engine *e, uint64_t offset_ns);
/* One record as BPF (or a replayed stream) wrote it; malformed ones are counted and skipped.
 * Returns the record's timestamp (0 for records without one). */
uint64_t engine_record(struct engine *e, const void *rec, size_t len);
/* Expires idle connections as of now_ns (the stream's clock). */
void engine_expire(struct engine *e, uint64_t now_ns);
/* Ends every connection (shutdown): completes what the close can complete. */
void engine_close_all(struct engine *e, uint64_t now_ns);
/* Writes the batched exchanges as EV_SPANS/EV_ROWS records (when there are any). */
void engine_flush_batches(struct engine *e);
uint32_t engine_batched(const struct engine *e);
/* Writes a raw record frame (hello, forwarded records). */
void engine_write_frame(struct engine *e, const void *rec, uint32_t len);
/* Fills the engine part of a stats record and writes it. */
void engine_write_stats(struct engine *e, struct stats_record *rec);
/* Writes out what is buffered; false once the output is gone (the agent closed the pipe). */
bool engine_flush_output(struct engine *e);

#endif
