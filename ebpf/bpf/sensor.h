/* Event records shared by the BPF programs (sensor.bpf.c), the loader (loader/loader.c) and the
 * TypeScript decoder (agent/frames.ts mirrors these offsets). Little-endian, naturally aligned,
 * no implicit padding: change one side, change all three. */
#ifndef PEREGRINE_SENSOR_H
#define PEREGRINE_SENSOR_H

#define MAX_CAPTURE 16384 /* upper bound of the per-chunk capture (runtime value: capture_bytes) */
#define MAX_IOV 16        /* iovecs walked per readv/writev/sendmsg/recvmsg */
#define COMM_LEN 16
#define FILENAME_LEN 256
#define ARGS_LEN 1024

enum event_type {
  EV_DATA = 1,
  EV_CONN_OPEN = 2,
  EV_CONN_CLOSE = 3,
  EV_EXEC = 4,
  /* written by the loader, never by BPF */
  EV_HELLO = 100,
  EV_STATS = 101,
  EV_SPANS = 102, /* encoded OTLP spans, grouped by process (loader/engine.h) */
  EV_ROWS = 103,  /* Pixie http_events rows as JSON (loader/engine.h) */
};

enum role { ROLE_UNKNOWN = 0, ROLE_CLIENT = 1, ROLE_SERVER = 2 };
enum direction { DIR_EGRESS = 0, DIR_INGRESS = 1 };
enum source { SRC_SYSCALL = 0, SRC_TLS = 1 };
enum conn_flags { CONN_PREEXISTING = 1 };

/* 32 bytes, first in every record. ts_ns is CLOCK_MONOTONIC (bpf_ktime_get_ns). */
struct event_header {
  __u32 type;
  __u32 tgid;
  __u32 tid;
  __s32 fd;
  __u64 ts_ns;
  __u64 conn_id; /* unique per connection instance: ktime at first sight; 0 = unknown */
};

/* One read/write (syscall or SSL_*): the true size and the first `captured` bytes. */
struct data_event {
  struct event_header h; /* 0 */
  __u64 ssl_ptr;         /* 32: SSL* for TLS events, else 0 */
  __u32 size;            /* 40: true byte count of the call */
  __u32 captured;        /* 44: bytes in data[] */
  __u8 direction;        /* 48 */
  __u8 source;           /* 49 */
  __u8 role;             /* 50 */
  __u8 pad[5];           /* 51 */
  char comm[COMM_LEN];   /* 56 */
  __u8 data[3 * MAX_CAPTURE]; /* 72: offset (< cap) + length (masked to < 2 cap) always fits */
};
#define DATA_HEADER_SIZE 72

struct conn_event {
  struct event_header h; /* 0 */
  __u64 bytes_sent;      /* 32 */
  __u64 bytes_recv;      /* 40 */
  __u64 cgroup_id;       /* 48 */
  __u16 family;          /* 56: AF_INET 2, AF_INET6 10 */
  __u16 lport;           /* 58: host order */
  __u16 rport;           /* 60: host order */
  __u8 role;             /* 62 */
  __u8 flags;            /* 63: CONN_PREEXISTING */
  __u8 laddr[16];        /* 64: 4 bytes for IPv4 */
  __u8 raddr[16];        /* 80 */
  char comm[COMM_LEN];   /* 96 */
};                       /* 112 */

struct exec_event {
  struct event_header h;        /* 0 */
  __u32 ppid;                   /* 32 */
  __u32 uid;                    /* 36 */
  __u64 cgroup_id;              /* 40 */
  __u32 args_len;               /* 48: bytes of NUL-separated argv in args[] */
  __u32 pad;                    /* 52 */
  char comm[COMM_LEN];          /* 56 */
  char filename[FILENAME_LEN];  /* 72 */
  char args[ARGS_LEN];          /* 328 */
};
#define EXEC_HEADER_SIZE 328

/* Per-CPU counters the loader sums and reports in EV_STATS. */
enum counter {
  CNT_RINGBUF_DROPS = 0, /* events lost because the ring buffer was full */
  CNT_DATA_EVENTS = 1,
  CNT_CONN_EVENTS = 2,
  CNT_EXEC_EVENTS = 3,
  CNT_TLS_UNRESOLVED = 4, /* SSL_* calls whose socket could not be found */
  CNT_MAX = 8,
};

#endif
