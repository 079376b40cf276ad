// SPDX-License-Identifier: GPL-2.0
/* Peregrine node sensor: TCP socket I/O (syscall tracepoints), TLS plaintext (OpenSSL uprobes)
 * and process execs, streamed to user space through one ring buffer.
 *
 * Only tracepoints and uprobes: the target kernels have neither kprobes nor fentry. Data is
 * captured at syscall exit, so sizes are what the kernel really moved. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "sensor.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define IPPROTO_TCP 6
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define EINPROGRESS 115

/* Set by the loader before load. */
const volatile __u32 capture_bytes = 4096;
const volatile __u64 wakeup_bytes = 256 * 1024; /* wake the reader only when this much is queued */

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 16 * 1024 * 1024); /* the loader may resize */
} events SEC(".maps");

struct conn_key {
  __u32 tgid;
  __s32 fd;
};

struct conn_val {
  __u64 id;
  __u64 bytes_sent;
  __u64 bytes_recv;
  __u8 role;
  __u8 tls; /* the fd carries TLS: its syscall bytes are ciphertext, not worth sending */
  __u8 pad[6];
};

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct conn_key);
  __type(value, struct conn_val);
} conns SEC(".maps");

enum io_kind { IO_PLAIN = 0, IO_IOV = 1 }; /* a buffer, or an iovec array */

/* An SSL_* call in flight on a thread, between uprobe and uretprobe. */
struct ssl_call {
  __u64 ssl;
  __u64 buf;
  __u64 len_ptr; /* size_t* of the _ex variants */
  __s32 fd;      /* socket touched inside the call (socket BIO), -1 if none */
  __u8 op;       /* 0: no SSL_* call in flight on this thread */
  __u8 pad[3];
};

/* What a thread has in flight. Task storage, found by pointer rather than hashed: every socket
 * syscall exit looks here. */
struct task_state {
  struct ssl_call ssl;
};

struct {
  __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct task_state);
} task_states SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16384);
  __type(key, __u64);
  __type(value, __s32);
} connect_args SEC(".maps");

enum ssl_op { SSL_OP_READ = 1, SSL_OP_WRITE = 2, SSL_OP_READ_EX = 3, SSL_OP_WRITE_EX = 4 };

struct ssl_key {
  __u64 ssl;
  __u32 tgid;
  __u32 pad;
};

struct fd_ref {
  __s32 fd;
  __u32 pad;
  __u64 conn_id;
};

/* SSL* -> socket, learned once and checked against the live connection before use. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct ssl_key);
  __type(value, struct fd_ref);
} ssl_fds SEC(".maps");

/* The socket a thread last read from: Node's TLS reads ciphertext with read() and then calls
 * SSL_read on the same thread from the read callback, with no syscall inside SSL_read. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 16384);
  __type(key, __u32); /* tid */
  __type(value, struct fd_ref);
} thread_last_read SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u8);
} excluded_tgids SEC(".maps");

/* One slot per CPU (the loader sizes it): a per-CPU array's values are capped at 32 KiB, and
 * this program cannot migrate between CPUs while it runs. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 256);
  __type(key, __u32);
  __type(value, struct data_event);
} data_scratch SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct exec_event);
} exec_scratch SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, CNT_MAX);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

static __always_inline void count(__u32 which) {
  __u64 *c = bpf_map_lookup_elem(&counters, &which);
  if (c) *c += 1;
}

static __always_inline __u64 wakeup_flag(void) {
  return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP
                                                                        : BPF_RB_NO_WAKEUP;
}

static __always_inline bool is_excluded(__u32 tgid) {
  return bpf_map_lookup_elem(&excluded_tgids, &tgid) != NULL;
}

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

/* fd -> its struct file if it is a socket, else NULL. Every read and write on the node comes
 * through here (files, pipes, ttys too): the task's fd table is walked with direct loads through
 * BTF pointers, one helper call in all, so that rejecting a non-socket costs little. */
static __always_inline struct file *socket_file_of_fd(int fd) {
  if (fd < 0) return NULL;
  struct task_struct *task = bpf_get_current_task_btf();
  struct fdtable *fdt = task->files->fdt;
  if (!fdt || (unsigned int)fd >= fdt->max_fds) return NULL;
  struct file **fds = fdt->fd;
  struct file *raw = NULL;
  bpf_probe_read_kernel(&raw, sizeof(raw), &fds[fd]);
  if (!raw) return NULL;
  struct file *file = bpf_rdonly_cast(raw, bpf_core_type_id_kernel(struct file));
  if ((file->f_inode->i_mode & S_IFMT) != S_IFSOCK) return NULL;
  return raw;
}

/* fd -> struct sock of a TCP/IP socket of the current task, or NULL (pipes, files, unix, udp). */
static __always_inline struct sock *tcp_sock_of_fd(int fd) {
  struct file *file = socket_file_of_fd(fd);
  if (!file) return NULL;
  struct socket *sock = BPF_CORE_READ(file, private_data);
  if (!sock) return NULL;
  if (BPF_CORE_READ(sock, type) != SOCK_STREAM) return NULL;
  struct sock *sk = BPF_CORE_READ(sock, sk);
  if (!sk) return NULL;
  __u16 proto = BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
  __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
  if (proto != IPPROTO_TCP || (family != AF_INET && family != AF_INET6)) return NULL;
  return sk;
}

static __always_inline void emit_conn(__u32 type, __u32 tgid, int fd, struct conn_val *conn,
                                      struct sock *sk, __u8 flags) {
  struct conn_event ev = {};
  __u64 id = bpf_get_current_pid_tgid();
  ev.h.type = type;
  ev.h.tgid = tgid;
  ev.h.tid = (__u32)id;
  ev.h.fd = fd;
  ev.h.ts_ns = bpf_ktime_get_ns();
  ev.h.conn_id = conn->id;
  ev.bytes_sent = conn->bytes_sent;
  ev.bytes_recv = conn->bytes_recv;
  ev.cgroup_id = bpf_get_current_cgroup_id();
  ev.role = conn->role;
  ev.flags = flags;
  bpf_get_current_comm(&ev.comm, sizeof(ev.comm));
  if (sk) {
    __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
    ev.family = family;
    ev.lport = BPF_CORE_READ(sk, __sk_common.skc_num);
    ev.rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
    if (family == AF_INET) {
      BPF_CORE_READ_INTO(&ev.laddr, sk, __sk_common.skc_rcv_saddr);
      BPF_CORE_READ_INTO(&ev.raddr, sk, __sk_common.skc_daddr);
    } else {
      BPF_CORE_READ_INTO(&ev.laddr, sk, __sk_common.skc_v6_rcv_saddr);
      BPF_CORE_READ_INTO(&ev.raddr, sk, __sk_common.skc_v6_daddr);
    }
  }
  if (bpf_ringbuf_output(&events, &ev, sizeof(ev), wakeup_flag()))
    count(CNT_RINGBUF_DROPS);
  else
    count(CNT_CONN_EVENTS);
}

/* A new connection instance on (tgid, fd): replaces whatever was there (fd reuse). */
static __always_inline struct conn_val *open_conn(__u32 tgid, int fd, struct sock *sk, __u8 role,
                                                  __u8 flags) {
  struct conn_key key = {.tgid = tgid, .fd = fd};
  struct conn_val val = {};
  val.id = bpf_ktime_get_ns();
  val.role = role;
  bpf_map_update_elem(&conns, &key, &val, BPF_ANY);
  struct conn_val *conn = bpf_map_lookup_elem(&conns, &key);
  if (conn) emit_conn(EV_CONN_OPEN, tgid, fd, conn, sk, flags);
  return conn;
}

/* The tracked connection of (tgid, fd); a TCP socket first seen now (opened before the sensor
 * started, or by a path we do not trace) is tracked from here with its role unknown. */
static __always_inline struct conn_val *lookup_or_adopt(__u32 tgid, int fd) {
  struct conn_key key = {.tgid = tgid, .fd = fd};
  struct conn_val *conn = bpf_map_lookup_elem(&conns, &key);
  if (conn) return conn; /* excluded processes never get one: accept/connect and this check them */
  if (is_excluded(tgid)) return NULL;
  struct sock *sk = tcp_sock_of_fd(fd);
  if (!sk) return NULL;
  return open_conn(tgid, fd, sk, ROLE_UNKNOWN, CONN_PREEXISTING);
}

/* Copies the first min(bytes, capture_bytes) bytes (from a buffer or an iovec array) and sends
 * them with the true size. Whether they start like a TLS record (content type 20..23, version
 * 3.x): read from the copy, not from user memory again. */
static __always_inline bool emit_data(__u32 tgid, int fd, struct conn_val *conn, __u8 direction,
                                      __u8 source, __u64 bytes, __u64 buf, __u8 kind,
                                      __u32 iovcnt, __u64 ssl_ptr) {
  __u32 cpu = bpf_get_smp_processor_id();
  struct data_event *ev = bpf_map_lookup_elem(&data_scratch, &cpu);
  if (!ev) return false;
  __u64 id = bpf_get_current_pid_tgid();
  ev->h.type = EV_DATA;
  ev->h.tgid = tgid;
  ev->h.tid = (__u32)id;
  ev->h.fd = fd;
  ev->h.ts_ns = bpf_ktime_get_ns();
  ev->h.conn_id = conn ? conn->id : 0;
  ev->ssl_ptr = ssl_ptr;
  ev->size = bytes > 0xffffffffULL ? 0xffffffff : (__u32)bytes;
  ev->direction = direction;
  ev->source = source;
  ev->role = conn ? conn->role : ROLE_UNKNOWN;
  bpf_get_current_comm(&ev->comm, sizeof(ev->comm));

  __u64 cap = capture_bytes;
  if (cap > MAX_CAPTURE) cap = MAX_CAPTURE;
  __u64 want = bytes < cap ? bytes : cap;
  __u32 len = 0;
  if (kind == IO_PLAIN) {
    __u32 n = want;
    barrier_var(n);
    if (n > MAX_CAPTURE) n = MAX_CAPTURE;
    if (bpf_probe_read_user(ev->data, n, (void *)buf) == 0) len = n;
  } else {
    struct iovec *iov = (struct iovec *)buf;
    for (int i = 0; i < MAX_IOV; i++) {
      if (i >= iovcnt || len >= want) break;
      struct iovec v = {};
      if (bpf_probe_read_user(&v, sizeof(v), &iov[i])) break;
      __u64 n = v.iov_len;
      if (n > want - len) n = want - len;
      __u32 off = len;
      if (off >= MAX_CAPTURE) break;
      /* clang 14 would check one copy of off and use another: hide it, then mask it */
      barrier_var(off);
      off &= MAX_CAPTURE - 1;
      __u32 chunk = n; /* <= MAX_CAPTURE; the mask only shows the verifier a bound */
      barrier_var(chunk);
      chunk &= 2 * MAX_CAPTURE - 1;
      if (bpf_probe_read_user(ev->data + off, chunk, v.iov_base)) break;
      len += chunk;
    }
  }
  if (len > MAX_CAPTURE) len = MAX_CAPTURE;
  barrier_var(len);
  len &= 2 * MAX_CAPTURE - 1; /* a no-op the verifier can see */
  ev->captured = len;
  __u32 total = DATA_HEADER_SIZE + len;
  if (bpf_ringbuf_output(&events, ev, total, wakeup_flag()))
    count(CNT_RINGBUF_DROPS);
  else
    count(CNT_DATA_EVENTS);
  return len >= 2 && ev->data[0] >= 0x14 && ev->data[0] <= 0x17 && ev->data[1] == 0x03;
}

/* ---- syscall exit: capture what really moved ---- */
/* One program per syscall, at its exit: the arguments are read back from the registers the task
 * entered the kernel with (they are still there at exit), so no enter program runs on the node's
 * every read and write and nothing waits in task storage between the two. */

/* The task's first three syscall arguments, as it passed them. */
static __always_inline void syscall_args(__u64 *a0, __u64 *a1, __u64 *a2) {
  struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
#if defined(__TARGET_ARCH_x86)
  /* direct loads through the BTF pointer: no helper call */
  *a0 = regs->di;
  *a1 = regs->si;
  *a2 = regs->dx;
#else
  *a0 = PT_REGS_PARM1_CORE_SYSCALL(regs);
  *a1 = PT_REGS_PARM2_CORE_SYSCALL(regs);
  *a2 = PT_REGS_PARM3_CORE_SYSCALL(regs);
#endif
}

static __always_inline int finish_io(long ret, __u8 kind, __u8 direction, bool msg) {
  if (ret <= 0) return 0;
  __u64 fd_arg, buf, iovcnt;
  syscall_args(&fd_arg, &buf, &iovcnt);
  int fd = (int)fd_arg;
  /* Most calls on a node are not on sockets: they are turned away first, before any map look-up. */
  if (!socket_file_of_fd(fd)) return 0;
  __u64 id = bpf_get_current_pid_tgid();
  __u32 tgid = id >> 32;
  struct conn_val *conn = lookup_or_adopt(tgid, fd);
  if (!conn) return 0;
  if (msg) {
    /* sendmsg/recvmsg: the iovecs are in the msghdr (the kernel does not change msg_iov) */
    struct user_msghdr m = {};
    if (bpf_probe_read_user(&m, sizeof(m), (void *)buf)) return 0;
    buf = (__u64)m.msg_iov;
    iovcnt = m.msg_iovlen;
  }
  if (direction == DIR_EGRESS)
    __sync_fetch_and_add(&conn->bytes_sent, ret);
  else
    __sync_fetch_and_add(&conn->bytes_recv, ret);

  struct task_state *state = bpf_task_storage_get(&task_states, bpf_get_current_task_btf(), 0, 0);
  if (state && state->ssl.op) {
    /* Inside SSL_*: this is the ciphertext of a socket BIO; it names the SSL's socket. */
    state->ssl.fd = fd;
    conn->tls = 1;
    return 0;
  }
  /* Node's TLS reads ciphertext and then calls SSL_read from the read's callback (see
   * resolve_ssl_fd): the thread remembers a read that may be ciphertext; plaintext reads need not
   * be remembered. */
  bool remember = direction == DIR_INGRESS && (conn->tls || kind != IO_PLAIN);
  if (!conn->tls) {
    bool tls_head = emit_data(tgid, fd, conn, direction, SRC_SYSCALL, ret, buf, kind, (__u32)iovcnt, 0);
    remember = remember || (direction == DIR_INGRESS && tls_head);
  }
  if (remember) {
    struct fd_ref ref = {.fd = fd, .conn_id = conn->id};
    __u32 tid = (__u32)id;
    bpf_map_update_elem(&thread_last_read, &tid, &ref, BPF_ANY);
  }
  return 0;
}

SEC("tracepoint/syscalls/sys_exit_read")
int exit_read(struct trace_event_raw_sys_exit *ctx) { return finish_io(ctx->ret, IO_PLAIN, DIR_INGRESS, false); }
SEC("tracepoint/syscalls/sys_exit_recvfrom")
int exit_recvfrom(struct trace_event_raw_sys_exit *ctx) { return finish_io(ctx->ret, IO_PLAIN, DIR_INGRESS, false); }
SEC("tracepoint/syscalls/sys_exit_write")
int exit_write(struct trace_event_raw_sys_exit *ctx) { return finish_io(ctx->ret, IO_PLAIN, DIR_EGRESS, false); }
SEC("tracepoint/syscalls/sys_exit_sendto")
int exit_sendto(struct trace_event_raw_sys_exit *ctx) { return finish_io(ctx->ret, IO_PLAIN, DIR_EGRESS, false); }
SEC("tracepoint/syscalls/sys_exit_readv")
int exit_readv(struct trace_event_raw_sys_exit *ctx) { return finish_io(ctx->ret, IO_IOV, DIR_INGRESS, false); }
SEC("tracepoint/syscalls/sys_exit_writev")
int exit_writev(struct trace_event_raw_sys_exit *ctx) { return finish_io(ctx->ret, IO_IOV, DIR_EGRESS, false); }
SEC("tracepoint/syscalls/sys_exit_sendmsg")
int exit_sendmsg(struct trace_event_raw_sys_exit *ctx) { return finish_io(ctx->ret, IO_IOV, DIR_EGRESS, true); }
SEC("tracepoint/syscalls/sys_exit_recvmsg")
int exit_recvmsg(struct trace_event_raw_sys_exit *ctx) { return finish_io(ctx->ret, IO_IOV, DIR_INGRESS, true); }

/* ---- connection lifecycle ---- */

static __always_inline int accepted(long ret) {
  __u64 id = bpf_get_current_pid_tgid();
  __u32 tgid = id >> 32;
  if (ret < 0 || is_excluded(tgid)) return 0;
  struct sock *sk = tcp_sock_of_fd(ret);
  if (sk) open_conn(tgid, ret, sk, ROLE_SERVER, 0);
  return 0;
}
SEC("tracepoint/syscalls/sys_exit_accept4")
int exit_accept4(struct trace_event_raw_sys_exit *ctx) { return accepted(ctx->ret); }
SEC("tracepoint/syscalls/sys_exit_accept")
int exit_accept(struct trace_event_raw_sys_exit *ctx) { return accepted(ctx->ret); }

SEC("tracepoint/syscalls/sys_enter_connect")
int enter_connect(struct trace_event_raw_sys_enter *ctx) {
  __u64 id = bpf_get_current_pid_tgid();
  if (is_excluded(id >> 32)) return 0;
  __s32 fd = ctx->args[0];
  bpf_map_update_elem(&connect_args, &id, &fd, BPF_ANY);
  return 0;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int exit_connect(struct trace_event_raw_sys_exit *ctx) {
  __u64 id = bpf_get_current_pid_tgid();
  __s32 *fdp = bpf_map_lookup_elem(&connect_args, &id);
  if (!fdp) return 0;
  __s32 fd = *fdp;
  bpf_map_delete_elem(&connect_args, &id);
  long ret = ctx->ret;
  if (ret != 0 && ret != -EINPROGRESS) return 0;
  struct sock *sk = tcp_sock_of_fd(fd);
  if (sk) open_conn(id >> 32, fd, sk, ROLE_CLIENT, 0);
  return 0;
}

SEC("tracepoint/syscalls/sys_enter_close")
int enter_close(struct trace_event_raw_sys_enter *ctx) {
  __u64 id = bpf_get_current_pid_tgid();
  __u32 tgid = id >> 32;
  struct conn_key key = {.tgid = tgid, .fd = ctx->args[0]};
  struct conn_val *conn = bpf_map_lookup_elem(&conns, &key);
  if (!conn) return 0;
  emit_conn(EV_CONN_CLOSE, tgid, key.fd, conn, NULL, 0);
  bpf_map_delete_elem(&conns, &key);
  return 0;
}

/* ---- process execs ---- */

SEC("tracepoint/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx) {
  __u32 zero = 0;
  struct exec_event *ev = bpf_map_lookup_elem(&exec_scratch, &zero);
  if (!ev) return 0;
  __u64 id = bpf_get_current_pid_tgid();
  struct task_struct *task = (struct task_struct *)bpf_get_current_task();
  ev->h.type = EV_EXEC;
  ev->h.tgid = id >> 32;
  ev->h.tid = (__u32)id;
  ev->h.fd = -1;
  ev->h.ts_ns = bpf_ktime_get_ns();
  ev->h.conn_id = 0;
  ev->ppid = BPF_CORE_READ(task, real_parent, tgid);
  ev->uid = (__u32)bpf_get_current_uid_gid();
  ev->cgroup_id = bpf_get_current_cgroup_id();
  bpf_get_current_comm(&ev->comm, sizeof(ev->comm));
  unsigned int off = ctx->__data_loc_filename & 0xFFFF;
  bpf_probe_read_kernel_str(ev->filename, sizeof(ev->filename), (void *)ctx + off);
  unsigned long arg_start = BPF_CORE_READ(task, mm, arg_start);
  unsigned long arg_end = BPF_CORE_READ(task, mm, arg_end);
  __u32 n = arg_end > arg_start ? arg_end - arg_start : 0;
  barrier_var(n);
  if (n > ARGS_LEN) n = ARGS_LEN;
  barrier_var(n);
  n &= 2 * ARGS_LEN - 1;
  if (n > ARGS_LEN) n = ARGS_LEN;
  if (bpf_probe_read_user(ev->args, n, (void *)arg_start)) n = 0;
  ev->args_len = n;
  __u32 total = EXEC_HEADER_SIZE + n;
  if (bpf_ringbuf_output(&events, ev, total, wakeup_flag()))
    count(CNT_RINGBUF_DROPS);
  else
    count(CNT_EXEC_EVENTS);
  return 0;
}

/* ---- OpenSSL: plaintext at SSL_read/SSL_write (and _ex) ---- */
/* BPF_KPROBE/BPF_KRETPROBE only unpack pt_regs; libbpf 1.1 has no BPF_UPROBE alias. */

static __always_inline int ssl_enter(__u8 op, void *ssl, const void *buf, __u64 len_ptr) {
  __u64 id = bpf_get_current_pid_tgid();
  if (is_excluded(id >> 32)) return 0;
  struct task_state *state = bpf_task_storage_get(&task_states, bpf_get_current_task_btf(), 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
  if (!state || state->ssl.op) return 0; /* nested: keep the outer call */
  state->ssl.ssl = (__u64)ssl;
  state->ssl.buf = (__u64)buf;
  state->ssl.len_ptr = len_ptr;
  state->ssl.fd = -1;
  state->ssl.op = op;
  return 0;
}

/* Which socket an SSL* talks over: the one its socket BIO touched during the call (curl,
 * Python), else a mapping learned earlier that still names the same connection, else (reads
 * only) the socket this thread last read ciphertext from (Node's memory BIO). */
static __always_inline int resolve_ssl_fd(__u32 tgid, __u32 tid, struct ssl_call *call, bool is_read,
                                          struct conn_val **connp) {
  struct ssl_key skey = {.ssl = call->ssl, .tgid = tgid};
  int fd = call->fd;
  struct conn_key ckey = {.tgid = tgid};
  struct conn_val *conn = NULL;
  if (fd < 0) {
    struct fd_ref *known = bpf_map_lookup_elem(&ssl_fds, &skey);
    if (known) {
      ckey.fd = known->fd;
      conn = bpf_map_lookup_elem(&conns, &ckey);
      if (conn && conn->id == known->conn_id && conn->tls) fd = known->fd;
      else conn = NULL;
    }
  }
  if (fd < 0 && is_read) {
    struct fd_ref *last = bpf_map_lookup_elem(&thread_last_read, &tid);
    if (last) fd = last->fd;
  }
  if (fd < 0) return -1;
  if (!conn) {
    ckey.fd = fd;
    conn = bpf_map_lookup_elem(&conns, &ckey);
  }
  if (conn) {
    conn->tls = 1;
    struct fd_ref ref = {.fd = fd, .conn_id = conn->id};
    bpf_map_update_elem(&ssl_fds, &skey, &ref, BPF_ANY);
  }
  *connp = conn;
  return fd;
}

static __always_inline int ssl_exit(__u8 op, long ret) {
  __u64 id = bpf_get_current_pid_tgid();
  struct task_state *state = bpf_task_storage_get(&task_states, bpf_get_current_task_btf(), 0, 0);
  if (!state || !state->ssl.op) return 0;
  if (state->ssl.op != op) return 0; /* the return of a nested call */
  struct ssl_call call = state->ssl;
  state->ssl.op = 0;
  __u32 tgid = id >> 32;
  bool is_read = op == SSL_OP_READ || op == SSL_OP_READ_EX;
  struct conn_val *conn = NULL;
  /* Resolve even for failed calls: Node's handshake SSL_read (ret <= 0) teaches the mapping
   * that its later SSL_write needs. */
  int fd = resolve_ssl_fd(tgid, (__u32)id, &call, is_read, &conn);
  __u64 bytes = 0;
  if (op == SSL_OP_READ || op == SSL_OP_WRITE) {
    if (ret <= 0) return 0;
    bytes = ret;
  } else {
    if (ret != 1 || !call.len_ptr) return 0;
    size_t n = 0;
    bpf_probe_read_user(&n, sizeof(n), (void *)call.len_ptr);
    bytes = n;
  }
  if (bytes == 0) return 0;
  if (fd < 0) count(CNT_TLS_UNRESOLVED);
  emit_data(tgid, fd, conn, is_read ? DIR_INGRESS : DIR_EGRESS, SRC_TLS, bytes, call.buf, IO_PLAIN, 0,
            call.ssl);
  return 0;
}

SEC("uprobe")
int BPF_KPROBE(ssl_read_enter, void *ssl, void *buf, int num) { return ssl_enter(SSL_OP_READ, ssl, buf, 0); }
SEC("uretprobe")
int BPF_KRETPROBE(ssl_read_exit, int ret) { return ssl_exit(SSL_OP_READ, ret); }
SEC("uprobe")
int BPF_KPROBE(ssl_write_enter, void *ssl, const void *buf, int num) { return ssl_enter(SSL_OP_WRITE, ssl, buf, 0); }
SEC("uretprobe")
int BPF_KRETPROBE(ssl_write_exit, int ret) { return ssl_exit(SSL_OP_WRITE, ret); }
SEC("uprobe")
int BPF_KPROBE(ssl_read_ex_enter, void *ssl, void *buf, size_t num, size_t *readbytes) {
  return ssl_enter(SSL_OP_READ_EX, ssl, buf, (__u64)readbytes);
}
SEC("uretprobe")
int BPF_KRETPROBE(ssl_read_ex_exit, int ret) { return ssl_exit(SSL_OP_READ_EX, ret); }
SEC("uprobe")
int BPF_KPROBE(ssl_write_ex_enter, void *ssl, const void *buf, size_t num, size_t *written) {
  return ssl_enter(SSL_OP_WRITE_EX, ssl, buf, (__u64)written);
}
SEC("uretprobe")
int BPF_KRETPROBE(ssl_write_ex_exit, int ret) { return ssl_exit(SSL_OP_WRITE_EX, ret); }
