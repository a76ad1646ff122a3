/*
 * sandtrap-guard: the network guard of one detonation.
 *
 * Fargate offers no iptables, network namespace or custom seccomp profile, so the only in-task way to
 * keep a sample away from 169.254.170.2 (and to send hard-coded IPs to the fake network) is a seccomp
 * filter the task installs on itself. The guard forks, installs a filter that hands connect(),
 * sendto() with an address, sendmsg() and sendmmsg() to it through a seccomp user notification
 * (io_uring, x32, every i386 socket call, TCP Fast Open and socket kinds the guard cannot classify
 * are refused outright), then execs the tracer chain.
 *
 * The root parent decides each call and performs it itself on a duplicate of the sample's socket
 * (pidfd_getfd) with its own copy of the address, payload and control data. It never answers
 * SECCOMP_USER_NOTIF_FLAG_CONTINUE: the kernel would then re-read the sample's memory and fd table
 * after the check, and another thread can rewrite the address or dup2() an IP socket onto the
 * checked descriptor's number in between. Unix and netlink calls, whose peers the kernel judges by
 * the caller's credentials and mount namespace, are performed by a short-lived child of the guard
 * that has become the caller (as_caller). Every address is classified by guard-address.h; what it
 * cannot classify is refused and logged. If the guard dies, the kernel fails every call the filter
 * hands to it with ENOSYS: the sample never gets an unchecked call through.
 *
 * It is also the child subreaper of the detonation (orphans are reaped here, not by PID 1), and when
 * the kernel lets it (root with CAP_SYS_ADMIN: a developer host, not Fargate) it gives the sample a
 * private mount namespace: its own resolv.conf, empty tmpfs over /tmp-like directories, and the
 * agent's own directories hidden.
 *
 * Usage:
 *   sandtrap-guard --probe
 *   sandtrap-guard --log FILE --mode redirect|pass|block [--dns PORT --tcp PORT --udp PORT]
 *                  [--allow PORT]... [--deny PORT]... [--hide DIR]... [--tmpfs DIR:BYTES]...
 *                  [--resolv FILE] -- COMMAND [ARG]...
 * Log: one JSON object per line. Exit status: the command's, or 125 when the guard cannot start.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sched.h>
#include <linux/capability.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guard-address.h"

#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN 0x20000000
#endif
#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#else
#error "sandtrap-guard supports x86_64 and aarch64"
#endif

#define MAX_PORTS 64
#define MAX_MOUNTS 32
#define MAX_PAYLOAD 65536

enum mode { MODE_REDIRECT, MODE_PASS, MODE_BLOCK };

static struct {
  enum mode mode;
  int dns_port, tcp_port, udp_port;
  unsigned allow[MAX_PORTS], deny[MAX_PORTS];
  int nallow, ndeny;
  const char *hide[MAX_MOUNTS];
  int nhide;
  const char *tmpfs[MAX_MOUNTS];
  int ntmpfs;
  const char *resolv;
  int log_fd;
} cfg = {.log_fd = -1};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One write per line on an O_APPEND descriptor, so lines from handler threads never interleave. */
static void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void log_line(const char *fmt, ...) {
  char buf[1024];
  int n = snprintf(buf, sizeof buf, "{\"ts\":%.6f,", now());
  va_list ap;
  va_start(ap, fmt);
  n += vsnprintf(buf + n, sizeof buf - (size_t)n - 2, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof buf - 3) n = (int)sizeof buf - 3;
  buf[n++] = '}';
  buf[n++] = '\n';
  if (cfg.log_fd >= 0 && write(cfg.log_fd, buf, (size_t)n) < 0) { /* nothing useful to do */ }
}

/* JSON-safe copy of `len` untrusted bytes (a unix socket name, NULs included), cut to fit `cap`. */
static void json_escape_n(const char *in, size_t len, char *out, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < len && o + 7 < cap; i++) {
    unsigned char c = (unsigned char)in[i];
    if (c == '"' || c == '\\') { out[o++] = '\\'; out[o++] = (char)c; }
    else if (c < 0x20 || c >= 0x7f) o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
    else out[o++] = (char)c;
  }
  out[o] = 0;
}

/* The same for a path, which ends at its first NUL. */
static void json_escape(const char *in, size_t len, char *out, size_t cap) { json_escape_n(in, strnlen(in, len), out, cap); }

/* ---------------------------------------------------------------- filter */

#define LD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define LD_ARCH BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch))
#define LD_ARG_LO(i) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[i]))
#define LD_ARG_HI(i) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[i]) + 4)
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
#define ERRNO(e) RET(SECCOMP_RET_ERRNO | (e))
#define NOTIFY RET(SECCOMP_RET_USER_NOTIF)
#define ALLOW RET(SECCOMP_RET_ALLOW)
/* "if A == k return action" and "if A & k return action", as two instructions each */
#define IF_EQ(k, action) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), 0, 1), action
#define IF_SET(k, action) BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, (k), 0, 1), action
/* "if lo <= A <= hi return action", three instructions */
#define IF_RANGE(lo, hi, action) BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (lo), 0, 2), BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, (hi), 1, 0), action

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/*
 * The filter is a list of blocks, one per system call, each ending in a return: a block is entered
 * when the call number matches and skipped whole otherwise, so no jump crosses a block and no path
 * can fall through to a default it did not mean. What no block names is allowed: it cannot name a
 * network peer. Every call that can is either refused here or handed to the guard.
 */

/* Fast Open is a connect hidden in a send; the guard would have to perform it, so it is refused. */
static struct sock_filter sendto_block[] = {
    LD_ARG_LO(3), IF_SET(MSG_FASTOPEN, ERRNO(EPERM)),
    /* Without an address a send can only go where a connect (the guard's) has pointed the socket. */
    LD_ARG_LO(4), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3), LD_ARG_HI(4), IF_EQ(0, ALLOW),
    NOTIFY,
};
/* sendmsg/sendmmsg: the address is in memory the filter cannot read, so the guard reads it. */
static struct sock_filter sendmsg_block[] = {LD_ARG_LO(2), IF_SET(MSG_FASTOPEN, ERRNO(EPERM)), NOTIFY};
static struct sock_filter sendmmsg_block[] = {LD_ARG_LO(3), IF_SET(MSG_FASTOPEN, ERRNO(EPERM)), NOTIFY};
/*
 * Only the families and protocols the guard can classify: unix and netlink (whose peers the guard
 * checks), TCP, MPTCP and UDP. SCTP (which connects through setsockopt, out of the guard's sight,
 * and is also what SOCK_SEQPACKET with protocol 0 gives), ping sockets, vsock (the hypervisor),
 * packet, TIPC, RDS and the rest are refused at creation.
 */
static struct sock_filter socket_block[] = {
    LD_ARG_LO(0),
    IF_EQ(AF_UNIX, ALLOW),
    IF_EQ(AF_NETLINK, ALLOW),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_INET, 2, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_INET6, 1, 0),
    ERRNO(EAFNOSUPPORT),
    LD_ARG_LO(1),
    BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xf), /* the type without SOCK_NONBLOCK / SOCK_CLOEXEC */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SOCK_STREAM, 0, 8),
    LD_ARG_LO(2), IF_EQ(0, ALLOW), IF_EQ(IPPROTO_TCP, ALLOW), IF_EQ(IPPROTO_MPTCP, ALLOW), ERRNO(EPROTONOSUPPORT),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SOCK_DGRAM, 0, 6),
    LD_ARG_LO(2), IF_EQ(0, ALLOW), IF_EQ(IPPROTO_UDP, ALLOW), ERRNO(EPROTONOSUPPORT),
    ERRNO(EPERM),
};

/*
 * i386 system calls, which a 64-bit process reaches with `int $0x80`: no networking at all. Their
 * socketcall() multiplexer hides its arguments in memory, and the guard does not decode the 32-bit
 * message layouts, so every socket call is refused rather than half-understood.
 */
static struct sock_filter i386_block[] = {
    LD_NR,
    IF_EQ(102 /* socketcall */, ERRNO(EPERM)),
    IF_RANGE(359 /* socket */, 373 /* shutdown */, ERRNO(EPERM)), /* connect 362, sendto 369, sendmsg 370 ... */
    IF_EQ(337 /* recvmmsg */, ERRNO(EPERM)),
    IF_EQ(345 /* sendmmsg */, ERRNO(EPERM)),
    IF_RANGE(425 /* io_uring_setup */, 427 /* io_uring_register */, ERRNO(EPERM)),
    ALLOW,
};

#define MAX_FILTER 160

static void emit(struct sock_filter *prog, size_t *n, struct sock_filter insn) {
  if (*n < MAX_FILTER) prog[*n] = insn;
  (*n)++;
}

/* "if nr == `nr`: run `block`, else skip it"; the block ends in a return. */
static void emit_block(struct sock_filter *prog, size_t *n, unsigned nr, const struct sock_filter *block, size_t count) {
  emit(prog, n, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, (uint8_t)count));
  for (size_t i = 0; i < count; i++) emit(prog, n, block[i]);
  emit(prog, n, (struct sock_filter)LD_NR); /* blocks load arguments; the next test wants the number back */
}

/* Builds the filter into `prog`; returns its length, or 0 if it does not fit. */
static size_t build_filter(struct sock_filter *prog) {
  size_t n = 0;
  static const struct sock_filter notify[] = {NOTIFY};
  static const struct sock_filter no_uring[] = {ERRNO(ENOSYS)}; /* "not supported": runtimes fall back to plain calls */
  emit(prog, &n, (struct sock_filter)LD_ARCH);
#if defined(__x86_64__)
  /* i386 (int $0x80, or a 32-bit binary): its own block; every other architecture is killed. */
  emit(prog, &n, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 0, (uint8_t)COUNT(i386_block)));
  for (size_t i = 0; i < COUNT(i386_block); i++) emit(prog, &n, i386_block[i]);
#endif
  emit(prog, &n, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 1, 0));
  emit(prog, &n, (struct sock_filter)RET(SECCOMP_RET_KILL_PROCESS));
  emit(prog, &n, (struct sock_filter)LD_NR);
#if defined(__x86_64__)
  /* x32 system calls share the x86_64 architecture but not its numbers. */
  emit(prog, &n, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1));
  emit(prog, &n, (struct sock_filter)ERRNO(EPERM));
  /*
   * System calls newer than the tracer can name (fchmodat2, 452, and up) would run unseen: Debian's
   * strace 6.1 filters by the names it knows. "Not implemented" is what an older kernel answers, and
   * libc falls back to the older, traced call (fchmodat2 → fchmodat), so the evidence is kept.
   */
  emit(prog, &n, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 452 /* fchmodat2 */, 0, 1));
  emit(prog, &n, (struct sock_filter)ERRNO(ENOSYS));
#endif
  emit_block(prog, &n, __NR_connect, notify, 1);
  emit_block(prog, &n, __NR_sendto, sendto_block, COUNT(sendto_block));
  emit_block(prog, &n, __NR_sendmsg, sendmsg_block, COUNT(sendmsg_block));
  emit_block(prog, &n, __NR_sendmmsg, sendmmsg_block, COUNT(sendmmsg_block));
  emit_block(prog, &n, __NR_socket, socket_block, COUNT(socket_block));
  /* io_uring performs connects and sends without any system call the filter sees. */
  emit_block(prog, &n, __NR_io_uring_setup, no_uring, 1);
  emit_block(prog, &n, __NR_io_uring_enter, no_uring, 1);
  emit_block(prog, &n, __NR_io_uring_register, no_uring, 1);
  emit(prog, &n, (struct sock_filter)ALLOW);
  return n <= MAX_FILTER ? n : 0;
}

static int install_filter(void) {
  static struct sock_filter prog_insns[MAX_FILTER];
  size_t n = build_filter(prog_insns);
  if (n == 0) {
    errno = E2BIG;
    return -1;
  }
  struct sock_fprog prog = {.len = (unsigned short)n, .filter = prog_insns};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
  return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
}

/* ---------------------------------------------------------------- policy */

static int port_listed(const unsigned *list, int n, unsigned port) {
  for (int i = 0; i < n; i++)
    if (list[i] == port) return 1;
  return 0;
}

struct decision {
  const char *action; /* redirect | pass | block */
  const char *reason;
  struct sockaddr_storage target; /* what the guard connects or sends to */
  socklen_t target_len;
};

static void block(struct decision *d, const char *reason) {
  d->action = "block";
  d->reason = reason;
  d->target_len = 0;
}

/*
 * Decides where an IP destination may go. `dest` is the guard's own copy of the sample's address
 * (`len` bytes), `domain` and `type` are those of the guard's duplicate of the sample's socket.
 */
static void decide(int domain, int type, int for_send, const struct sockaddr_storage *dest, socklen_t len, struct decision *d) {
  struct classified c;
  d->reason = "";
  classify_address(domain, for_send, dest, len, &c);
  if (c.kind == ADDR_DISCONNECT) {
    /* A clean AF_UNSPEC of our own: nothing of the sample's bytes reaches the kernel. */
    d->action = "pass";
    memset(&d->target, 0, sizeof d->target);
    d->target.ss_family = AF_UNSPEC;
    d->target_len = sizeof(struct sockaddr);
    return;
  }
  if (c.kind != ADDR_IPV4 && c.kind != ADDR_IPV6) { block(d, c.why ? c.why : "address"); return; }
  unsigned port = c.port;
  int dns = type == SOCK_DGRAM && port == 53;
  if (is_metadata_address(&c)) { block(d, "metadata"); return; }
  /* Redirected, a loopback destination lands on the fake network like any other; passed, it would
     reach whatever listens on the host's loopback. */
  if (cfg.mode == MODE_PASS && is_local_address(&c)) { block(d, "loopback"); return; }
  if (cfg.mode == MODE_BLOCK) { block(d, "network-disabled"); return; }
  if (port_listed(cfg.deny, cfg.ndeny, port)) { block(d, "blocked-port"); return; }
  if (cfg.nallow > 0 && !port_listed(cfg.allow, cfg.nallow, port) && !(dns && cfg.mode == MODE_REDIRECT)) {
    block(d, "port-not-allowed");
    return;
  }
  memset(&d->target, 0, sizeof d->target);
  if (cfg.mode == MODE_PASS) {
    /* Rebuilt from what was classified, never the sample's bytes: the kernel reads what was judged. */
    d->action = "pass";
    if (c.kind == ADDR_IPV4 && domain == AF_INET) {
      struct sockaddr_in *t = (void *)&d->target;
      t->sin_family = AF_INET;
      t->sin_port = htons((uint16_t)port);
      memcpy(&t->sin_addr, c.ip, 4);
      d->target_len = sizeof *t;
    } else {
      struct sockaddr_in6 *t = (void *)&d->target;
      t->sin6_family = AF_INET6;
      t->sin6_port = htons((uint16_t)port);
      if (c.kind == ADDR_IPV4) {
        t->sin6_addr.s6_addr[10] = 0xff;
        t->sin6_addr.s6_addr[11] = 0xff;
        memcpy(&t->sin6_addr.s6_addr[12], c.ip, 4);
      } else {
        memcpy(&t->sin6_addr, c.ip, 16);
      }
      d->target_len = sizeof *t;
    }
    return;
  }
  d->action = "redirect";
  unsigned to = dns ? (unsigned)cfg.dns_port : type == SOCK_STREAM ? (unsigned)cfg.tcp_port : (unsigned)cfg.udp_port;
  if (domain == AF_INET) {
    struct sockaddr_in *t = (void *)&d->target;
    t->sin_family = AF_INET;
    t->sin_port = htons((uint16_t)to);
    t->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    d->target_len = sizeof *t;
  } else {
    struct sockaddr_in6 *t = (void *)&d->target;
    t->sin6_family = AF_INET6;
    t->sin6_port = htons((uint16_t)to);
    t->sin6_addr.s6_addr[10] = 0xff;
    t->sin6_addr.s6_addr[11] = 0xff;
    t->sin6_addr.s6_addr[12] = 127;
    t->sin6_addr.s6_addr[15] = 1;
    d->target_len = sizeof *t;
  }
}

/* A printable form of an address for the log (bounded, JSON-escaped). */
static void describe(int domain, const struct sockaddr_storage *a, socklen_t len, char *out, size_t cap, unsigned *port) {
  *port = 0;
  out[0] = 0;
  struct classified c;
  classify_address(domain, 0, a, len, &c);
  if (c.kind == ADDR_IPV4) inet_ntop(AF_INET, c.ip, out, (socklen_t)cap);
  else if (c.kind == ADDR_IPV6) inet_ntop(AF_INET6, c.ip, out, (socklen_t)cap);
  else if (c.kind == ADDR_UNIX_PATH || c.kind == ADDR_UNIX_ABSTRACT) {
    const struct sockaddr_un *v = (const void *)a;
    size_t n = (size_t)len - offsetof(struct sockaddr_un, sun_path);
    if (c.kind == ADDR_UNIX_ABSTRACT) {
      char esc[380];
      json_escape_n(v->sun_path + 1, n - 1, esc, sizeof esc);
      snprintf(out, cap, "@%s", esc);
    } else {
      json_escape(v->sun_path, n, out, cap);
    }
  } else if (c.kind == ADDR_NETLINK_KERNEL) snprintf(out, cap, "netlink:kernel");
  else if (c.kind == ADDR_DISCONNECT) snprintf(out, cap, "unspec");
  else snprintf(out, cap, "unparsed:family=%u,len=%u", len >= 2 ? (unsigned)a->ss_family : 0u, (unsigned)len);
  *port = c.port;
}

/* ---------------------------------------------------------------- notifications */

struct job {
  struct seccomp_notif_resp *resp;
  size_t resp_size;
  int listener;
  uint64_t id;
  uint32_t tid;
  int nr;
  uint64_t args[6];
};

/* One field of /proc/<tid>/status ("Tgid:", "Uid:"...): the `index`th number after it, or -1. */
static long status_field(uint32_t tid, const char *name, int index) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%u/status", tid);
  FILE *f = fopen(path, "re");
  if (!f) return -1;
  long value = -1;
  size_t len = strlen(name);
  while (fgets(line, sizeof line, f))
    if (strncmp(line, name, len) == 0) {
      char *p = line + len;
      for (int i = 0; i <= index; i++) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p) { v = -1; i = index; }
        value = v;
        p = end;
      }
      break;
    }
  fclose(f);
  return value;
}

static void respond(struct job *j, int64_t val, int err) {
  memset(j->resp, 0, j->resp_size);
  j->resp->id = j->id;
  j->resp->val = val;
  j->resp->error = err ? -err : 0;
  /* Never SECCOMP_USER_NOTIF_FLAG_CONTINUE: the kernel would re-read the sample's memory and fd
     table after the check, and another thread can change both (a dup2 of an IP socket onto a
     unix socket's number, a rewritten address). The guard performs every call itself. */
  j->resp->flags = 0;
  /* ENOENT: the caller was interrupted or died meanwhile; nothing to answer. */
  ioctl(j->listener, SECCOMP_IOCTL_NOTIF_SEND, j->resp);
}

static void respond_rc(struct job *j, long rc) { respond(j, rc < 0 ? 0 : rc, rc < 0 ? (int)-rc : 0); }

static const char *family_name(int domain) {
  return domain == AF_INET ? "inet" : domain == AF_INET6 ? "inet6" : domain == AF_UNIX ? "unix" : domain == AF_NETLINK ? "netlink" : "other";
}
static const char *type_name(int type) {
  return type == SOCK_STREAM ? "tcp" : type == SOCK_DGRAM ? "udp" : "other";
}

/* What one notification is about: the caller, its memory, and the guard's duplicate of its socket. */
struct call {
  struct job *j;
  int tgid;
  int memfd;
  int pidfd;
  int sfd;
  int domain, type, protocol;
};

static const char *call_name(int nr) {
  return nr == __NR_connect ? "connect" : nr == __NR_sendto ? "sendto" : nr == __NR_sendmsg ? "sendmsg" : nr == __NR_sendmmsg ? "sendmmsg" : "other";
}

static int read_exact(int memfd, void *to, size_t len, uint64_t from) {
  return len == 0 || pread(memfd, to, len, (off_t)from) == (ssize_t)len ? 0 : -1;
}

/* Logs one destination decision. */
static void log_dest(struct call *c, const struct sockaddr_storage *dest, socklen_t len, const struct decision *d, long result, size_t bytes) {
  char where[400], to[128] = "", local_addr[64];
  unsigned port, to_port = 0, local_port = 0;
  describe(c->domain, dest, len, where, sizeof where, &port);
  if (strcmp(d->action, "redirect") == 0) describe(c->domain, &d->target, d->target_len, to, sizeof to, &to_port);
  struct sockaddr_storage local;
  socklen_t ll = sizeof local;
  memset(&local, 0, sizeof local);
  if (getsockname(c->sfd, (struct sockaddr *)&local, &ll) == 0 && ll <= sizeof local)
    describe(c->domain, &local, ll, local_addr, sizeof local_addr, &local_port);
  log_line("\"pid\":%d,\"tid\":%u,\"call\":\"%s\",\"family\":\"%s\",\"proto\":\"%s\",\"addr\":\"%s\",\"port\":%u,\"action\":\"%s\","
           "\"reason\":\"%s\",\"to\":\"%s\",\"toPort\":%u,\"localPort\":%u,\"bytes\":%zu,\"result\":%ld",
           c->tgid, c->j->tid, call_name(c->j->nr), family_name(c->domain), type_name(c->type), where, port, d->action, d->reason, to,
           to_port, local_port, bytes, result);
}

/* Logs a refusal that names no destination (a message the guard could not read or accept). */
static void log_refusal(struct call *c, const char *reason, long result) {
  log_line("\"pid\":%d,\"tid\":%u,\"call\":\"%s\",\"family\":\"%s\",\"proto\":\"%s\",\"addr\":\"\",\"action\":\"block\",\"reason\":\"%s\",\"result\":%ld",
           c->tgid, c->j->tid, call_name(c->j->nr), family_name(c->domain), type_name(c->type), reason, result);
}

/*
 * Runs `op` in a child of the guard that has become the caller as far as the kernel can tell: its
 * mount namespace, root, working directory, uid and gids, and no capabilities. Used for unix and
 * netlink sockets, whose peers the kernel checks against the caller (file permissions of a socket
 * path, SO_PEERCRED, netlink's capability checks): performed as root, they would make the guard a
 * confused deputy. Returns op's result (>= 0 or -errno); -EPERM if the child could not become the caller.
 */
struct as_caller_op {
  int connect; /* 1: connect(sfd, addr, len); 0: sendmsg(sfd, msg, flags) */
  const struct sockaddr_storage *addr;
  socklen_t len;
  const struct msghdr *msg;
  int flags;
};

static long as_caller(struct call *c, const struct as_caller_op *op) {
  long uid = status_field(c->j->tid, "Uid:", 1), gid = status_field(c->j->tid, "Gid:", 1);
  if (uid < 0 || gid < 0) return -EPERM;
  char path[64];
  snprintf(path, sizeof path, "/proc/%u/cwd", c->j->tid);
  int cwd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  snprintf(path, sizeof path, "/proc/%u/root", c->j->tid);
  int root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  snprintf(path, sizeof path, "/proc/%u/ns/mnt", c->j->tid);
  int mntns = open(path, O_RDONLY | O_CLOEXEC);
  struct stat theirs, ours;
  int same_ns = mntns >= 0 && fstat(mntns, &theirs) == 0 && stat("/proc/self/ns/mnt", &ours) == 0 && theirs.st_ino == ours.st_ino &&
                theirs.st_dev == ours.st_dev;
  struct stat their_root, our_root;
  int same_root = root >= 0 && fstat(root, &their_root) == 0 && stat("/", &our_root) == 0 && their_root.st_ino == our_root.st_ino &&
                  their_root.st_dev == our_root.st_dev;
  int result[2] = {-1, -1};
  long rc = -EPERM;
  if (cwd < 0 || root < 0 || mntns < 0 || pipe2(result, O_CLOEXEC) != 0) goto out;
  /* The ID_VALID check after opening the caller's /proc entries: they are the caller's, not a reused pid's. */
  if (ioctl(c->j->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &c->j->id) != 0) { rc = -ESRCH; goto out; }
  pid_t child = fork();
  if (child < 0) goto out;
  if (child == 0) {
    /* Only system calls from here: the parent has other threads, whose locks this copy may hold. */
    long r = -EPERM;
    /* The listener must die with the guard (pending calls then fail), not live on in a helper. */
    close(c->j->listener);
    close(cfg.log_fd);
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct none[2];
    memset(none, 0, sizeof none);
    if (!same_ns && syscall(SYS_setns, mntns, CLONE_NEWNS) != 0) goto done;
    if ((!same_ns || !same_root) && (fchdir(root) != 0 || chroot(".") != 0)) goto done;
    if (fchdir(cwd) != 0) goto done;
    if (syscall(SYS_setgroups, 0, NULL) != 0) goto done;
    if (syscall(SYS_setresgid, gid, gid, gid) != 0) goto done;
    if (syscall(SYS_setresuid, uid, uid, uid) != 0) goto done;
    /* A root caller keeps uid 0 but, like the sample under setpriv, no capability. */
    if (syscall(SYS_capset, &hdr, none) != 0) goto done;
    if (op->connect) r = connect(c->sfd, (const struct sockaddr *)op->addr, op->len) == 0 ? 0 : -errno;
    else {
      ssize_t n = sendmsg(c->sfd, op->msg, op->flags | MSG_NOSIGNAL);
      r = n < 0 ? -errno : n;
    }
  done:
    if (write(result[1], &r, sizeof r) != (ssize_t)sizeof r) _exit(1);
    _exit(0);
  }
  close(result[1]);
  result[1] = -1;
  long r;
  /* The child is reaped by the main loop (waitpid(-1)); its answer comes through the pipe. */
  if (read(result[0], &r, sizeof r) == (ssize_t)sizeof r) rc = r;
out:
  if (result[0] >= 0) close(result[0]);
  if (result[1] >= 0) close(result[1]);
  if (cwd >= 0) close(cwd);
  if (root >= 0) close(root);
  if (mntns >= 0) close(mntns);
  return rc;
}

/* Whether an address the sample names on a unix or netlink socket may be used, and why not. */
static const char *local_refusal(const struct classified *k) {
  if (k->kind == ADDR_UNIX_PATH || k->kind == ADDR_NETLINK_KERNEL) return NULL;
  /* An abstract socket has no permissions: any process in the network namespace could be behind it
     (a D-Bus bus, a container runtime). The run's own processes are not told apart from them. */
  if (k->kind == ADDR_UNIX_ABSTRACT) return "abstract-unix";
  return k->why ? k->why : "address";
}

/* connect(): decided on the guard's copy of the address and performed by the guard (or as the caller). */
static void do_connect(struct call *c) {
  struct job *j = c->j;
  struct sockaddr_storage dest;
  memset(&dest, 0, sizeof dest);
  socklen_t len = (socklen_t)(j->args[2] > sizeof dest ? sizeof dest + 1 : j->args[2]);
  struct decision d = {.action = "block", .reason = ""};
  long rc = -EPERM;
  if (len > sizeof dest) block(&d, "address-too-long"), rc = -EINVAL;
  else if (read_exact(c->memfd, &dest, len, j->args[1]) != 0) block(&d, "unreadable"), rc = -EFAULT;
  else if (c->domain == AF_UNIX || c->domain == AF_NETLINK) {
    struct classified k;
    classify_address(c->domain, 0, &dest, len, &k);
    const char *refusal = local_refusal(&k);
    if (refusal) block(&d, refusal);
    else {
      d.action = "pass";
      struct as_caller_op op = {.connect = 1, .addr = &dest, .len = len};
      rc = as_caller(c, &op);
    }
    if (len > sizeof dest) len = sizeof dest;
  } else {
    decide(c->domain, c->type, 0, &dest, len, &d);
    if (strcmp(d.action, "block") != 0) rc = connect(c->sfd, (struct sockaddr *)&d.target, d.target_len) == 0 ? 0 : -errno;
  }
  log_dest(c, &dest, len > sizeof dest ? sizeof dest : len, &d, rc, 0);
  respond_rc(j, rc);
}

/* The sample's message, copied: payload, address and control data, bounded. */
struct message {
  char *payload;
  size_t total;
  struct sockaddr_storage dest;
  socklen_t namelen;
  int has_name;
  char control[4096];
  size_t controllen;
};

/* Reads one msghdr's pieces from the caller's memory. Returns 0 or -errno. */
static long read_message(struct call *c, const struct msghdr *m, struct message *out) {
  out->payload = NULL;
  out->total = 0;
  if (m->msg_iovlen > 64) return -EMSGSIZE;
  struct iovec iov[64];
  if (read_exact(c->memfd, iov, m->msg_iovlen * sizeof(struct iovec), (uint64_t)(uintptr_t)m->msg_iov) != 0) return -EFAULT;
  for (size_t i = 0; i < m->msg_iovlen; i++) {
    if (iov[i].iov_len > MAX_PAYLOAD || out->total + iov[i].iov_len > MAX_PAYLOAD) return -EMSGSIZE;
    out->total += iov[i].iov_len;
  }
  out->payload = malloc(out->total ? out->total : 1);
  if (!out->payload) return -ENOMEM;
  size_t at = 0;
  for (size_t i = 0; i < m->msg_iovlen; i++) {
    if (read_exact(c->memfd, out->payload + at, iov[i].iov_len, (uint64_t)(uintptr_t)iov[i].iov_base) != 0) return -EFAULT;
    at += iov[i].iov_len;
  }
  if (m->msg_controllen > sizeof out->control) return -ENOBUFS;
  out->controllen = m->msg_control ? m->msg_controllen : 0;
  if (read_exact(c->memfd, out->control, out->controllen, (uint64_t)(uintptr_t)m->msg_control) != 0) return -EFAULT;
  memset(&out->dest, 0, sizeof out->dest);
  /* As the kernel reads it: an address only when both the pointer and the length are given. */
  out->has_name = m->msg_name != NULL && m->msg_namelen > 0;
  out->namelen = out->has_name ? m->msg_namelen : 0;
  if (out->has_name && out->namelen > sizeof out->dest) return -EINVAL;
  if (out->has_name && read_exact(c->memfd, &out->dest, out->namelen, (uint64_t)(uintptr_t)m->msg_name) != 0) return -EFAULT;
  return 0;
}

/*
 * One message (sendto, or one of sendmsg/sendmmsg), sent by the guard from its copies. Returns bytes
 * sent or -errno. IP datagrams go where decide() says; a stream socket's send never names a
 * destination (Fast Open is refused), so its address is dropped; unix and netlink sends are
 * performed as the caller, to the peer it names only if that peer is allowed.
 */
static long send_message(struct call *c, struct message *msg, int flags) {
  struct iovec one = {.iov_base = msg->payload, .iov_len = msg->total};
  struct msghdr copy = {.msg_iov = &one, .msg_iovlen = 1, .msg_control = msg->controllen ? msg->control : NULL, .msg_controllen = msg->controllen};
  struct decision d = {.action = "pass", .reason = ""};
  long rc;
  if (flags & MSG_FASTOPEN) {
    rc = -EPERM;
    log_refusal(c, "fast-open", rc);
    return rc;
  }
  const char *control = control_refusal(c->domain, msg->control, msg->controllen);
  if (control) {
    rc = -EPERM;
    log_refusal(c, control, rc);
    return rc;
  }
  if (ioctl(c->j->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &c->j->id) != 0) return -ESRCH;
  if (c->domain == AF_UNIX || c->domain == AF_NETLINK) {
    if (msg->has_name) {
      struct classified k;
      classify_address(c->domain, 1, &msg->dest, msg->namelen, &k);
      const char *refusal = local_refusal(&k);
      if (refusal) {
        block(&d, refusal);
        log_dest(c, &msg->dest, msg->namelen, &d, -EPERM, msg->total);
        return -EPERM;
      }
      copy.msg_name = &msg->dest;
      copy.msg_namelen = msg->namelen;
    }
    struct as_caller_op op = {.connect = 0, .msg = &copy, .flags = flags};
    rc = as_caller(c, &op);
    if (msg->has_name) log_dest(c, &msg->dest, msg->namelen, &d, rc, msg->total);
    return rc;
  }
  if (c->type == SOCK_STREAM) {
    /* Blocking as the sample's socket is (the caller waits in its own thread of the guard). */
    rc = sendmsg(c->sfd, &copy, flags | MSG_NOSIGNAL);
    return rc < 0 ? -errno : rc;
  }
  if (msg->has_name) {
    decide(c->domain, c->type, 1, &msg->dest, msg->namelen, &d);
    copy.msg_name = &d.target;
    copy.msg_namelen = d.target_len;
  }
  /* No address: the socket's own peer, which only the guard's connect can have set. */
  rc = strcmp(d.action, "block") == 0 ? -EPERM : sendmsg(c->sfd, &copy, flags | MSG_DONTWAIT | MSG_NOSIGNAL);
  if (rc < 0 && strcmp(d.action, "block") != 0) rc = -errno;
  if (msg->has_name) log_dest(c, &msg->dest, msg->namelen, &d, rc, msg->total);
  return rc;
}

static long send_msghdr(struct call *c, const struct msghdr *m, int flags) {
  struct message *msg = malloc(sizeof *msg);
  if (!msg) return -ENOMEM;
  long rc = read_message(c, m, msg);
  if (rc == 0) rc = send_message(c, msg, flags);
  free(msg->payload);
  free(msg);
  return rc;
}

static void do_sendto(struct call *c) {
  struct job *j = c->j;
  /* sendto(fd, buf, len, flags, addr, addrlen) is sendmsg with one iovec. */
  struct iovec iov = {.iov_base = (void *)(uintptr_t)j->args[1], .iov_len = (size_t)j->args[2]};
  struct msghdr m = {.msg_name = (void *)(uintptr_t)j->args[4], .msg_namelen = (socklen_t)j->args[5], .msg_iov = NULL, .msg_iovlen = 1};
  if (j->args[5] > sizeof(struct sockaddr_storage)) {
    log_refusal(c, "address-too-long", -EINVAL);
    respond_rc(j, -EINVAL);
    return;
  }
  /* The iovec lives in the guard, not the caller: read_message reads it from a local copy. */
  struct message *msg = malloc(sizeof *msg);
  long rc = -ENOMEM;
  if (msg) {
    msg->payload = NULL;
    if (iov.iov_len > MAX_PAYLOAD) rc = -EMSGSIZE;
    else if (!(msg->payload = malloc(iov.iov_len ? iov.iov_len : 1))) rc = -ENOMEM;
    else if (read_exact(c->memfd, msg->payload, iov.iov_len, (uint64_t)(uintptr_t)iov.iov_base) != 0) rc = -EFAULT;
    else {
      msg->total = iov.iov_len;
      msg->controllen = 0;
      memset(&msg->dest, 0, sizeof msg->dest);
      msg->has_name = m.msg_name != NULL && m.msg_namelen > 0;
      msg->namelen = msg->has_name ? m.msg_namelen : 0;
      if (msg->has_name && read_exact(c->memfd, &msg->dest, msg->namelen, j->args[4]) != 0) rc = -EFAULT;
      else rc = send_message(c, msg, (int)j->args[3]);
    }
    free(msg->payload);
    free(msg);
  }
  if (rc == -EMSGSIZE || rc == -EFAULT || rc == -ENOMEM) log_refusal(c, "unreadable", rc);
  respond_rc(j, rc);
}

static void do_sendmmsg(struct call *c) {
  struct job *j = c->j;
  /* Message by message, each length written back as the kernel would. */
  unsigned vlen = j->args[2] > 64 ? 64 : (unsigned)j->args[2];
  long sent = 0, rc = 0;
  for (unsigned i = 0; i < vlen; i++) {
    struct mmsghdr mm;
    uint64_t at = j->args[1] + (uint64_t)i * sizeof mm;
    if (read_exact(c->memfd, &mm, sizeof mm, at) != 0) { rc = -EFAULT; break; }
    rc = send_msghdr(c, &mm.msg_hdr, (int)j->args[3]);
    if (rc < 0) break;
    unsigned len = (unsigned)rc;
    if (pwrite(c->memfd, &len, sizeof len, (off_t)(at + offsetof(struct mmsghdr, msg_len))) != (ssize_t)sizeof len) { rc = -EFAULT; break; }
    sent++;
  }
  if (sent > 0) respond(j, sent, 0);
  else respond(j, 0, rc < 0 ? (int)-rc : EINVAL);
}

static void handle(struct job *j) {
  struct call c = {.j = j, .tgid = (int)status_field(j->tid, "Tgid:", 0), .memfd = -1, .pidfd = -1, .sfd = -1, .domain = -1, .type = -1};
  if (c.tgid <= 0) goto gone;
  if (j->nr != __NR_connect && j->nr != __NR_sendto && j->nr != __NR_sendmsg && j->nr != __NR_sendmmsg) {
    /* The filter notifies nothing else; should it ever, the guard does not know the call. */
    log_refusal(&c, "unknown-call", -EPERM);
    respond(j, 0, EPERM);
    goto out;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/%u/mem", j->tid);
  /* Read-write: sendmmsg reports each message's length back into the caller's array. */
  c.memfd = open(path, (j->nr == __NR_sendmmsg ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (c.memfd < 0) goto fail_closed;
  c.pidfd = (int)syscall(SYS_pidfd_open, c.tgid, 0);
  if (c.pidfd < 0) goto gone;
  /* Still valid after pidfd_open: the pid cannot have been reused, the pidfd is the caller's. */
  if (ioctl(j->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &j->id) != 0) goto gone;
  c.sfd = (int)syscall(SYS_pidfd_getfd, c.pidfd, (int)j->args[0], 0);
  if (c.sfd < 0) {
    if (errno == EBADF) { respond(j, 0, EBADF); goto out; }
    goto fail_closed;
  }
  /* From here on the guard works on its duplicate: the socket it classified is the one it uses,
     whatever the caller's fd table says by then. */
  socklen_t ol = sizeof c.domain;
  if (getsockopt(c.sfd, SOL_SOCKET, SO_DOMAIN, &c.domain, &ol) != 0) { respond(j, 0, ENOTSOCK); goto out; }
  ol = sizeof c.type;
  if (getsockopt(c.sfd, SOL_SOCKET, SO_TYPE, &c.type, &ol) != 0) goto fail_closed;
  ol = sizeof c.protocol;
  if (getsockopt(c.sfd, SOL_SOCKET, SO_PROTOCOL, &c.protocol, &ol) != 0) goto fail_closed;

  int known = c.domain == AF_UNIX || c.domain == AF_NETLINK;
  if (c.domain == AF_INET || c.domain == AF_INET6)
    known = (c.type == SOCK_STREAM && (c.protocol == IPPROTO_TCP || c.protocol == IPPROTO_MPTCP)) ||
            (c.type == SOCK_DGRAM && c.protocol == IPPROTO_UDP);
  if (!known) {
    /* vsock (the hypervisor), ping sockets, SCTP, TIPC...: whatever the filter let be created, the
       guard only performs calls it can classify. */
    log_line("\"pid\":%d,\"tid\":%u,\"call\":\"%s\",\"family\":\"other\",\"domain\":%d,\"type\":%d,\"protocol\":%d,\"action\":\"block\","
             "\"reason\":\"socket-kind\",\"result\":%d",
             c.tgid, j->tid, call_name(j->nr), c.domain, c.type, c.protocol, -EPERM);
    respond(j, 0, EPERM);
    goto out;
  }
  if (j->nr == __NR_connect) do_connect(&c);
  else if (j->nr == __NR_sendto) do_sendto(&c);
  else if (j->nr == __NR_sendmsg) {
    struct msghdr m;
    long rc = read_exact(c.memfd, &m, sizeof m, j->args[1]) != 0 ? -EFAULT : send_msghdr(&c, &m, (int)j->args[2]);
    respond_rc(j, rc);
  } else do_sendmmsg(&c);
  goto out;

fail_closed:
  /* Without the socket or the sample's memory the guard cannot decide safely: refuse the call. */
  log_line("\"pid\":%d,\"tid\":%u,\"call\":\"%s\",\"action\":\"block\",\"reason\":\"guard-error\",\"errno\":%d", c.tgid, j->tid,
           call_name(j->nr), errno);
  respond(j, 0, EPERM);
  goto out;
gone:
  respond(j, 0, ESRCH);
out:
  if (c.sfd >= 0) close(c.sfd);
  if (c.pidfd >= 0) close(c.pidfd);
  if (c.memfd >= 0) close(c.memfd);
}

static void *worker(void *arg) {
  struct job *j = arg;
  handle(j);
  free(j->resp);
  free(j);
  return NULL;
}

/* ---------------------------------------------------------------- setup */

/* The private mount namespace. Any failure leaves the sample with the shared view, and is logged. */
static void private_mounts(void) {
  if (cfg.nhide == 0 && cfg.ntmpfs == 0 && !cfg.resolv) return;
  if (unshare(CLONE_NEWNS) != 0) {
    log_line("\"event\":\"mountns\",\"ok\":false,\"errno\":%d", errno);
    return;
  }
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
    log_line("\"event\":\"mountns\",\"ok\":false,\"errno\":%d", errno);
    return;
  }
  int failures = 0;
  for (int i = 0; i < cfg.ntmpfs; i++) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s", cfg.tmpfs[i]);
    char *colon = strrchr(dir, ':');
    if (!colon) continue;
    *colon = 0;
    char opts[64];
    snprintf(opts, sizeof opts, "size=%s,mode=1777", colon + 1);
    if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0) failures++;
  }
  for (int i = 0; i < cfg.nhide; i++)
    if (mount("tmpfs", cfg.hide[i], "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, "size=4k,mode=000") != 0) failures++;
  if (cfg.resolv && mount(cfg.resolv, "/etc/resolv.conf", NULL, MS_BIND, NULL) != 0) failures++;
  log_line("\"event\":\"mountns\",\"ok\":%s,\"failures\":%d", failures ? "false" : "true", failures);
}

/* What the kernel allows. pidfd_getfd is tried on a child that has dropped to another uid, as the
   sample will have: that needs CAP_SYS_PTRACE (SYS_PTRACE in the task definition), not just root. */
static int probe(void) {
  struct seccomp_notif_sizes sizes;
  int notif = syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) == 0;
  int getfd = 0;
  int hold[2];
  if (pipe(hold) == 0) {
    pid_t other = fork();
    if (other == 0) {
      char c;
      close(hold[1]);
      if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) _exit(1);
      _exit(read(hold[0], &c, 1) < 0);
    }
    if (other > 0) {
      int pidfd = (int)syscall(SYS_pidfd_open, other, 0);
      /* Only once the child has switched uid does the check mean anything. */
      for (int tries = 0; tries < 200 && pidfd >= 0; tries++) {
        char path[64], line[256];
        snprintf(path, sizeof path, "/proc/%d/status", other);
        FILE *f = fopen(path, "re");
        int switched = 0;
        while (f && fgets(line, sizeof line, f))
          if (strncmp(line, "Uid:", 4) == 0) switched = atoi(line + 4) == 65534;
        if (f) fclose(f);
        if (switched) break;
        usleep(1000);
      }
      if (pidfd >= 0) {
        int fd = (int)syscall(SYS_pidfd_getfd, pidfd, hold[0], 0);
        getfd = fd >= 0;
        if (fd >= 0) close(fd);
        close(pidfd);
      }
      close(hold[1]);
      waitpid(other, NULL, 0);
    }
    close(hold[0]);
  }
  int mountns = 0;
  pid_t child = fork();
  if (child == 0) _exit(unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 ? 0 : 1);
  int st;
  if (child > 0 && waitpid(child, &st, 0) == child) mountns = WIFEXITED(st) && WEXITSTATUS(st) == 0;
  printf("{\"userNotification\":%s,\"pidfdGetfd\":%s,\"mountNamespace\":%s}\n", notif ? "true" : "false", getfd ? "true" : "false",
         mountns ? "true" : "false");
  return notif && getfd ? 0 : 1;
}

static unsigned parse_port(const char *s) {
  long v = strtol(s, NULL, 10);
  if (v <= 0 || v > 65535) {
    fprintf(stderr, "sandtrap-guard: bad port %s\n", s);
    exit(125);
  }
  return (unsigned)v;
}

int main(int argc, char **argv) {
  int i = 1;
  const char *log_path = NULL;
  for (; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--probe") == 0) return probe();
    if (strcmp(a, "--") == 0) { i++; break; }
    if (!v) { fprintf(stderr, "sandtrap-guard: %s needs a value\n", a); return 125; }
    i++;
    if (strcmp(a, "--log") == 0) log_path = v;
    else if (strcmp(a, "--mode") == 0) cfg.mode = strcmp(v, "pass") == 0 ? MODE_PASS : strcmp(v, "block") == 0 ? MODE_BLOCK : MODE_REDIRECT;
    else if (strcmp(a, "--dns") == 0) cfg.dns_port = (int)parse_port(v);
    else if (strcmp(a, "--tcp") == 0) cfg.tcp_port = (int)parse_port(v);
    else if (strcmp(a, "--udp") == 0) cfg.udp_port = (int)parse_port(v);
    else if (strcmp(a, "--allow") == 0 && cfg.nallow < MAX_PORTS) cfg.allow[cfg.nallow++] = parse_port(v);
    else if (strcmp(a, "--deny") == 0 && cfg.ndeny < MAX_PORTS) cfg.deny[cfg.ndeny++] = parse_port(v);
    else if (strcmp(a, "--hide") == 0 && cfg.nhide < MAX_MOUNTS) cfg.hide[cfg.nhide++] = v;
    else if (strcmp(a, "--tmpfs") == 0 && cfg.ntmpfs < MAX_MOUNTS) cfg.tmpfs[cfg.ntmpfs++] = v;
    else if (strcmp(a, "--resolv") == 0) cfg.resolv = v;
    else { fprintf(stderr, "sandtrap-guard: unknown option %s\n", a); return 125; }
  }
  if (i >= argc || !log_path) { fprintf(stderr, "usage: sandtrap-guard --log FILE [options] -- COMMAND...\n"); return 125; }
  if (cfg.mode == MODE_REDIRECT && (!cfg.dns_port || !cfg.tcp_port || !cfg.udp_port)) {
    fprintf(stderr, "sandtrap-guard: redirect mode needs --dns, --tcp and --udp\n");
    return 125;
  }
  cfg.log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (cfg.log_fd < 0) { perror("sandtrap-guard: log"); return 125; }

  struct seccomp_notif_sizes sizes;
  if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0) {
    log_line("\"event\":\"start\",\"ok\":false,\"errno\":%d", errno);
    return 125;
  }
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sfd_chld = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);

  /* The listener is handed over with pidfd_getfd, not SCM_RIGHTS: once the filter is installed the
     child's own sendmsg would wait for a guard that does not have the listener yet. */
  int to_parent[2], to_child[2];
  if (pipe2(to_parent, O_CLOEXEC) != 0 || pipe2(to_child, O_CLOEXEC) != 0) return 125;
  pid_t child = fork();
  if (child < 0) return 125;
  if (child == 0) {
    close(to_parent[0]);
    close(to_child[1]);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    sigprocmask(SIG_UNBLOCK, &chld, NULL);
    private_mounts();
    int listener = install_filter();
    if (listener < 0) log_line("\"event\":\"start\",\"ok\":false,\"errno\":%d", errno);
    if (write(to_parent[1], &listener, sizeof listener) != sizeof listener || listener < 0) _exit(125);
    char ack;
    if (read(to_child[0], &ack, 1) != 1) _exit(125);
    /* The sample must never hold the listener: it could answer its own notifications. */
    close(listener);
    close(cfg.log_fd);
    execvp(argv[i], argv + i);
    _exit(127);
  }
  close(to_parent[1]);
  close(to_child[0]);
  int remote = -1, listener = -1;
  if (read(to_parent[0], &remote, sizeof remote) == sizeof remote && remote >= 0) {
    int pidfd = (int)syscall(SYS_pidfd_open, child, 0);
    if (pidfd >= 0) listener = (int)syscall(SYS_pidfd_getfd, pidfd, remote, 0);
    if (pidfd >= 0) close(pidfd);
  }
  if (listener < 0 || write(to_child[1], "k", 1) != 1) {
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    log_line("\"event\":\"start\",\"ok\":false,\"errno\":%d", errno);
    return 125;
  }
  close(to_parent[0]);
  close(to_child[1]);
  log_line("\"event\":\"start\",\"ok\":true,\"child\":%d", child);

  size_t notif_size = sizes.seccomp_notif > sizeof(struct seccomp_notif) ? sizes.seccomp_notif : sizeof(struct seccomp_notif);
  size_t resp_size =
      sizes.seccomp_notif_resp > sizeof(struct seccomp_notif_resp) ? sizes.seccomp_notif_resp : sizeof(struct seccomp_notif_resp);
  struct seccomp_notif *notif = malloc(notif_size);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);

  int status = 0, child_done = 0, listening = 1;
  for (;;) {
    struct pollfd p[2] = {{.fd = sfd_chld, .events = POLLIN}, {.fd = listening ? listener : -1, .events = POLLIN}};
    if (poll(p, 2, 1000) < 0 && errno != EINTR) break;
    if (p[1].revents & POLLIN) {
      memset(notif, 0, notif_size);
      if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, notif) == 0) {
        struct job *j = calloc(1, sizeof *j);
        if (j) j->resp = calloc(1, resp_size);
        if (!j || !j->resp) {
          /* Out of memory: refuse this call rather than leave it waiting. */
          struct seccomp_notif_resp *r = calloc(1, resp_size);
          if (r) {
            r->id = notif->id;
            r->error = -EPERM;
            ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, r);
            free(r);
          }
          free(j);
          continue;
        }
        j->resp_size = resp_size;
        j->listener = listener;
        j->id = notif->id;
        j->tid = notif->pid;
        j->nr = notif->data.nr;
        memcpy(j->args, notif->data.args, sizeof j->args);
        /* Each call gets a thread: a connect or a stream send may block (a slow peer, a full
           buffer) as it would for the sample, and must not hold up the other callers. */
        pthread_t t;
        if (pthread_create(&t, &attr, worker, j) != 0) worker(j);
      }
    } else if (p[1].revents & (POLLHUP | POLLERR)) {
      listening = 0; /* no task uses the filter any more */
    }
    struct signalfd_siginfo si;
    while (read(sfd_chld, &si, sizeof si) == sizeof si) {}
    for (;;) {
      int st;
      pid_t r = waitpid(-1, &st, WNOHANG);
      if (r == child) {
        status = st;
        child_done = 1;
      } else if (r <= 0) {
        if (r < 0 && errno == ECHILD && child_done) {
          log_line("\"event\":\"exit\",\"status\":%d", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
          return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        break;
      }
    }
  }
  return 125;
}
