/*
 * An inert network probe: it tries one way of naming a peer, aimed at a port the test gives it on
 * 127.0.0.1 / ::1 (the test's canaries) or at a unix socket the test names, and prints what the
 * call returned as one JSON line. It talks to nothing else.
 *
 *   net-probe CALL ABI FORM PORT [UNIX-NAME]
 *
 * CALL  connect | sendto | sendto-fastopen | sendmsg | sendmsg-fastopen | sendmmsg | socketcall-connect
 *       | io_uring_setup | x32-connect | race | after-stdin (connects once a line arrives on stdin,
 *       800 ms later if the line is "late")
 * ABI   x86_64 | i386 (the i386 calls go through `int $0x80` from this 64-bit process, with every
 *       pointer in the low 4 GiB, which is what a 32-bit sample or a hand-written bypass does)
 * FORM  v4 | v6 | v6-24 | v4-mapped | unix-abstract | unix-path | len3 | len15 | len27 | unknown-family
 *       | unspec
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN 0x20000000
#endif

static const char PAYLOAD[] = "SANDTRAP-PROBE";

/* One i386 system call through int $0x80; arguments are 32-bit values (pointers below 4 GiB). */
static long sys32(uint32_t nr, uint32_t a, uint32_t b, uint32_t c, uint32_t d, uint32_t e, uint32_t f) {
  uint32_t args[6] = {a, b, c, d, e, f};
  register uint32_t *p __asm__("r8") = args;
  long ret;
  __asm__ volatile(
      "mov %%rbx, %%r9\n\t"
      "mov %%rbp, %%r10\n\t"
      "mov 4(%%r8), %%ecx\n\t"
      "mov 8(%%r8), %%edx\n\t"
      "mov 12(%%r8), %%esi\n\t"
      "mov 16(%%r8), %%edi\n\t"
      "mov 20(%%r8), %%ebp\n\t"
      "mov 0(%%r8), %%ebx\n\t"
      "int $0x80\n\t"
      "mov %%r9, %%rbx\n\t"
      "mov %%r10, %%rbp\n\t"
      : "=a"(ret)
      : "a"((long)nr), "r"(p)
      : "rcx", "rdx", "rsi", "rdi", "r9", "r10", "r11", "memory");
  int r = (int)ret;
  if (r < 0 && r > -4096) {
    errno = -r;
    return -1;
  }
  return r;
}

/* Memory an i386 call can point at. */
static uint8_t *low;
static uint32_t low32(const void *p) { return (uint32_t)(uintptr_t)p; }

struct target {
  int domain, type;
  struct sockaddr_storage addr;
  socklen_t len;
};

/* The destination of FORM on PORT, and the socket to name it from. */
static int make_target(const char *form, int port, int stream, const char *unix_name, struct target *t) {
  memset(t, 0, sizeof *t);
  t->type = stream ? SOCK_STREAM : SOCK_DGRAM;
  struct sockaddr_in *v4 = (void *)&t->addr;
  struct sockaddr_in6 *v6 = (void *)&t->addr;
  struct sockaddr_un *un = (void *)&t->addr;
  if (!strcmp(form, "v4") || !strcmp(form, "len3") || !strcmp(form, "len15") || !strcmp(form, "unknown-family") ||
      !strcmp(form, "unspec")) {
    t->domain = AF_INET;
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    t->len = sizeof *v4;
    if (!strcmp(form, "len3")) t->len = 3;
    if (!strcmp(form, "len15")) t->len = 15;
    if (!strcmp(form, "unknown-family")) v4->sin_family = 0x2a2a;
    if (!strcmp(form, "unspec")) v4->sin_family = AF_UNSPEC;
    return 0;
  }
  if (!strcmp(form, "v6") || !strcmp(form, "v6-24") || !strcmp(form, "v4-mapped") || !strcmp(form, "len27")) {
    t->domain = AF_INET6;
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    inet_pton(AF_INET6, !strcmp(form, "v4-mapped") ? "::ffff:127.0.0.1" : "::1", &v6->sin6_addr);
    t->len = !strcmp(form, "v6-24") ? 24 : !strcmp(form, "len27") ? 27 : sizeof *v6;
    return 0;
  }
  if (!strcmp(form, "unix-abstract") || !strcmp(form, "unix-path")) {
    if (!unix_name || strlen(unix_name) >= sizeof un->sun_path - 1) return -1;
    t->domain = AF_UNIX;
    un->sun_family = AF_UNIX;
    int abstract = !strcmp(form, "unix-abstract");
    memcpy(un->sun_path + abstract, unix_name, strlen(unix_name));
    t->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + abstract + strlen(unix_name));
    return 0;
  }
  return -1;
}

static void print(const char *what, long rc, int err) {
  printf("{\"what\":\"%s\",\"rc\":%ld,\"errno\":%d,\"error\":\"%s\"}\n", what, rc, rc < 0 ? err : 0, rc < 0 ? strerror(err) : "");
  fflush(stdout);
}

/* After a connect that worked, bytes: a connection that reached a canary then shows up in its log. */
static void send_payload(int fd) {
  if (write(fd, PAYLOAD, sizeof PAYLOAD - 1) < 0) { /* the result printed is the connect's */ }
}

static long do_call(const char *call, int i386, struct target *t) {
  int fd = socket(t->domain, t->type, 0);
  if (fd < 0) return -1;
  /* Everything an i386 call reads lives in low memory. */
  uint8_t *addr = low, *data = low + 256, *iov = low + 512, *msg = low + 576, *argsv = low + 704;
  memcpy(addr, &t->addr, sizeof t->addr);
  memcpy(data, PAYLOAD, sizeof PAYLOAD - 1);
  size_t n = sizeof PAYLOAD - 1;
  int fastopen = strstr(call, "fastopen") != NULL;
  long rc = -1;
  if (!strcmp(call, "connect")) {
    rc = i386 ? sys32(362, (uint32_t)fd, low32(addr), t->len, 0, 0, 0) : connect(fd, (void *)addr, t->len);
    if (rc == 0) send_payload(fd);
  } else if (!strcmp(call, "socketcall-connect")) {
    uint32_t a[3] = {(uint32_t)fd, low32(addr), t->len};
    memcpy(argsv, a, sizeof a);
    rc = sys32(102, 3 /* SYS_CONNECT */, low32(argsv), 0, 0, 0, 0);
    if (rc == 0) send_payload(fd);
  } else if (!strncmp(call, "sendto", 6)) {
    int flags = fastopen ? MSG_FASTOPEN : 0;
    rc = i386 ? sys32(369, (uint32_t)fd, low32(data), (uint32_t)n, (uint32_t)flags, low32(addr), t->len)
              : sendto(fd, data, n, flags, (void *)addr, t->len);
  } else if (!strncmp(call, "sendmsg", 7) || !strcmp(call, "sendmmsg")) {
    int flags = fastopen ? MSG_FASTOPEN : 0;
    int many = !strcmp(call, "sendmmsg");
    if (i386) {
      uint32_t v[2] = {low32(data), (uint32_t)n};
      uint32_t m[8] = {low32(addr), t->len, low32(iov), 1, 0, 0, 0, 0}; /* msghdr32, then mmsghdr32's msg_len */
      memcpy(iov, v, sizeof v);
      memcpy(msg, m, sizeof m);
      rc = many ? sys32(345, (uint32_t)fd, low32(msg), 1, (uint32_t)flags, 0, 0) : sys32(370, (uint32_t)fd, low32(msg), (uint32_t)flags, 0, 0, 0);
    } else {
      struct iovec v = {.iov_base = data, .iov_len = n};
      struct mmsghdr m = {.msg_hdr = {.msg_name = addr, .msg_namelen = t->len, .msg_iov = &v, .msg_iovlen = 1}};
      rc = many ? syscall(SYS_sendmmsg, fd, &m, 1, flags) : sendmsg(fd, &m.msg_hdr, flags);
    }
  }
  int err = errno;
  close(fd);
  errno = err;
  return rc;
}

/* Swaps an IP socket onto a unix socket's number while another thread connects through it, and
   rewrites the address under it: a guard that let the kernel re-read either would be bypassed. */
static struct target race_unix, race_ip;
static volatile int racing = 1;
static uint8_t *race_addr;
static void *swapper(void *arg) {
  int slot = *(int *)arg;
  int unix_fd = socket(AF_UNIX, SOCK_STREAM, 0), ip_fd = socket(AF_INET, SOCK_STREAM, 0);
  for (unsigned i = 0; racing; i++) {
    dup2(i & 1 ? ip_fd : unix_fd, slot);
    memcpy(race_addr, i & 2 ? (void *)&race_ip.addr : (void *)&race_unix.addr, sizeof race_ip.addr);
    if ((i & 1) == 0) {
      /* a fresh, unconnected IP socket for the next round */
      close(ip_fd);
      ip_fd = socket(AF_INET, SOCK_STREAM, 0);
    }
  }
  return NULL;
}

static void race(int port, const char *unix_name) {
  if (make_target("unix-path", port, 1, unix_name, &race_unix) != 0 || make_target("v4", port, 1, NULL, &race_ip) != 0) {
    print("race", -1, EINVAL);
    return;
  }
  race_addr = low;
  int slot = 100;
  dup2(socket(AF_UNIX, SOCK_STREAM, 0), slot);
  pthread_t t;
  pthread_create(&t, NULL, swapper, &slot);
  long ok = 0;
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  do {
    if (connect(slot, (void *)race_addr, sizeof(struct sockaddr_in6)) == 0) {
      ok++;
      send_payload(slot);
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
  } while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 < 1500);
  racing = 0;
  pthread_join(t, NULL);
  print("race", ok, 0);
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: net-probe CALL ABI FORM PORT [UNIX-NAME]\n");
    return 2;
  }
  const char *call = argv[1], *form = argv[3], *unix_name = argc > 5 ? argv[5] : NULL;
  int i386 = !strcmp(argv[2], "i386");
  int port = atoi(argv[4]);
  signal(SIGPIPE, SIG_IGN);
  low = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
  if (low == MAP_FAILED) return 2;
  memset(low, 0, 4096);

  if (!strcmp(call, "io_uring_setup")) {
    long rc = i386 ? sys32(425, 8, low32(low), 0, 0, 0, 0) : syscall(425, 8, low);
    print(call, rc, errno);
    return 0;
  }
  if (!strcmp(call, "x32-connect")) {
    struct target t;
    make_target("v4", port, 1, NULL, &t);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    long rc = syscall(0x40000000 | 42 /* x32 connect */, fd, &t.addr, t.len);
    print(call, rc, errno);
    return 0;
  }
  if (!strcmp(call, "race")) {
    race(port, unix_name);
    return 0;
  }
  if (!strcmp(call, "after-stdin")) {
    /* A grandchild, which outlives the guard's own child (killed with the guard by PDEATHSIG):
       it connects once the test has written a line, after killing or stopping the guard. */
    pid_t child = fork();
    if (child > 0) {
      waitpid(child, NULL, 0);
      return 0;
    }
    char line[16];
    if (!fgets(line, sizeof line, stdin)) return 1;
    /* "late": the test kills the guard right after writing the line; connect once it is gone. */
    if (!strncmp(line, "late", 4)) usleep(800 * 1000);
    struct target t;
    make_target(form, port, 1, unix_name, &t);
    long rc = do_call("connect", i386, &t);
    print(call, rc, errno);
    return 0;
  }
  int stream = !strcmp(call, "connect") || !strcmp(call, "socketcall-connect") || strstr(call, "fastopen") != NULL;
  struct target t;
  if (make_target(form, port, stream, unix_name, &t) != 0) {
    print(call, -1, EINVAL);
    return 0;
  }
  long rc = do_call(call, i386, &t);
  print(call, rc, errno);
  return 0;
}
