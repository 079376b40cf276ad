/* The engine's command-line options, shared by the loader (live) and the replay tool. */
#ifndef PEREGRINE_OPTIONS_H
#define PEREGRINE_OPTIONS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

#define MAX_REDACT_NAMES 64

/* getopt_long codes of the engine's options (above 255: no short forms). */
enum {
  OPT_BODY_BYTES = 300,
  OPT_MAX_CONNECTIONS,
  OPT_IDLE_TIMEOUT_MS,
  OPT_EMIT,
  OPT_BATCH,
  OPT_REDACT_HEADER,
  OPT_REDACT_FIELD,
};

#define ENGINE_LONG_OPTIONS                                                                                        \
  {"body-bytes", required_argument, 0, OPT_BODY_BYTES}, {"max-connections", required_argument, 0, OPT_MAX_CONNECTIONS}, \
      {"idle-timeout-ms", required_argument, 0, OPT_IDLE_TIMEOUT_MS}, {"emit", required_argument, 0, OPT_EMIT},         \
      {"batch", required_argument, 0, OPT_BATCH}, {"redact-header", required_argument, 0, OPT_REDACT_HEADER},           \
      {"redact-field", required_argument, 0, OPT_REDACT_FIELD}

#define ENGINE_USAGE                                                                                        \
  "  engine: [--body-bytes N] [--max-connections N] [--idle-timeout-ms N] [--emit spans|rows|spans,rows]\n" \
  "          [--batch N] [--redact-header NAME]... [--redact-field NAME]...\n"

struct engine_cli {
  struct engine_options opts;
  const char *headers[MAX_REDACT_NAMES];
  const char *fields[MAX_REDACT_NAMES];
};

static inline void engine_cli_defaults(struct engine_cli *c) {
  memset(c, 0, sizeof(*c));
  c->opts.body_bytes = 4096;
  c->opts.max_connections = 16384;
  c->opts.idle_timeout_ns = 300ull * 1000000000ull;
  c->opts.spans = true;
  c->opts.batch_exchanges = 1024;
  c->opts.redact_headers = c->headers;
  c->opts.redact_fields = c->fields;
}

/* 1: handled, 0: not an engine option, -1: bad value (said on stderr). */
static inline int engine_cli_option(struct engine_cli *c, int opt, const char *arg) {
  char *end = NULL;
  unsigned long long v = arg ? strtoull(arg, &end, 10) : 0;
  bool numeric = arg && end && *end == '\0' && end != arg;
  switch (opt) {
  case OPT_BODY_BYTES:
    if (!numeric || v < 1 || v > 1 << 20) return fprintf(stderr, "peregrine-sensor: --body-bytes must be 1..1048576\n"), -1;
    c->opts.body_bytes = (uint32_t)v;
    return 1;
  case OPT_MAX_CONNECTIONS:
    if (!numeric || v < 1 || v > 1 << 24) return fprintf(stderr, "peregrine-sensor: --max-connections must be 1..16777216\n"), -1;
    c->opts.max_connections = (uint32_t)v;
    return 1;
  case OPT_IDLE_TIMEOUT_MS:
    if (!numeric || v < 1) return fprintf(stderr, "peregrine-sensor: --idle-timeout-ms must be a positive number\n"), -1;
    c->opts.idle_timeout_ns = v * 1000000ull;
    return 1;
  case OPT_EMIT:
    c->opts.spans = strstr(arg, "spans") != NULL;
    c->opts.rows = strstr(arg, "rows") != NULL;
    if (!c->opts.spans && !c->opts.rows) return fprintf(stderr, "peregrine-sensor: --emit takes spans, rows or spans,rows\n"), -1;
    return 1;
  case OPT_BATCH:
    if (!numeric || v < 1 || v > 1 << 20) return fprintf(stderr, "peregrine-sensor: --batch must be 1..1048576\n"), -1;
    c->opts.batch_exchanges = (uint32_t)v;
    return 1;
  case OPT_REDACT_HEADER:
    if (c->opts.nredact_headers >= MAX_REDACT_NAMES) return fprintf(stderr, "peregrine-sensor: too many --redact-header\n"), -1;
    c->headers[c->opts.nredact_headers++] = arg;
    return 1;
  case OPT_REDACT_FIELD:
    if (c->opts.nredact_fields >= MAX_REDACT_NAMES) return fprintf(stderr, "peregrine-sensor: too many --redact-field\n"), -1;
    c->fields[c->opts.nredact_fields++] = arg;
    return 1;
  }
  return 0;
}

#endif
