/*
 * sandtrap-guard: the network guard of one detonation.
 *
 * Fargate offers no iptables, network namespace or custom seccomp profile, so the only in-task way to
 * keep a sample away from 169.254.170.2 (and to send hard-coded IPs to the fake network) is a seccomp
 * filter the task installs on itself. The guard forks, installs a filter that hands connect(),
 * sendto() with an address, sendmsg() and sendmmsg() to it through a seccomp user notification
 * (io_uring, x32 and TCP Fast Open are refused outright), then execs the tracer chain.
 * The root parent decides each call and performs it itself on a duplicate of the sample's socket
 * (pidfd_getfd) with its own copy of the address and payload, so a sample racing its memory cannot
 * change the destination after the check (the TOCTOU that SECCOMP_USER_NOTIF_FLAG_CONTINUE would
 * have). CONTINUE is used only where the socket itself rules out an IP destination (unix and netlink
 * sockets, a stream socket's send).
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
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN 0x20000000
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

/* JSON-safe copy of an untrusted byte string (a unix socket path). */
static void json_escape(const char *in, size_t len, char *out, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < len && in[i] && o + 7 < cap; i++) {
    unsigned char c = (unsigned char)in[i];
    if (c == '"' || c == '\\') { out[o++] = '\\'; out[o++] = (char)c; }
    else if (c < 0x20 || c >= 0x7f) o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
    else out[o++] = (char)c;
  }
  out[o] = 0;
}

/* ---------------------------------------------------------------- filter */

#define LD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define LD_ARCH BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch))
#define LD_ARG_LO(i) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[i]))
#define LD_ARG_HI(i) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[i]) + 4)
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
#define ERRNO(e) RET(SECCOMP_RET_ERRNO | (e))
/* "if nr == n return action" as two instructions */
#define ON(n, action) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (n), 0, 1), action

/* The sample's own architecture. */
static struct sock_filter native[] = {
    LD_NR,
#if defined(__x86_64__)
    /* x32 system calls would bypass the numbers below. */
    BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1), ERRNO(ENOSYS),
#endif
    ON(__NR_connect, RET(SECCOMP_RET_USER_NOTIF)),
    /* io_uring can connect without any system call the filter sees. */
    ON(__NR_io_uring_setup, ERRNO(ENOSYS)),
    ON(__NR_io_uring_enter, ERRNO(ENOSYS)),
    ON(__NR_io_uring_register, ERRNO(ENOSYS)),
    /* sendto with a destination address: notify; without one it cannot pick a destination. */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_sendto, 0, 7),
    LD_ARG_LO(4),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0),
    RET(SECCOMP_RET_USER_NOTIF),
    LD_ARG_HI(4),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
    RET(SECCOMP_RET_ALLOW),
    RET(SECCOMP_RET_USER_NOTIF),
    /* sendmsg/sendmmsg may carry an address in memory the filter cannot see: notify. TCP Fast Open
       (a connect hidden in a send) is refused outright. */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_sendmsg, 0, 4),
    LD_ARG_LO(2),
    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, MSG_FASTOPEN, 0, 1),
    ERRNO(EPERM),
    RET(SECCOMP_RET_USER_NOTIF),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_sendmmsg, 0, 4),
    LD_ARG_LO(3),
    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, MSG_FASTOPEN, 0, 1),
    ERRNO(EPERM),
    RET(SECCOMP_RET_USER_NOTIF),
    /* SCTP can connect through setsockopt (SCTP_SOCKOPT_CONNECTX), out of the guard's sight. */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 3),
    LD_ARG_LO(2),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_SCTP, 0, 1),
    ERRNO(EPROTONOSUPPORT),
    RET(SECCOMP_RET_ALLOW),
};

/* Any other architecture the kernel runs (compat mode). */
static struct sock_filter foreign[] = {
#if defined(__x86_64__)
    /* 32-bit processes get no networking: their socketcall() multiplexer hides the arguments. */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 0, 10),
    LD_NR,
    ON(102 /* socketcall */, ERRNO(EPERM)),
    ON(362 /* connect */, ERRNO(EPERM)),
    ON(369 /* sendto */, ERRNO(EPERM)),
    ON(425 /* io_uring_setup */, ERRNO(ENOSYS)),
    RET(SECCOMP_RET_ALLOW),
#endif
    RET(SECCOMP_RET_KILL_PROCESS),
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int install_filter(void) {
  static struct sock_filter prog_insns[2 + COUNT(native) + COUNT(foreign)];
  prog_insns[0] = (struct sock_filter)LD_ARCH;
  /* native: fall through into the native block; otherwise jump over it (accumulator still holds arch) */
  prog_insns[1] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 0, COUNT(native));
  memcpy(prog_insns + 2, native, sizeof native);
  memcpy(prog_insns + 2 + COUNT(native), foreign, sizeof foreign);
  struct sock_fprog prog = {.len = (unsigned short)COUNT(prog_insns), .filter = prog_insns};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
  return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
}

/* ---------------------------------------------------------------- policy */

static int port_listed(const unsigned *list, int n, unsigned port) {
  for (int i = 0; i < n; i++)
    if (list[i] == port) return 1;
  return 0;
}

/* Link-local and the cloud metadata addresses: 169.254.0.0/16 (EC2 IMDS, ECS 169.254.170.2), fe80::/10, fd00:ec2::/32. */
static int is_metadata(int family, const void *addr) {
  if (family == AF_INET) {
    const uint8_t *b = addr;
    return b[0] == 169 && b[1] == 254;
  }
  const uint8_t *b = addr;
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return 1;
  return b[0] == 0xfd && b[1] == 0x00 && b[2] == 0x0e && b[3] == 0xc2;
}

struct decision {
  const char *action; /* redirect | pass | block */
  const char *reason;
  struct sockaddr_storage target;
  socklen_t target_len;
};

/* Decides where an INET destination may go. `dest` is the guard's own copy of the sample's address. */
static void decide(int domain, int type, const struct sockaddr_storage *dest, socklen_t len, struct decision *d) {
  d->reason = "";
  memcpy(&d->target, dest, sizeof *dest);
  d->target_len = len;
  int family = dest->ss_family;
  const void *ip = NULL;
  unsigned port = 0;
  uint8_t mapped[4];
  if (family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
    const struct sockaddr_in *a = (const void *)dest;
    ip = &a->sin_addr;
    port = ntohs(a->sin_port);
  } else if (family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
    const struct sockaddr_in6 *a = (const void *)dest;
    port = ntohs(a->sin6_port);
    if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
      memcpy(mapped, &a->sin6_addr.s6_addr[12], 4);
      ip = mapped;
      family = AF_INET;
    } else {
      ip = &a->sin6_addr;
    }
  }
  if (ip == NULL) { /* AF_UNSPEC (dissolve a UDP association) or a malformed address: the kernel judges our copy */
    d->action = "pass";
    return;
  }
  int dns = type == SOCK_DGRAM && port == 53;
  if (is_metadata(family, ip)) { d->action = "block"; d->reason = "metadata"; return; }
  if (cfg.mode == MODE_BLOCK) { d->action = "block"; d->reason = "network-disabled"; return; }
  if (port_listed(cfg.deny, cfg.ndeny, port)) { d->action = "block"; d->reason = "blocked-port"; return; }
  if (cfg.nallow > 0 && !port_listed(cfg.allow, cfg.nallow, port) && !(dns && cfg.mode == MODE_REDIRECT)) {
    d->action = "block";
    d->reason = "port-not-allowed";
    return;
  }
  if (cfg.mode == MODE_PASS) { d->action = "pass"; return; }
  d->action = "redirect";
  unsigned to = dns ? (unsigned)cfg.dns_port : type == SOCK_STREAM ? (unsigned)cfg.tcp_port : (unsigned)cfg.udp_port;
  memset(&d->target, 0, sizeof d->target);
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

static void describe(const struct sockaddr_storage *a, socklen_t len, char *out, size_t cap, unsigned *port) {
  *port = 0;
  out[0] = 0;
  if (a->ss_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
    const struct sockaddr_in *v = (const void *)a;
    inet_ntop(AF_INET, &v->sin_addr, out, (socklen_t)cap);
    *port = ntohs(v->sin_port);
  } else if (a->ss_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
    const struct sockaddr_in6 *v = (const void *)a;
    if (IN6_IS_ADDR_V4MAPPED(&v->sin6_addr)) inet_ntop(AF_INET, &v->sin6_addr.s6_addr[12], out, (socklen_t)cap);
    else inet_ntop(AF_INET6, &v->sin6_addr, out, (socklen_t)cap);
    *port = ntohs(v->sin6_port);
  } else if (a->ss_family == AF_UNIX && len > (socklen_t)offsetof(struct sockaddr_un, sun_path)) {
    const struct sockaddr_un *v = (const void *)a;
    size_t n = (size_t)len - offsetof(struct sockaddr_un, sun_path);
    if (n > 0 && v->sun_path[0] == 0) { /* abstract socket */
      char name[sizeof v->sun_path];
      memcpy(name, v->sun_path + 1, n - 1);
      name[n - 1] = 0;
      char esc[380];
      json_escape(name, n - 1, esc, sizeof esc);
      snprintf(out, cap, "@%s", esc);
    } else {
      json_escape(v->sun_path, n, out, cap);
    }
  }
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

static int tgid_of(uint32_t tid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%u/status", tid);
  FILE *f = fopen(path, "re");
  if (!f) return -1;
  int tgid = -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "Tgid:", 5) == 0) {
      tgid = atoi(line + 5);
      break;
    }
  fclose(f);
  return tgid;
}

static void respond(struct job *j, int64_t val, int err, int cont) {
  memset(j->resp, 0, j->resp_size);
  j->resp->id = j->id;
  j->resp->val = val;
  j->resp->error = err ? -err : 0;
  j->resp->flags = cont ? SECCOMP_USER_NOTIF_FLAG_CONTINUE : 0;
  /* ENOENT: the caller was interrupted or died meanwhile; nothing to answer. */
  ioctl(j->listener, SECCOMP_IOCTL_NOTIF_SEND, j->resp);
}

static const char *family_name(int domain) {
  return domain == AF_INET ? "inet" : domain == AF_INET6 ? "inet6" : domain == AF_UNIX ? "unix" : "other";
}
static const char *type_name(int type) {
  return type == SOCK_STREAM ? "tcp" : type == SOCK_DGRAM ? "udp" : "other";
}

/* What one notification is about, read from the caller's memory into the guard's own copies. */
struct call {
  struct job *j;
  int tgid;
  int memfd;
  int sfd;
  int domain, type;
};

static const char *call_name(int nr) {
  return nr == __NR_connect ? "connect" : nr == __NR_sendto ? "sendto" : nr == __NR_sendmsg ? "sendmsg" : "sendmmsg";
}

static int read_exact(int memfd, void *to, size_t len, uint64_t from) {
  return len == 0 || pread(memfd, to, len, (off_t)from) == (ssize_t)len ? 0 : -1;
}

/* Logs one IP destination decision. */
static void log_ip(struct call *c, const struct sockaddr_storage *dest, socklen_t len, const struct decision *d, long result, size_t bytes) {
  char where[400], to[128] = "", local_addr[64];
  unsigned port, to_port = 0, local_port = 0;
  describe(dest, len, where, sizeof where, &port);
  if (strcmp(d->action, "redirect") == 0) describe(&d->target, d->target_len, to, sizeof to, &to_port);
  struct sockaddr_storage local;
  socklen_t ll = sizeof local;
  if (getsockname(c->sfd, (struct sockaddr *)&local, &ll) == 0) describe(&local, ll, local_addr, sizeof local_addr, &local_port);
  log_line("\"pid\":%d,\"tid\":%u,\"call\":\"%s\",\"family\":\"%s\",\"proto\":\"%s\",\"addr\":\"%s\",\"port\":%u,\"action\":\"%s\","
           "\"reason\":\"%s\",\"to\":\"%s\",\"toPort\":%u,\"localPort\":%u,\"bytes\":%zu,\"result\":%ld",
           c->tgid, c->j->tid, call_name(c->j->nr), family_name(c->domain), type_name(c->type), where, port, d->action, d->reason, to,
           to_port, local_port, bytes, result);
}

/* connect(): decided on the guard's copy of the address and performed by the guard itself. */
static void do_connect(struct call *c) {
  struct job *j = c->j;
  struct sockaddr_storage dest;
  memset(&dest, 0, sizeof dest);
  if (j->args[2] > sizeof dest) { respond(j, 0, EINVAL, 0); return; }
  if (read_exact(c->memfd, &dest, (size_t)j->args[2], j->args[1]) != 0) { respond(j, 0, EFAULT, 0); return; }
  struct decision d;
  decide(c->domain, c->type, &dest, (socklen_t)j->args[2], &d);
  long rc = -EPERM;
  if (strcmp(d.action, "block") != 0) rc = connect(c->sfd, (struct sockaddr *)&d.target, d.target_len) == 0 ? 0 : -errno;
  log_ip(c, &dest, (socklen_t)j->args[2], &d, rc, 0);
  respond(j, rc < 0 ? 0 : rc, rc < 0 ? (int)-rc : 0, 0);
}

/*
 * One datagram (sendto, or one message of sendmsg/sendmmsg) on an IP datagram socket, sent by the
 * guard from its copies: the payload, the address (if any) and the control data. Returns bytes sent
 * or -errno.
 */
static long send_datagram(struct call *c, const struct msghdr *m, int flags) {
  if (m->msg_iovlen > 64) return -EMSGSIZE;
  struct iovec iov[64];
  if (read_exact(c->memfd, iov, m->msg_iovlen * sizeof(struct iovec), (uint64_t)(uintptr_t)m->msg_iov) != 0) return -EFAULT;
  size_t total = 0;
  for (size_t i = 0; i < m->msg_iovlen; i++) {
    if (iov[i].iov_len > MAX_PAYLOAD || total + iov[i].iov_len > MAX_PAYLOAD) return -EMSGSIZE;
    total += iov[i].iov_len;
  }
  char *payload = malloc(total ? total : 1);
  char control[4096];
  struct sockaddr_storage dest;
  if (!payload) return -ENOMEM;
  long rc;
  size_t at = 0;
  for (size_t i = 0; i < m->msg_iovlen; i++) {
    if (read_exact(c->memfd, payload + at, iov[i].iov_len, (uint64_t)(uintptr_t)iov[i].iov_base) != 0) { rc = -EFAULT; goto out; }
    at += iov[i].iov_len;
  }
  if (m->msg_controllen > sizeof control) { rc = -ENOBUFS; goto out; }
  if (read_exact(c->memfd, control, m->msg_controllen, (uint64_t)(uintptr_t)m->msg_control) != 0) { rc = -EFAULT; goto out; }
  if (m->msg_name && m->msg_namelen > sizeof dest) { rc = -EINVAL; goto out; }
  memset(&dest, 0, sizeof dest);
  if (m->msg_name && read_exact(c->memfd, &dest, m->msg_namelen, (uint64_t)(uintptr_t)m->msg_name) != 0) { rc = -EFAULT; goto out; }
  if (ioctl(c->j->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &c->j->id) != 0) { rc = -ESRCH; goto out; }
  struct iovec one = {.iov_base = payload, .iov_len = total};
  struct msghdr copy = {.msg_iov = &one, .msg_iovlen = 1, .msg_control = m->msg_controllen ? control : NULL, .msg_controllen = m->msg_controllen};
  struct decision d = {.action = "pass", .reason = ""};
  if (m->msg_name && m->msg_namelen > 0) {
    decide(c->domain, c->type, &dest, m->msg_namelen, &d);
    copy.msg_name = &d.target;
    copy.msg_namelen = d.target_len;
  }
  /* No address: the socket's own peer, which only the guard's connect can have set. */
  rc = strcmp(d.action, "block") == 0 ? -EPERM : sendmsg(c->sfd, &copy, flags | MSG_DONTWAIT | MSG_NOSIGNAL);
  if (rc < 0 && strcmp(d.action, "block") != 0) rc = -errno;
  if (copy.msg_name) log_ip(c, &dest, m->msg_namelen, &d, rc, total);
out:
  free(payload);
  return rc;
}

static void handle(struct job *j) {
  struct call c = {.j = j, .tgid = tgid_of(j->tid), .memfd = -1, .sfd = -1};
  int pidfd = -1;
  if (c.tgid < 0) goto gone;
  char path[64];
  snprintf(path, sizeof path, "/proc/%u/mem", j->tid);
  /* Read-write: sendmmsg reports each message's length back into the caller's array. */
  c.memfd = open(path, (j->nr == __NR_sendmmsg ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (c.memfd < 0) goto fail_closed;
  pidfd = (int)syscall(SYS_pidfd_open, c.tgid, 0);
  if (pidfd < 0) goto gone;
  /* Still valid after pidfd_open: the pid cannot have been reused, the pidfd is the caller's. */
  if (ioctl(j->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &j->id) != 0) goto gone;
  c.sfd = (int)syscall(SYS_pidfd_getfd, pidfd, (int)j->args[0], 0);
  if (c.sfd < 0) {
    if (errno == EBADF) { respond(j, 0, EBADF, 0); goto out; }
    goto fail_closed;
  }
  socklen_t ol = sizeof c.domain;
  if (getsockopt(c.sfd, SOL_SOCKET, SO_DOMAIN, &c.domain, &ol) != 0) { respond(j, 0, ENOTSOCK, 0); goto out; }
  ol = sizeof c.type;
  getsockopt(c.sfd, SOL_SOCKET, SO_TYPE, &c.type, &ol);

  if (c.domain == AF_UNIX || c.domain == AF_NETLINK) {
    /* A socket's family is fixed at creation: whatever the sample writes into the address now,
       this socket cannot reach an IP destination, so letting the kernel re-read it is safe. */
    if (j->nr == __NR_connect) {
      struct sockaddr_storage dest;
      memset(&dest, 0, sizeof dest);
      size_t len = j->args[2] > sizeof dest ? sizeof dest : (size_t)j->args[2];
      char where[400] = "";
      unsigned port;
      if (read_exact(c.memfd, &dest, len, j->args[1]) == 0) describe(&dest, (socklen_t)len, where, sizeof where, &port);
      log_line("\"pid\":%d,\"tid\":%u,\"call\":\"connect\",\"family\":\"%s\",\"addr\":\"%s\",\"action\":\"continue\"", c.tgid, j->tid,
               family_name(c.domain), where);
    }
    respond(j, 0, 0, 1);
    goto out;
  }
  if (c.domain != AF_INET && c.domain != AF_INET6) {
    /* vsock (the hypervisor), bluetooth, TIPC...: no business of a sample's. */
    log_line("\"pid\":%d,\"tid\":%u,\"call\":\"%s\",\"family\":\"other\",\"domain\":%d,\"action\":\"block\",\"reason\":\"family\",\"result\":%d",
             c.tgid, j->tid, call_name(j->nr), c.domain, -EPERM);
    respond(j, 0, EPERM, 0);
    goto out;
  }
  if (j->nr == __NR_connect) {
    do_connect(&c);
    goto out;
  }
  if (c.type == SOCK_STREAM) {
    /* A stream socket ignores a send's address (Fast Open, which would not, is refused by the filter). */
    respond(j, 0, 0, 1);
    goto out;
  }
  if (j->nr == __NR_sendto) {
    size_t len = (size_t)j->args[2];
    char *payload = NULL;
    struct sockaddr_storage dest;
    memset(&dest, 0, sizeof dest);
    long rc;
    if (len > MAX_PAYLOAD) rc = -EMSGSIZE;
    else if (j->args[5] > sizeof dest) rc = -EINVAL;
    else if (!(payload = malloc(len ? len : 1))) rc = -ENOMEM;
    else if (read_exact(c.memfd, payload, len, j->args[1]) != 0 || read_exact(c.memfd, &dest, (size_t)j->args[5], j->args[4]) != 0) rc = -EFAULT;
    else if (ioctl(j->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &j->id) != 0) rc = -ESRCH;
    else {
      struct decision d;
      decide(c.domain, c.type, &dest, (socklen_t)j->args[5], &d);
      if (strcmp(d.action, "block") == 0) rc = -EPERM;
      else {
        rc = sendto(c.sfd, payload, len, (int)j->args[3] | MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&d.target, d.target_len);
        if (rc < 0) rc = -errno;
      }
      log_ip(&c, &dest, (socklen_t)j->args[5], &d, rc, len);
    }
    free(payload);
    respond(j, rc < 0 ? 0 : rc, rc < 0 ? (int)-rc : 0, 0);
    goto out;
  }
  if (j->nr == __NR_sendmsg) {
    struct msghdr m;
    long rc = read_exact(c.memfd, &m, sizeof m, j->args[1]) != 0 ? -EFAULT : send_datagram(&c, &m, (int)j->args[2]);
    respond(j, rc < 0 ? 0 : rc, rc < 0 ? (int)-rc : 0, 0);
    goto out;
  }
  /* sendmmsg: message by message, each length written back as the kernel would. */
  unsigned vlen = j->args[2] > 64 ? 64 : (unsigned)j->args[2];
  long sent = 0, rc = 0;
  for (unsigned i = 0; i < vlen; i++) {
    struct mmsghdr mm;
    uint64_t at = j->args[1] + (uint64_t)i * sizeof mm;
    if (read_exact(c.memfd, &mm, sizeof mm, at) != 0) { rc = -EFAULT; break; }
    rc = send_datagram(&c, &mm.msg_hdr, (int)j->args[3]);
    if (rc < 0) break;
    unsigned len = (unsigned)rc;
    if (pwrite(c.memfd, &len, sizeof len, (off_t)(at + offsetof(struct mmsghdr, msg_len))) != (ssize_t)sizeof len) { rc = -EFAULT; break; }
    sent++;
  }
  if (sent > 0) respond(j, sent, 0, 0);
  else respond(j, 0, rc < 0 ? (int)-rc : EINVAL, 0);
  goto out;

fail_closed:
  /* Without the socket or the sample's memory the guard cannot decide safely: refuse the call. */
  log_line("\"pid\":%d,\"tid\":%u,\"call\":\"%s\",\"action\":\"block\",\"reason\":\"guard-error\",\"errno\":%d", c.tgid, j->tid,
           call_name(j->nr), errno);
  respond(j, 0, EPERM, 0);
  goto out;
gone:
  respond(j, 0, ESRCH, 0);
out:
  if (c.sfd >= 0) close(c.sfd);
  if (pidfd >= 0) close(pidfd);
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
        j->resp = calloc(1, resp_size);
        j->resp_size = resp_size;
        j->listener = listener;
        j->id = notif->id;
        j->tid = notif->pid;
        j->nr = notif->data.nr;
        memcpy(j->args, notif->data.args, sizeof j->args);
        /* A connect may block (a slow peer): it gets a thread. Sends never wait (MSG_DONTWAIT) and
           are answered in line, which keeps the cost of a sendmsg-heavy sample down. */
        pthread_t t;
        if (j->nr != __NR_connect || pthread_create(&t, &attr, worker, j) != 0) worker(j);
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
