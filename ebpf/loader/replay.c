/* peregrine-sensor-replay: the loader's engine without BPF. Reads a record stream
 * (`[u32 length][record]`, what the loader's --tap writes and bench:agent synthesizes) from a
 * file or stdin and writes what the live loader would write to stdout. Used by the differential
 * tests against the TypeScript reference, by bench:agent, and to replay a capture offline.
 *
 *   peregrine-sensor-replay [engine options] [FILE | -]
 *   peregrine-sensor-replay [engine options] --redact    (test hook: redaction functions, framed)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/types.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "engine.h"
#include "options.h"
#include "redact.h"
#include "sensor.h"

static uint64_t cpu_ns(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
}

static bool read_full(FILE *in, void *p, size_t n) { return fread(p, 1, n, in) == n; }

/* --redact: frames of [u8 op][payload] in, frames of results out (ebpf/agent/native.test.ts). */
enum redact_op { OP_SCRUB = 1, OP_SCRUB_TRUNCATED, OP_TARGET, OP_FORM, OP_URL, OP_BODY, OP_FIELD, OP_HEADER };

static int redact_loop(const struct engine_options *o, FILE *in) {
  redactor_t *r = redactor_new(o->redact_headers, o->nredact_headers, o->redact_fields, o->nredact_fields);
  buf_t frame = {0}, out = {0};
  uint32_t len;
  while (read_full(in, &len, 4)) {
    frame.len = 0;
    buf_grow(&frame, len);
    if (!read_full(in, frame.p, len) || len < 1) break;
    frame.len = len;
    span_t arg = span_of(frame.p + 1, len - 1);
    out.len = 0;
    switch (frame.p[0]) {
    case OP_SCRUB: redact_scrub(r, arg, false, &out); break;
    case OP_SCRUB_TRUNCATED: redact_scrub(r, arg, true, &out); break;
    case OP_TARGET: redact_target(r, arg, &out); break;
    case OP_FORM: redact_form(r, arg, false, &out); break;
    case OP_URL: redact_url(r, arg, &out); break;
    case OP_BODY: {
      /* u8 truncated, u32 content-type length (0xffffffff: none), content type, body */
      if (arg.n < 5) break;
      bool truncated = arg.p[0];
      uint32_t ct_len;
      memcpy(&ct_len, arg.p + 1, 4);
      size_t at = 5;
      span_t ct = {0};
      bool has_ct = ct_len != 0xffffffffu;
      if (has_ct) {
        if (at + ct_len > arg.n) break;
        ct = span_of(arg.p + at, ct_len);
        at += ct_len;
      }
      redact_body(r, span_of(arg.p + at, arg.n - at), has_ct ? &ct : NULL, truncated, &out);
      break;
    }
    case OP_FIELD: buf_addc(&out, redact_sensitive_field(r, arg) ? '1' : '0'); break;
    case OP_HEADER: buf_addc(&out, (uint8_t)('0' + redact_header_verdict(r, arg))); break;
    }
    uint32_t n = (uint32_t)out.len;
    fwrite(&n, 4, 1, stdout);
    fwrite(out.p, 1, out.len, stdout);
  }
  fflush(stdout);
  buf_free(&frame);
  buf_free(&out);
  redactor_free(r);
  return 0;
}

int main(int argc, char **argv) {
  struct engine_cli cli;
  engine_cli_defaults(&cli);
  bool redact = false;
  static const struct option options[] = {ENGINE_LONG_OPTIONS, {"redact", no_argument, 0, 'r'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  int opt;
  while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
    int handled = engine_cli_option(&cli, opt, optarg);
    if (handled < 0) return 2;
    if (handled) continue;
    if (opt == 'r') {
      redact = true;
    } else {
      fprintf(opt == 'h' ? stdout : stderr, "usage: peregrine-sensor-replay [options] [FILE|-]\n" ENGINE_USAGE);
      return opt == 'h' ? 0 : 2;
    }
  }
  const char *path = optind < argc ? argv[optind] : "-";
  FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (!in) {
    fprintf(stderr, "peregrine-sensor-replay: %s: %s\n", path, strerror(errno));
    return 1;
  }
  static char inbuf[1 << 20];
  setvbuf(in, inbuf, _IOFBF, sizeof(inbuf));
  if (redact) return redact_loop(&cli.opts, in);

  struct engine *e = engine_new(&cli.opts, STDOUT_FILENO);
  buf_t rec = {0};
  uint32_t len;
  uint64_t stream_ns = 0;
  struct stats_record stats = {0};
  int status = 0;
  while (read_full(in, &len, 4)) {
    if (len > (1u << 24)) {
      fprintf(stderr, "peregrine-sensor-replay: frame of %u bytes: the stream is out of sync\n", len);
      status = 1;
      break;
    }
    rec.len = 0;
    buf_grow(&rec, len);
    if (!read_full(in, rec.p, len)) break;
    rec.len = len;
    uint32_t type = len >= 4 ? *(uint32_t *)rec.p : 0;
    if (type == EV_HELLO && len >= sizeof(struct hello_record)) {
      struct hello_record hello;
      memcpy(&hello, rec.p, sizeof(hello));
      engine_set_realtime_offset(e, hello.realtime_minus_monotonic_ns);
      engine_write_frame(e, &hello, sizeof(hello));
      continue;
    }
    if (type == EV_STATS) {
      /* The captured loader's BPF figures, this engine's own: a tick of the stream's clock. */
      size_t head = offsetof(struct stats_record, engine_count);
      memset(&stats, 0, sizeof(stats));
      memcpy(&stats, rec.p, len < head ? len : head);
      if (stats.monotonic_ns > stream_ns) stream_ns = stats.monotonic_ns;
      engine_expire(e, stream_ns);
      engine_flush_batches(e);
      stats.loader_cpu_ns = cpu_ns();
      stats.monotonic_ns = stream_ns;
      engine_write_stats(e, &stats);
      continue;
    }
    uint64_t ts = engine_record(e, rec.p, rec.len);
    if (ts > stream_ns) stream_ns = ts;
  }
  engine_close_all(e, stream_ns);
  stats.loader_cpu_ns = cpu_ns();
  stats.monotonic_ns = stream_ns;
  engine_write_stats(e, &stats);
  engine_flush_output(e);
  engine_free(e);
  buf_free(&rec);
  if (in != stdin) fclose(in);
  return status;
}
