/*
 * sandtrap-guard: the network guard of one detonation.
 *
 * Fargate offers no iptables, network namespace or custom seccomp profile, so the only in-task way to
 * keep a sample away from 169.254.170.2 (and to send hard-coded IPs to the fake network) is a seccomp
 * filter the task installs on itself. The guard forks, installs a filter that hands connect() (and
 * sendto() with an address) to it through a seccomp user notification, then execs the tracer chain.
 * The root parent decides each call and performs it itself on a duplicate of the sample's socket
 * (pidfd_getfd) with its own copy of the address, so a sample racing its memory cannot change the
 * destination after the check (the TOCTOU that SECCOMP_USER_NOTIF_FLAG_CONTINUE would have).
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
    /* TCP Fast Open would connect inside sendmsg/sendmmsg. */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_sendmsg, 0, 4),
    LD_ARG_LO(2),
    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, MSG_FASTOPEN, 0, 1),
    ERRNO(EPERM),
    RET(SECCOMP_RET_ALLOW),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_sendmmsg, 0, 4),
    LD_ARG_LO(3),
    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, MSG_FASTOPEN, 0, 1),
    ERRNO(EPERM),
    RET(SECCOMP_RET_ALLOW),
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

static void handle(struct job *j) {
  const char *call = j->nr == __NR_connect ? "connect" : "sendto";
  int fd = (int)j->args[0];
  uint64_t addr_ptr = j->nr == __NR_connect ? j->args[1] : j->args[4];
  uint64_t addr_len = j->nr == __NR_connect ? j->args[2] : j->args[5];
  int tgid = tgid_of(j->tid);
  int memfd = -1, pidfd = -1, sfd = -1;
  char *payload = NULL;
  struct sockaddr_storage dest;
  memset(&dest, 0, sizeof dest);

  if (tgid < 0) goto gone;
  char path[64];
  snprintf(path, sizeof path, "/proc/%u/mem", j->tid);
  memfd = open(path, O_RDONLY | O_CLOEXEC);
  if (memfd < 0) goto fail_closed;
  if (ioctl(j->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &j->id) != 0) goto gone;
  if (addr_len > sizeof dest) { respond(j, 0, EINVAL, 0); goto out; }
  if (pread(memfd, &dest, (size_t)addr_len, (off_t)addr_ptr) != (ssize_t)addr_len) { respond(j, 0, EFAULT, 0); goto out; }

  pidfd = (int)syscall(SYS_pidfd_open, tgid, 0);
  if (pidfd < 0) goto gone;
  sfd = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
  if (sfd < 0) {
    if (errno == EBADF) { respond(j, 0, EBADF, 0); goto out; }
    goto fail_closed;
  }
  int domain = 0, type = 0;
  socklen_t ol = sizeof domain;
  if (getsockopt(sfd, SOL_SOCKET, SO_DOMAIN, &domain, &ol) != 0) { respond(j, 0, ENOTSOCK, 0); goto out; }
  ol = sizeof type;
  getsockopt(sfd, SOL_SOCKET, SO_TYPE, &type, &ol);

  char where[400];
  unsigned port;
  describe(&dest, (socklen_t)addr_len, where, sizeof where, &port);

  if (domain != AF_INET && domain != AF_INET6) {
    /* A socket's family is fixed at creation: whatever the sample writes into the address now, this
       socket cannot reach an IP destination, so letting the kernel re-read it is safe. */
    log_line("\"pid\":%d,\"tid\":%u,\"call\":\"%s\",\"family\":\"%s\",\"addr\":\"%s\",\"action\":\"continue\"", tgid, j->tid,
             call, family_name(domain), where);
    respond(j, 0, 0, 1);
    goto out;
  }
  if (j->nr == __NR_sendto && type == SOCK_STREAM) {
    /* A stream socket ignores sendto's address unless MSG_FASTOPEN asks it to connect. */
    if (j->args[3] & MSG_FASTOPEN) {
      log_line("\"pid\":%d,\"tid\":%u,\"call\":\"sendto\",\"family\":\"%s\",\"proto\":\"tcp\",\"addr\":\"%s\",\"port\":%u,"
               "\"action\":\"block\",\"reason\":\"fastopen\",\"result\":%d",
               tgid, j->tid, family_name(domain), where, port, -EPERM);
      respond(j, 0, EPERM, 0);
    } else {
      respond(j, 0, 0, 1);
    }
    goto out;
  }

  struct decision d;
  decide(domain, type, &dest, (socklen_t)addr_len, &d);
  long rc;
  int err = 0;
  size_t bytes = 0;
  if (strcmp(d.action, "block") == 0) {
    rc = -1;
    err = EPERM;
  } else if (j->nr == __NR_connect) {
    rc = connect(sfd, (struct sockaddr *)&d.target, d.target_len);
    if (rc < 0) err = errno;
  } else {
    bytes = (size_t)j->args[2];
    if (bytes > MAX_PAYLOAD) {
      rc = -1;
      err = EMSGSIZE;
    } else {
      payload = malloc(bytes ? bytes : 1);
      if (!payload) goto fail_closed;
      if (bytes && pread(memfd, payload, bytes, (off_t)j->args[1]) != (ssize_t)bytes) { respond(j, 0, EFAULT, 0); goto out; }
      if (ioctl(j->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &j->id) != 0) goto gone;
      rc = sendto(sfd, payload, bytes, (int)j->args[3], (struct sockaddr *)&d.target, d.target_len);
      if (rc < 0) err = errno;
    }
  }
  struct sockaddr_storage local;
  socklen_t ll = sizeof local;
  unsigned local_port = 0;
  char local_addr[64] = "";
  if (getsockname(sfd, (struct sockaddr *)&local, &ll) == 0) describe(&local, ll, local_addr, sizeof local_addr, &local_port);
  char to[128] = "";
  unsigned to_port = 0;
  if (strcmp(d.action, "redirect") == 0) describe(&d.target, d.target_len, to, sizeof to, &to_port);
  log_line("\"pid\":%d,\"tid\":%u,\"call\":\"%s\",\"family\":\"%s\",\"proto\":\"%s\",\"addr\":\"%s\",\"port\":%u,\"action\":\"%s\","
           "\"reason\":\"%s\",\"to\":\"%s\",\"toPort\":%u,\"localPort\":%u,\"bytes\":%zu,\"result\":%ld",
           tgid, j->tid, call, family_name(domain), type_name(type), where, port, d.action, d.reason, to, to_port, local_port, bytes,
           rc < 0 ? -(long)err : rc);
  respond(j, rc < 0 ? 0 : rc, rc < 0 ? err : 0, 0);
  goto out;

fail_closed:
  /* Without the socket or the sample's memory the guard cannot decide safely: refuse the call. */
  log_line("\"pid\":%d,\"tid\":%u,\"call\":\"%s\",\"action\":\"block\",\"reason\":\"guard-error\",\"errno\":%d", tgid, j->tid, call, errno);
  respond(j, 0, EPERM, 0);
  goto out;
gone:
  respond(j, 0, ESRCH, 0);
out:
  free(payload);
  if (sfd >= 0) close(sfd);
  if (pidfd >= 0) close(pidfd);
  if (memfd >= 0) close(memfd);
}

static void *worker(void *arg) {
  struct job *j = arg;
  handle(j);
  free(j->resp);
  free(j);
  return NULL;
}

/* ---------------------------------------------------------------- setup */

static int send_fd(int sock, int fd) {
  char data = 'L';
  struct iovec iov = {.iov_base = &data, .iov_len = 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  memset(&u, 0, sizeof u);
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock) {
  char data;
  struct iovec iov = {.iov_base = &data, .iov_len = 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1) return -1;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

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

static int probe(void) {
  struct seccomp_notif_sizes sizes;
  int notif = syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) == 0;
  int getfd = 0;
  int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
  if (pidfd >= 0) {
    int fd = (int)syscall(SYS_pidfd_getfd, pidfd, pidfd, 0);
    getfd = fd >= 0;
    if (fd >= 0) close(fd);
    close(pidfd);
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

  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return 125;
  pid_t child = fork();
  if (child < 0) return 125;
  if (child == 0) {
    close(sv[0]);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    sigprocmask(SIG_UNBLOCK, &chld, NULL);
    private_mounts();
    int listener = install_filter();
    if (listener < 0) {
      log_line("\"event\":\"start\",\"ok\":false,\"errno\":%d", errno);
      _exit(125);
    }
    if (send_fd(sv[1], listener) != 0) _exit(125);
    /* The sample must never hold the listener: it could answer its own notifications. */
    close(listener);
    close(sv[1]);
    close(cfg.log_fd);
    execvp(argv[i], argv + i);
    _exit(127);
  }
  close(sv[1]);
  int listener = recv_fd(sv[0]);
  close(sv[0]);
  if (listener < 0) {
    waitpid(child, NULL, 0);
    log_line("\"event\":\"start\",\"ok\":false,\"errno\":0");
    return 125;
  }
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
        pthread_t t;
        if (pthread_create(&t, &attr, worker, j) != 0) {
          handle(j);
          free(j->resp);
          free(j);
        }
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
