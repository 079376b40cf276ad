/* sensor-fuzz: the loader's engine (reassembly, llhttp, pairing, redaction, span and row encoding)
 * under random and mutated record streams, built with AddressSanitizer and UBSan (`make -C ebpf
 * fuzz`); LeakSanitizer checks at exit that everything was freed. Deterministic: stream i of
 * --seed S is the same on every run, so a failure is replayed with --seed S --first i --streams 1.
 *
 *   sensor-fuzz [--seed S] [--first I] [--streams N]
 *
 * Prints one JSON line at the end (a crash or a leak aborts the process before it: the caller,
 * bench/fuzz-sensor.ts, reads the sanitizer's report instead). Also a libFuzzer target when built
 * with -DLIBFUZZER -fsanitize=fuzzer (clang): the input bytes then choose the stream. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "redact.h"
#include "sensor.h"
#include "text.h"

/* ---- randomness: splitmix64, or the libFuzzer input's bytes ---- */

static uint64_t rng_state;
static const uint8_t *input;
static size_t input_len, input_at;

static uint64_t rnd(void) {
  if (input) { /* libFuzzer: draw from the input, then zeros */
    uint64_t v = 0;
    for (int k = 0; k < 8 && input_at < input_len; k++) v |= (uint64_t)input[input_at++] << (8 * k);
    return v;
  }
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static uint32_t below(uint32_t n) { return n ? (uint32_t)(rnd() % n) : 0; }
static bool chance(uint32_t one_in) { return below(one_in) == 0; }

/* ---- what HTTP on a socket looks like, and what breaks it ---- */

static const char *const CORPUS[] = {
    "GET /items?q=load-1 HTTP/1.1\r\nHost: 127.0.0.1:18098\r\nConnection: keep-alive\r\n\r\n",
    "POST /echo HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 60\r\n\r\n{\"user\":\"ada\",\"password\":\"hunter2\",\"card\":\"4111111111111111\"}",
    "POST /f HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nAuthorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.x\r\nContent-Length: 40\r\n\r\nuser=bob&passwd=p%41ss&card=5500-0000-00",
    "POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
    "GET /old HTTP/1.0\r\n\r\n",
    "HEAD /h HTTP/1.1\r\n\r\n",
    "GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "GET /x?api_key=AKIAIOSFODNN7EXAMPLE&next=%2Fhome&t=ghp_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789 HTTP/1.1\r\nReferer: https://u:pw@a/b?session=s\r\nCookie: sid=1\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\r\n",
    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n3a\r\n{\"ok\":true,\"q\":\"load-32\",\"marker\":\"items-response-marker\"}\r\n0\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nalpha",
    "HTTP/1.1 100 Continue\r\n\r\n",
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
    "HTTP/1.1 204 No Content\r\n\r\n",
    "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the close password=x",
    "HTTP/1.1 500 Internal Server Error\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\n\x1f\x8b\x08\x00",
    "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 48\r\n\r\n[1,2.5e300,-0,\"\\ud800\",{\"1\":{\"token\":null}},\"x\"]",
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 9\r\n\r\n\xc3\xa9\xe2\x82\xac\xff\xfe\xf0\x9f",
    "\x16\x03\x01\x00\x10\x01\x02\x03",
};
#define NCORPUS (sizeof(CORPUS) / sizeof(CORPUS[0]))
static const char NOISE[] = " \t\r\n:;0aZ\x00\x7f\xff-\"#{}=&%\\[]/.?@";

static void mutate(buf_t *b) {
  for (uint32_t edits = 1 + below(4); edits > 0; edits--) {
    size_t at = b->len ? below((uint32_t)b->len) : 0;
    switch (below(8)) {
    case 0: /* replace */
      if (b->len) b->p[at] = (uint8_t)NOISE[below(sizeof(NOISE) - 1)];
      break;
    case 1: /* insert */
      buf_addc(b, 0);
      memmove(b->p + at + 1, b->p + at, b->len - at - 1);
      b->p[at] = (uint8_t)NOISE[below(sizeof(NOISE) - 1)];
      break;
    case 2: /* delete */
      if (b->len) {
        memmove(b->p + at, b->p + at + 1, b->len - at - 1);
        b->len--;
      }
      break;
    case 3: /* truncate */
      b->len = at;
      break;
    case 4: /* flip a bit */
      if (b->len) b->p[at] ^= (uint8_t)(1u << below(8));
      break;
    case 5: { /* duplicate a range */
      size_t n = below(64);
      if (at + n > b->len) n = b->len - at;
      buf_t copy = {0};
      buf_add(&copy, b->p + at, n);
      buf_add(b, copy.p, copy.len);
      buf_free(&copy);
      break;
    }
    case 6: /* a long run: headers and chunk sizes past their limits */
      for (uint32_t k = below(2) ? below(40) : 16 * 1024 + below(4096); k > 0; k--) buf_addc(b, below(2) ? 'a' : 'f');
      break;
    default: /* a number that means something to the parser */
      buf_adds(b, below(2) ? "ffffffffffffffff" : "18446744073709551616");
    }
  }
}

static void payload(buf_t *b) {
  b->len = 0;
  uint32_t mode = below(10);
  if (mode < 2) {
    for (uint32_t n = below(600); n > 0; n--) buf_addc(b, (uint8_t)rnd());
    return;
  }
  for (uint32_t parts = 1 + below(3); parts > 0; parts--) buf_adds(b, CORPUS[below(NCORPUS)]);
  if (mode < 8) mutate(b);
  if (b->len > MAX_CAPTURE) b->len = MAX_CAPTURE;
}

/* ---- streams ---- */

struct counts {
  uint64_t streams, records, redactions;
};

struct side {
  uint32_t tgid;
  int32_t fd;
  uint64_t conn_id;
};

static uint64_t ts;

static void data_record(struct engine *e, const struct side *s, buf_t *pay, buf_t *rec) {
  rec->len = 0;
  buf_grow(rec, DATA_HEADER_SIZE + pay->len);
  memset(rec->p, 0, DATA_HEADER_SIZE);
  uint32_t type = EV_DATA, tid = s->tgid + below(3), size = (uint32_t)pay->len, captured = (uint32_t)pay->len;
  if (chance(8)) size += chance(3) ? below(100) : below(2000000000);
  if (chance(50)) size = below(4); /* smaller than captured: never from BPF, handled all the same */
  uint64_t ssl = chance(4) ? 0x7f0000000000ull + below(4) : 0;
  memcpy(rec->p, &type, 4);
  memcpy(rec->p + 4, &s->tgid, 4);
  memcpy(rec->p + 8, &tid, 4);
  int32_t fd = chance(20) ? -1 : s->fd;
  memcpy(rec->p + 12, &fd, 4);
  memcpy(rec->p + 16, &ts, 8);
  memcpy(rec->p + 24, &s->conn_id, 8);
  memcpy(rec->p + 32, &ssl, 8);
  memcpy(rec->p + 40, &size, 4);
  memcpy(rec->p + 44, &captured, 4);
  rec->p[48] = (uint8_t)below(3);
  rec->p[49] = chance(6) ? SRC_TLS : SRC_SYSCALL;
  rec->p[50] = (uint8_t)below(4);
  memcpy(rec->p + 56, below(2) ? "node\0\0\0\0\0\0\0\0\0\0\0" : "curl\0\0\0\0\0\0\0\0\0\0\0\xff", 16);
  memcpy(rec->p + DATA_HEADER_SIZE, pay->p, pay->len);
  rec->len = DATA_HEADER_SIZE + pay->len;
  size_t len = rec->len;
  if (chance(100)) len = below((uint32_t)len + 1); /* cut short: malformed */
  engine_record(e, rec->p, len);
}

static void conn_record(struct engine *e, const struct side *s, bool open) {
  struct conn_event c;
  memset(&c, 0, sizeof(c));
  c.h.type = open ? EV_CONN_OPEN : EV_CONN_CLOSE;
  c.h.tgid = s->tgid;
  c.h.tid = s->tgid;
  c.h.fd = s->fd;
  c.h.ts_ns = ts;
  c.h.conn_id = s->conn_id;
  c.family = below(2) ? 2 : 10;
  c.lport = (uint16_t)rnd();
  c.rport = (uint16_t)rnd();
  c.role = (uint8_t)below(4);
  c.flags = (uint8_t)below(2);
  for (int k = 0; k < 16; k++) {
    c.laddr[k] = chance(2) ? 0 : (uint8_t)rnd();
    c.raddr[k] = chance(2) ? 0 : (uint8_t)rnd();
  }
  if (chance(3)) memcpy(c.raddr, "\0\0\0\0\0\0\0\0\0\0\xff\xff\x7f\0\0\x01", 16);
  memcpy(c.comm, "python3", 8);
  engine_record(e, &c, chance(100) ? below(sizeof(c)) : sizeof(c));
}

/* The redaction functions on their own, on any bytes (the engine only hands them valid UTF-8). */
static void redact_directly(redactor_t *r, buf_t *pay, buf_t *out, struct counts *n) {
  buf_t text = {0};
  utf8_from_bytes(&text, pay->p, pay->len);
  span_t t = span_of(text.p, text.len);
  span_t ct = span_cstr(below(2) ? "application/json" : "text/plain");
  out->len = 0;
  switch (below(6)) {
  case 0: redact_scrub(r, t, below(2), out); break;
  case 1: redact_form(r, t, below(2), out); break;
  case 2: redact_target(r, t, out); break;
  case 3: redact_url(r, t, out); break;
  case 4: redact_body(r, t, below(3) ? &ct : NULL, below(2), out); break;
  default: redact_sensitive_field(r, t);
  }
  buf_free(&text);
  n->redactions++;
}

static void one_stream(struct engine *e, redactor_t *r, struct counts *n, buf_t *pay, buf_t *rec, buf_t *out) {
  struct side sides[4];
  for (int k = 0; k < 4; k++) sides[k] = (struct side){100 + below(3), (int32_t)below(6), 1 + below(5)};
  for (uint32_t records = 1 + below(40); records > 0; records--) {
    ts += chance(10) ? below(400) * 1000000ull : below(100000);
    if (chance(40) && ts > 5000000000ull) ts -= below(1000000000); /* clocks step back: counters must not wrap */
    const struct side *s = &sides[below(4)];
    uint32_t kind = below(100);
    if (kind < 70) {
      payload(pay);
      data_record(e, s, pay, rec);
      if (chance(10)) redact_directly(r, pay, out, n);
    } else if (kind < 86) {
      conn_record(e, s, below(2));
    } else if (kind < 92) {
      engine_expire(e, ts + below(2) * 400000000000ull);
    } else if (kind < 95) {
      engine_flush_batches(e);
    } else { /* garbage: an unknown type, or a known one too short */
      uint8_t junk[64];
      for (size_t k = 0; k < sizeof(junk); k++) junk[k] = (uint8_t)rnd();
      uint32_t type = below(2) ? (uint32_t)below(200) : EV_EXEC;
      memcpy(junk, &type, 4);
      engine_record(e, junk, below(sizeof(junk) + 1));
    }
    n->records++;
  }
  if (chance(2)) engine_close_all(e, ts);
  n->streams++;
}

static struct engine *new_engine(int out_fd) {
  static const char *headers[] = {"x-custom-sensitive"};
  static const char *fields[] = {"tenantpin"};
  struct engine_options o = {
      .body_bytes = chance(3) ? 1 + below(300) : 4096,
      .max_connections = chance(2) ? 1 + below(4) : 1024,
      .idle_timeout_ns = chance(2) ? 1000000ull + below(1000000000) : 300000000000ull,
      .spans = !chance(4),
      .rows = chance(2),
      .batch_exchanges = 1 + below(64),
      .redact_headers = headers,
      .nredact_headers = 1,
      .redact_fields = fields,
      .nredact_fields = 1,
  };
  if (!o.spans && !o.rows) o.rows = true;
  struct engine *e = engine_new(&o, out_fd);
  engine_set_realtime_offset(e, 1796109142852927764ull);
  return e;
}

/* Ends an engine's streams and frees what the run held: LeakSanitizer then finds nothing left. */
static void finish(struct engine *e, redactor_t *r, buf_t *pay, buf_t *rec, buf_t *out) {
  if (e) {
    engine_close_all(e, ts);
    engine_flush_output(e);
    engine_free(e);
  }
  redactor_free(r);
  buf_free(pay);
  buf_free(rec);
  buf_free(out);
}

#ifdef LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int devnull = -1;
  if (devnull < 0) devnull = open("/dev/null", O_WRONLY);
  input = data;
  input_len = size;
  input_at = 0;
  struct counts n = {0};
  buf_t pay = {0}, rec = {0}, out = {0};
  struct engine *e = new_engine(devnull);
  redactor_t *r = redactor_new(NULL, 0, NULL, 0);
  one_stream(e, r, &n, &pay, &rec, &out);
  finish(e, r, &pay, &rec, &out);
  return 0;
}
#else
/* The sanitizers call this before they abort: which stream to replay. */
extern void __sanitizer_set_death_callback(void (*callback)(void));
static uint64_t current, current_seed;
static void on_death(void) {
  uint64_t block = current - current % 500;
  fprintf(stderr, "sensor-fuzz: died in stream %llu of seed %llu: replay with --seed %llu --first %llu --streams %llu\n",
          (unsigned long long)current, (unsigned long long)current_seed, (unsigned long long)current_seed,
          (unsigned long long)block, (unsigned long long)(current - block + 1));
}

int main(int argc, char **argv) {
  uint64_t seed = 1, first = 0, streams = 100000;
  for (int i = 1; i + 1 < argc; i += 2) {
    uint64_t v = strtoull(argv[i + 1], NULL, 10);
    if (strcmp(argv[i], "--seed") == 0) seed = v;
    else if (strcmp(argv[i], "--first") == 0) first = v;
    else if (strcmp(argv[i], "--streams") == 0) streams = v;
    else {
      fprintf(stderr, "usage: sensor-fuzz [--seed S] [--first I] [--streams N]\n");
      return 2;
    }
  }
  current_seed = seed;
  __sanitizer_set_death_callback(on_death);
  if (first % 500) fprintf(stderr, "sensor-fuzz: --first %llu is not a multiple of 500: streams come out as in a run from there\n", (unsigned long long)first);
  int devnull = open("/dev/null", O_WRONLY);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  struct counts n = {0};
  buf_t pay = {0}, rec = {0}, out = {0};
  redactor_t *r = redactor_new(NULL, 0, NULL, 0);
  struct engine *e = NULL;
  for (uint64_t i = first; i < first + streams; i++) {
    /* stream i is a function of (seed, i) alone */
    rng_state = seed * 0x100000001B3ull ^ (i * 0x9E3779B97F4A7C15ull);
    ts = 1000000000ull + i;
    /* a fresh engine every 500 streams (and for a stream replayed alone): its tables are large */
    if (!e || (i - first) % 500 == 0) {
      if (e) {
        engine_close_all(e, ts);
        engine_flush_output(e);
        engine_free(e);
      }
      e = new_engine(devnull);
    }
    current = i;
    one_stream(e, r, &n, &pay, &rec, &out);
  }
  finish(e, r, &pay, &rec, &out);
  close(devnull);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  printf("{\"seed\":%llu,\"first\":%llu,\"streams\":%llu,\"records\":%llu,\"redactions\":%llu,\"seconds\":%.1f}\n",
         (unsigned long long)seed, (unsigned long long)first, (unsigned long long)n.streams, (unsigned long long)n.records,
         (unsigned long long)n.redactions, seconds);
  return 0;
}
#endif
