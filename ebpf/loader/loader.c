// SPDX-License-Identifier: GPL-2.0
/* peregrine-sensor: loads the sensor's BPF programs, attaches them, drains the ring buffer and
 * runs the records through the engine (engine.h: reassembly, HTTP parsing, pairing, redaction,
 * OTLP span and Pixie row encoding); writes what the TypeScript agent (`peregrine sensor`) needs
 * to stdout.
 *
 * Framing on stdout: [u32 length, little-endian][record of that length], repeated: EV_HELLO,
 * EV_STATS (each --stats-interval-ms), EV_CONN_OPEN/CLOSE and EV_EXEC as BPF wrote them, and
 * batches of finished exchanges (EV_SPANS, EV_ROWS) every --batch exchanges or 100 ms. The data
 * records themselves stay here (--tap FILE keeps them, with everything else, for a replay).
 * Human-readable messages go to stderr, one per line.
 *
 * Exit codes: 0 clean stop (SIGINT/SIGTERM/stdout closed), 2 bad usage, 3 BPF not available
 * here (permission, BTF, tracefs), 1 anything else. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "engine.h"
#include "options.h"
#include "sensor.h"
#include "sensor.skel.h"

#define EXIT_UNAVAILABLE 3
#define MAX_TLS_TARGETS 32
#define MAX_EXCLUDED 32

/* Batches go to the agent at least this often while exchanges come in. */
#define BATCH_AGE_NS 100000000ull
/* Idle connections are looked for once a second (stream time is the clock here). */
#define EXPIRY_INTERVAL_NS 1000000000ull

static volatile sig_atomic_t stopping;
static bool quiet_libbpf;
static struct engine *engine;
static FILE *tap;
static uint64_t stream_ns; /* the latest record time seen */
static bool raw; /* --raw: every record forwarded as BPF wrote it, no engine (bench:sensor's floor) */

static void on_signal(int sig) { stopping = 1; }

static void say(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("peregrine-sensor: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap) {
  if (level == LIBBPF_DEBUG || quiet_libbpf) return 0;
  return vfprintf(stderr, fmt, ap);
}

static uint64_t clock_ns(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* --tap: the raw record stream, as a replay reads it. */
static void tap_record(const void *data, uint32_t len) {
  if (!tap) return;
  if (fwrite(&len, sizeof(len), 1, tap) != 1 || fwrite(data, len, 1, tap) != 1) {
    say("--tap: write failed, no longer tapping");
    fclose(tap);
    tap = NULL;
  }
}

static int on_event(void *ctx, void *data, size_t len) {
  tap_record(data, (uint32_t)len);
  if (raw) {
    engine_write_frame(engine, data, (uint32_t)len);
    return 0;
  }
  uint64_t ts = engine_record(engine, data, len);
  if (ts > stream_ns) stream_ns = ts;
  return 0;
}

static void usage(FILE *to) {
  fprintf(to,
          "usage: peregrine-sensor [--capture-bytes N] [--ringbuf-mb N] [--wakeup-kb N]\n"
          "                        [--exclude-pid PID]... [--tls-target PATH]...\n"
          "                        [--stats-interval-ms N] [--tap FILE] [--raw] [--check] [--verbose]\n" ENGINE_USAGE);
}

/* Everything a kernel or a user may lack, said in words before libbpf says it in errno. */
static int preflight(void) {
  if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
    say("BPF unavailable: this kernel has no BTF (/sys/kernel/btf/vmlinux missing; needs "
        "CONFIG_DEBUG_INFO_BTF=y): CO-RE programs cannot be relocated");
    return -1;
  }
  struct stat st;
  if (stat("/sys/kernel/tracing/events/syscalls", &st) != 0 && (errno == EACCES || errno == EPERM)) {
    say("BPF unavailable: permission denied (running as uid %d): run as root, or with CAP_BPF, "
        "CAP_PERFMON and read access to tracefs", (int)geteuid());
    return -1;
  }
  if (stat("/sys/kernel/tracing/events/syscalls", &st) != 0 &&
      stat("/sys/kernel/debug/tracing/events/syscalls", &st) != 0) {
    /* tracefs is often simply not mounted; as root we can fix that ourselves */
    if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL) != 0 ||
        stat("/sys/kernel/tracing/events/syscalls", &st) != 0) {
      say("BPF unavailable: tracefs is not mounted and could not be mounted (%s): run "
          "`mount -t tracefs nodev /sys/kernel/tracing` as root (ebpf/install-deps.sh does)",
          strerror(errno));
      return -1;
    }
    say("mounted tracefs on /sys/kernel/tracing");
  }
  return 0;
}

static int attach_tls_target(struct sensor *skel, const char *path, struct bpf_link **links,
                             int *nlinks, int max_links) {
  struct {
    const char *symbol;
    struct bpf_program *enter, *exit;
  } probes[] = {
      {"SSL_read", skel->progs.ssl_read_enter, skel->progs.ssl_read_exit},
      {"SSL_write", skel->progs.ssl_write_enter, skel->progs.ssl_write_exit},
      {"SSL_read_ex", skel->progs.ssl_read_ex_enter, skel->progs.ssl_read_ex_exit},
      {"SSL_write_ex", skel->progs.ssl_write_ex_enter, skel->progs.ssl_write_ex_exit},
  };
  if (access(path, R_OK) != 0) {
    say("TLS target %s: %s, skipped", path, strerror(errno));
    return 0;
  }
  char attached[128] = "";
  int count = 0;
  quiet_libbpf = true; /* a binary without some of the symbols is normal; say it once, below */
  for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
    if (*nlinks + 2 > max_links) break;
    LIBBPF_OPTS(bpf_uprobe_opts, enter_opts, .func_name = probes[i].symbol, .retprobe = false);
    LIBBPF_OPTS(bpf_uprobe_opts, exit_opts, .func_name = probes[i].symbol, .retprobe = true);
    struct bpf_link *enter = bpf_program__attach_uprobe_opts(probes[i].enter, -1, path, 0, &enter_opts);
    if (!enter) continue;
    struct bpf_link *exit = bpf_program__attach_uprobe_opts(probes[i].exit, -1, path, 0, &exit_opts);
    if (!exit) {
      bpf_link__destroy(enter);
      continue;
    }
    links[(*nlinks)++] = enter;
    links[(*nlinks)++] = exit;
    strncat(attached, count ? "," : "", sizeof(attached) - strlen(attached) - 1);
    strncat(attached, probes[i].symbol, sizeof(attached) - strlen(attached) - 1);
    count++;
  }
  quiet_libbpf = false;
  if (count)
    say("TLS target %s: attached %s", path, attached);
  else
    say("TLS target %s: no SSL_read/SSL_write symbols, skipped", path);
  return count;
}

static void write_stats(struct sensor *skel) {
  struct stats_record rec = {.type = EV_STATS, .counter_count = CNT_MAX};
  int ncpus = libbpf_num_possible_cpus();
  if (ncpus > 0) {
    uint64_t *values = calloc(ncpus, sizeof(uint64_t));
    for (uint32_t key = 0; values && key < CNT_MAX; key++) {
      if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.counters), &key, values) != 0) continue;
      for (int cpu = 0; cpu < ncpus; cpu++) rec.counters[key] += values[cpu];
    }
    free(values);
  }
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) == 0)
    rec.loader_cpu_ns = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
                        (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
  struct bpf_program *prog;
  bpf_object__for_each_program(prog, skel->obj) {
    struct bpf_prog_info info = {};
    uint32_t len = sizeof(info);
    int fd = bpf_program__fd(prog);
    if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) != 0) continue;
    rec.bpf_run_time_ns += info.run_time_ns;
    rec.bpf_run_count += info.run_cnt;
  }
  rec.monotonic_ns = clock_ns(CLOCK_MONOTONIC);
  tap_record(&rec, offsetof(struct stats_record, engine_count));
  engine_write_stats(engine, &rec);
}

int main(int argc, char **argv) {
  uint32_t capture_bytes = 4096, ringbuf_mb = 16, wakeup_kb = 256, stats_interval_ms = 1000;
  uint32_t excluded[MAX_EXCLUDED];
  int nexcluded = 0;
  const char *tls_targets[MAX_TLS_TARGETS];
  int ntls = 0;
  bool check_only = false, verbose = false;
  const char *tap_path = NULL;
  struct engine_cli cli;
  engine_cli_defaults(&cli);

  static const struct option options[] = {
      {"capture-bytes", required_argument, 0, 'c'}, {"ringbuf-mb", required_argument, 0, 'r'},
      {"wakeup-kb", required_argument, 0, 'w'},     {"exclude-pid", required_argument, 0, 'x'},
      {"tls-target", required_argument, 0, 't'},    {"stats-interval-ms", required_argument, 0, 's'},
      {"tap", required_argument, 0, 'T'},           {"raw", no_argument, 0, 'R'},
      {"check", no_argument, 0, 'k'},
      {"verbose", no_argument, 0, 'v'},             {"help", no_argument, 0, 'h'},
      ENGINE_LONG_OPTIONS,                          {0, 0, 0, 0}};
  int opt;
  while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
    int handled = engine_cli_option(&cli, opt, optarg);
    if (handled < 0) return 2;
    if (handled) continue;
    char *end = NULL;
    unsigned long value = optarg ? strtoul(optarg, &end, 10) : 0;
    bool numeric_ok = optarg && end && *end == '\0' && end != optarg;
    switch (opt) {
    case 'c':
      if (!numeric_ok || value < 1 || value > MAX_CAPTURE) {
        say("--capture-bytes must be 1..%d", MAX_CAPTURE);
        return 2;
      }
      capture_bytes = value;
      break;
    case 'r':
      if (!numeric_ok || value < 1 || value > 1024 || (value & (value - 1))) {
        say("--ringbuf-mb must be a power of two, 1..1024");
        return 2;
      }
      ringbuf_mb = value;
      break;
    case 'w':
      if (!numeric_ok) { say("--wakeup-kb must be a number"); return 2; }
      wakeup_kb = value;
      break;
    case 'x':
      if (!numeric_ok || nexcluded >= MAX_EXCLUDED) { say("bad --exclude-pid %s", optarg); return 2; }
      excluded[nexcluded++] = value;
      break;
    case 't':
      if (ntls >= MAX_TLS_TARGETS) { say("at most %d --tls-target", MAX_TLS_TARGETS); return 2; }
      tls_targets[ntls++] = optarg;
      break;
    case 's':
      if (!numeric_ok || value < 10) { say("--stats-interval-ms must be >= 10"); return 2; }
      stats_interval_ms = value;
      break;
    case 'T': tap_path = optarg; break;
    case 'R': raw = true; break;
    case 'k': check_only = true; break;
    case 'v': verbose = true; break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
  }
  (void)verbose;

  prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the agent */
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  libbpf_set_print(libbpf_log);

  if (preflight() != 0) return EXIT_UNAVAILABLE;

  struct sensor *skel = sensor__open();
  if (!skel) {
    say("cannot open the BPF object: %s", strerror(errno));
    return 1;
  }
  skel->rodata->capture_bytes = capture_bytes;
  skel->rodata->wakeup_bytes = (uint64_t)wakeup_kb * 1024;
  bpf_map__set_max_entries(skel->maps.events, ringbuf_mb * 1024 * 1024);
  int ncpus = libbpf_num_possible_cpus();
  if (ncpus > 0) bpf_map__set_max_entries(skel->maps.data_scratch, ncpus);

  int err = sensor__load(skel);
  if (err) {
    int e = -err;
    if (e == EACCES)
      say("BPF unavailable: the kernel's verifier rejected a program (its log is above)");
    else if (e == EPERM)
      say("BPF unavailable: loading the programs was refused (%s): run as root or with "
          "CAP_BPF+CAP_PERFMON; a kernel lockdown in confidentiality mode also forbids it",
          strerror(e));
    else
      say("BPF unavailable: loading the programs failed: %s", strerror(e));
    sensor__destroy(skel);
    return EXIT_UNAVAILABLE;
  }

  uint8_t one = 1;
  uint32_t self[2] = {(uint32_t)getpid(), (uint32_t)getppid()};
  for (int i = 0; i < 2; i++) bpf_map_update_elem(bpf_map__fd(skel->maps.excluded_tgids), &self[i], &one, BPF_ANY);
  for (int i = 0; i < nexcluded; i++)
    bpf_map_update_elem(bpf_map__fd(skel->maps.excluded_tgids), &excluded[i], &one, BPF_ANY);

  err = sensor__attach(skel);
  if (err) {
    say("BPF unavailable: attaching the tracepoints failed: %s", strerror(-err));
    sensor__destroy(skel);
    return EXIT_UNAVAILABLE;
  }

  struct bpf_link *tls_links[MAX_TLS_TARGETS * 8];
  int ntls_links = 0;
  for (int i = 0; i < ntls; i++)
    attach_tls_target(skel, tls_targets[i], tls_links, &ntls_links, MAX_TLS_TARGETS * 8);

  if (check_only) {
    say("ok: programs loaded and attached");
    for (int i = 0; i < ntls_links; i++) bpf_link__destroy(tls_links[i]);
    sensor__destroy(skel);
    return 0;
  }

  if (tap_path && !(tap = fopen(tap_path, "wb"))) say("--tap %s: %s, not tapping", tap_path, strerror(errno));
  engine = engine_new(&cli.opts, STDOUT_FILENO);
  struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_event, NULL, NULL);
  if (!rb) {
    say("cannot open the ring buffer: %s", strerror(errno));
    sensor__destroy(skel);
    return 1;
  }

  struct hello_record hello = {
      .type = EV_HELLO,
      .version = ENGINE_STATS_VERSION,
      .realtime_minus_monotonic_ns = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC),
      .capture_bytes = capture_bytes,
      .loader_pid = (uint32_t)getpid(),
  };
  engine_set_realtime_offset(engine, hello.realtime_minus_monotonic_ns);
  tap_record(&hello, sizeof(hello));
  engine_write_frame(engine, &hello, sizeof(hello));
  engine_flush_output(engine);
  say("running: capture %u bytes per chunk, ring buffer %u MiB", capture_bytes, ringbuf_mb);

  uint64_t now = clock_ns(CLOCK_MONOTONIC);
  uint64_t next_stats = now, next_expiry = now + EXPIRY_INTERVAL_NS, batch_since = 0;
  while (!stopping) {
    /* Wakeups are batched in BPF (BPF_RB_NO_WAKEUP below a threshold), so a poll can time out
     * with records waiting: consume after every poll. */
    err = ring_buffer__poll(rb, 100);
    if (err < 0 && err != -EINTR) {
      say("ring buffer poll failed: %s", strerror(-err));
      break;
    }
    ring_buffer__consume(rb);
    now = clock_ns(CLOCK_MONOTONIC);
    if (now >= next_expiry) {
      /* what the ring buffer held is in: the clock is the stream's time */
      engine_expire(engine, now > stream_ns ? now : stream_ns);
      next_expiry = now + EXPIRY_INTERVAL_NS;
    }
    if (engine_batched(engine)) {
      if (!batch_since) batch_since = now;
      if (now - batch_since >= BATCH_AGE_NS) {
        engine_flush_batches(engine);
        batch_since = 0;
      }
    } else {
      batch_since = 0;
    }
    if (now >= next_stats) {
      write_stats(skel);
      next_stats = now + (uint64_t)stats_interval_ms * 1000000ull;
    }
    if (!engine_flush_output(engine)) stopping = 1; /* the agent is gone */
  }
  /* Drain what is left, complete what the close allows, report the final counters, flush. */
  ring_buffer__consume(rb);
  now = clock_ns(CLOCK_MONOTONIC);
  engine_close_all(engine, now > stream_ns ? now : stream_ns);
  write_stats(skel);
  engine_flush_output(engine);
  if (tap) fclose(tap);

  ring_buffer__free(rb);
  for (int i = 0; i < ntls_links; i++) bpf_link__destroy(tls_links[i]);
  sensor__destroy(skel);
  engine_free(engine);
  return 0;
}
