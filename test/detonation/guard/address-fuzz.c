/*
 * Drives the guard's address and control-data classification (container/guard/guard-address.h) with
 * hostile input, built with -fsanitize=address,undefined by test/detonation/guard-address.test.ts.
 *
 *   address-fuzz fuzz ROUNDS SEED       every domain x family x length 0..GUARD_MAX_ADDR+8 x connect/send
 *                                       with random bytes, then random control data; checks the
 *                                       classifier's invariants and aborts on a violation
 *   address-fuzz classify DOMAIN SEND HEX   prints what one address classifies as, as JSON
 *
 * Each input lives in a heap block of exactly its length, so any read past it is a sanitizer report.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../container/guard/guard-address.h"

static const char *kind_name(enum addr_kind k) {
  switch (k) {
  case ADDR_IPV4: return "ipv4";
  case ADDR_IPV6: return "ipv6";
  case ADDR_DISCONNECT: return "disconnect";
  case ADDR_UNIX_PATH: return "unix-path";
  case ADDR_UNIX_ABSTRACT: return "unix-abstract";
  case ADDR_NETLINK_KERNEL: return "netlink-kernel";
  default: return "refuse";
  }
}

static uint64_t state;
static uint32_t next_random(void) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return (uint32_t)state;
}

static void fail(const char *what, int domain, int family, size_t len) {
  fprintf(stderr, "invariant broken: %s (domain %d, family %d, len %zu)\n", what, domain, family, len);
  abort();
}

/* What must hold whatever the bytes were. */
static void check(int domain, int for_send, int family, size_t len, const struct classified *c) {
  if ((c->kind == ADDR_REFUSE) != (c->why != NULL)) fail("a refusal has a reason, nothing else has", domain, family, len);
  if (c->kind != ADDR_REFUSE && (len > GUARD_MAX_ADDR || len < sizeof(sa_family_t))) fail("length out of range", domain, family, len);
  if (c->kind == ADDR_IPV6 && !(domain == AF_INET6 && family == AF_INET6 && (len == 24 || len >= 28))) fail("ipv6", domain, family, len);
  if (c->kind == ADDR_IPV4 && !((family == AF_INET && len >= 16 && (domain == AF_INET || domain == AF_INET6)) ||
                                (family == AF_INET6 && domain == AF_INET6 && (len == 24 || len >= 28))))
    fail("ipv4", domain, family, len);
  if (c->kind == ADDR_DISCONNECT && (for_send || family != AF_UNSPEC)) fail("disconnect", domain, family, len);
  if ((c->kind == ADDR_UNIX_PATH || c->kind == ADDR_UNIX_ABSTRACT) && (domain != AF_UNIX || family != AF_UNIX || len <= 2 || len > 110))
    fail("unix", domain, family, len);
  if (c->kind == ADDR_NETLINK_KERNEL && (domain != AF_NETLINK || len < sizeof(struct sockaddr_nl))) fail("netlink", domain, family, len);
  if (c->port > 65535) fail("port", domain, family, len);
}

static int fuzz(long rounds) {
  static const int domains[] = {AF_INET, AF_INET6, AF_UNIX, AF_NETLINK, AF_PACKET, AF_UNSPEC, 40 /* vsock */};
  int families[64];
  size_t nfamilies = 0;
  for (int f = 0; f <= 46; f++) families[nfamilies++] = f;
  families[nfamilies++] = 0x2a2a;
  families[nfamilies++] = 0xffff;
  families[nfamilies++] = 0x0a00; /* AF_INET6 in the wrong byte order */
  long classified = 0;
  for (long round = 0; round < rounds; round++)
    for (size_t d = 0; d < sizeof domains / sizeof domains[0]; d++)
      for (size_t f = 0; f < nfamilies; f++)
        for (size_t len = 0; len <= GUARD_MAX_ADDR + 8; len++)
          for (int for_send = 0; for_send <= 1; for_send++) {
            uint8_t *buf = malloc(len ? len : 1);
            for (size_t i = 0; i < len; i++) buf[i] = (uint8_t)next_random();
            /* Often the interesting addresses: loopback, v4-mapped, link-local, abstract names. */
            if (len >= 2) memcpy(buf, &(sa_family_t){(sa_family_t)families[f]}, 2);
            if (len >= 24 && (next_random() & 3) == 0) memset(buf + 8, 0, 10), buf[18] = buf[19] = 0xff;
            if (len >= 3 && (next_random() & 3) == 0) buf[2] = 0;
            struct classified c;
            classify_address(domains[d], for_send, buf, len, &c);
            check(domains[d], for_send, families[f], len, &c);
            (void)is_metadata_address(&c);
            (void)is_local_address(&c);
            free(buf);
            classified++;
          }
  /* Control data: runs of headers with random lengths, levels and types, and random tails. */
  for (long round = 0; round < rounds * 2000; round++) {
    size_t len = next_random() % 300;
    uint8_t *buf = malloc(len ? len : 1);
    for (size_t i = 0; i < len; i++) buf[i] = (uint8_t)next_random();
    size_t at = 0;
    while (at + sizeof(struct cmsghdr) <= len && (next_random() & 7) != 0) {
      struct cmsghdr h = {.cmsg_len = next_random() % 64, .cmsg_level = (int)(next_random() % 4 ? SOL_IP : next_random() % 300),
                          .cmsg_type = (int)(next_random() % 16)};
      if ((next_random() & 15) == 0) h.cmsg_len = (size_t)-1 - next_random() % 64;
      memcpy(buf + at, &h, sizeof h);
      at += CMSG_ALIGN(h.cmsg_len < sizeof h ? sizeof h : h.cmsg_len % 64 + sizeof h);
    }
    for (int domain = AF_UNIX; domain <= AF_INET6; domain += (domain == AF_UNIX ? AF_INET - AF_UNIX : AF_INET6 - AF_INET)) {
      const char *why = control_refusal(domain, buf, len);
      if (domain == AF_UNIX && len > 0 && why == NULL) fail("unix control data is never passed on", domain, 0, len);
    }
    free(buf);
  }
  printf("{\"classified\":%ld}\n", classified);
  return 0;
}

static int classify(int domain, int for_send, const char *hex) {
  size_t len = strlen(hex) / 2;
  uint8_t *buf = malloc(len ? len : 1);
  for (size_t i = 0; i < len; i++) {
    unsigned v;
    if (sscanf(hex + 2 * i, "%2x", &v) != 1) return 2;
    buf[i] = (uint8_t)v;
  }
  struct classified c;
  classify_address(domain, for_send, buf, len, &c);
  char ip[INET6_ADDRSTRLEN] = "";
  if (c.kind == ADDR_IPV4) inet_ntop(AF_INET, c.ip, ip, sizeof ip);
  if (c.kind == ADDR_IPV6) inet_ntop(AF_INET6, c.ip, ip, sizeof ip);
  printf("{\"kind\":\"%s\",\"why\":\"%s\",\"ip\":\"%s\",\"port\":%u,\"metadata\":%s,\"local\":%s}\n", kind_name(c.kind), c.why ? c.why : "", ip,
         c.port, is_metadata_address(&c) ? "true" : "false", is_local_address(&c) ? "true" : "false");
  free(buf);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "fuzz") == 0) {
    state = strtoull(argv[3], NULL, 10) | 1;
    return fuzz(strtol(argv[2], NULL, 10));
  }
  if (argc == 5 && strcmp(argv[1], "classify") == 0) return classify(atoi(argv[2]), atoi(argv[3]), argv[4]);
  fprintf(stderr, "usage: address-fuzz fuzz ROUNDS SEED | classify DOMAIN SEND HEX\n");
  return 2;
}
