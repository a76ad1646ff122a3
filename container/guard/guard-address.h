/*
 * What a destination address named by the sample is, decided on the guard's own copy of its bytes.
 *
 * Everything here reads only the buffer it is given, bounded by the length it is given, so it can be
 * built on its own under AddressSanitizer and UndefinedBehaviorSanitizer and fed hostile bytes
 * (test/detonation/guard/address-fuzz.c). Whatever this file cannot classify fully is ADDR_REFUSE:
 * the guard never hands an address it did not understand to the kernel.
 */
#ifndef SANDTRAP_GUARD_ADDRESS_H
#define SANDTRAP_GUARD_ADDRESS_H

#include <linux/netlink.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

/* The kernel copies at most this many address bytes from user space (sizeof(struct sockaddr_storage)). */
#define GUARD_MAX_ADDR 128
/* The kernel's minimum for an IPv6 address: RFC 2133's sockaddr_in6, without sin6_scope_id. */
#define GUARD_SIN6_LEN_RFC2133 24

enum addr_kind {
  ADDR_REFUSE,        /* not understood, or not allowed to be understood: refused */
  ADDR_IPV4,          /* ip[0..3] (also an IPv4-mapped IPv6 address) */
  ADDR_IPV6,          /* ip[0..15] */
  ADDR_DISCONNECT,    /* connect(AF_UNSPEC): dissolve the association, no destination */
  ADDR_UNIX_PATH,     /* a filesystem socket: the kernel checks it with the sample's own credentials */
  ADDR_UNIX_ABSTRACT, /* sun_path[0] == 0: another process's socket, whatever its permissions */
  ADDR_NETLINK_KERNEL /* netlink to the kernel itself (nl_pid 0, no multicast groups) */
};

struct classified {
  enum addr_kind kind;
  const char *why; /* for ADDR_REFUSE, and the policy refusals of the guard */
  uint8_t ip[16];
  unsigned port;
};

/*
 * Classifies `len` bytes at `addr`, the destination of a connect (`for_send` 0) or of a send
 * (`for_send` 1) on a socket of family `domain`. Mirrors the kernel's own reading of each family
 * (so the guard judges what the kernel would use), but refuses what the kernel would read in more
 * than one way or what the guard has no business passing on.
 */
static inline void classify_address(int domain, int for_send, const void *addr, size_t len, struct classified *out) {
  const uint8_t *b = addr;
  memset(out, 0, sizeof *out);
  out->kind = ADDR_REFUSE;
  if (len > GUARD_MAX_ADDR) { out->why = "address-too-long"; return; }
  if (len < sizeof(sa_family_t) || addr == NULL) { out->why = "address-truncated"; return; }
  sa_family_t family;
  memcpy(&family, b, sizeof family);

  if (domain == AF_INET || domain == AF_INET6) {
    if (family == AF_UNSPEC) {
      /* connect(AF_UNSPEC) only disconnects; but an IPv4 UDP send reads an AF_UNSPEC address as an
         IPv4 destination, so a send naming one is refused rather than second-guessed. */
      if (for_send) { out->why = "unspec-destination"; return; }
      out->kind = ADDR_DISCONNECT;
      return;
    }
    if (family == AF_INET) {
      struct sockaddr_in a;
      if (len < sizeof a) { out->why = "address-truncated"; return; }
      memcpy(&a, b, sizeof a);
      memcpy(out->ip, &a.sin_addr, 4);
      out->port = ntohs(a.sin_port);
      out->kind = ADDR_IPV4;
      return;
    }
    if (family == AF_INET6 && domain == AF_INET6) {
      struct sockaddr_in6 a;
      if (len < GUARD_SIN6_LEN_RFC2133) { out->why = "address-truncated"; return; }
      /* 25..27 bytes: a scope id the kernel ignores but a reader might not; nothing sends that. */
      if (len < sizeof a) {
        if (len != GUARD_SIN6_LEN_RFC2133) { out->why = "address-truncated"; return; }
      }
      memset(&a, 0, sizeof a);
      memcpy(&a, b, len < sizeof a ? len : sizeof a);
      out->port = ntohs(a.sin6_port);
      if (IN6_IS_ADDR_V4MAPPED(&a.sin6_addr)) {
        memcpy(out->ip, &a.sin6_addr.s6_addr[12], 4);
        out->kind = ADDR_IPV4;
      } else {
        memcpy(out->ip, &a.sin6_addr, 16);
        out->kind = ADDR_IPV6;
      }
      return;
    }
    out->why = "family";
    return;
  }

  if (domain == AF_UNIX) {
    if (family != AF_UNIX) { out->why = "family"; return; }
    size_t path = len - offsetof(struct sockaddr_un, sun_path);
    if (len <= offsetof(struct sockaddr_un, sun_path)) { out->why = "address-truncated"; return; }
    if (path > sizeof(((struct sockaddr_un *)0)->sun_path)) { out->why = "address-too-long"; return; }
    out->kind = b[offsetof(struct sockaddr_un, sun_path)] == 0 ? ADDR_UNIX_ABSTRACT : ADDR_UNIX_PATH;
    return;
  }

  if (domain == AF_NETLINK) {
    struct sockaddr_nl a;
    if (family != AF_NETLINK) { out->why = "family"; return; }
    if (len < sizeof a) { out->why = "address-truncated"; return; }
    memcpy(&a, b, sizeof a);
    /* Another process's netlink socket, or a multicast group, is a channel out of the run. */
    if (a.nl_pid != 0 || a.nl_groups != 0) { out->why = "netlink-peer"; return; }
    out->kind = ADDR_NETLINK_KERNEL;
    return;
  }
  out->why = "family";
}

/* The cloud metadata and link-local addresses: 169.254.0.0/16 (EC2 IMDS, ECS 169.254.170.2), fe80::/10, fd00:ec2::/32. */
static inline int is_metadata_address(const struct classified *c) {
  const uint8_t *b = c->ip;
  if (c->kind == ADDR_IPV4) return b[0] == 169 && b[1] == 254;
  if (c->kind != ADDR_IPV6) return 0;
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return 1;
  return b[0] == 0xfd && b[1] == 0x00 && b[2] == 0x0e && b[3] == 0xc2;
}

/*
 * The host itself: 127.0.0.0/8 and 0.0.0.0/8 (Linux connects to 0.0.0.0 locally), ::1 and ::. With
 * real network access a sample must still not reach the agent's own loopback services.
 */
static inline int is_local_address(const struct classified *c) {
  static const uint8_t zero[16];
  const uint8_t *b = c->ip;
  if (c->kind == ADDR_IPV4) return b[0] == 127 || b[0] == 0;
  if (c->kind != ADDR_IPV6) return 0;
  return memcmp(b, zero, 15) == 0 && (b[15] == 0 || b[15] == 1);
}

/*
 * Whether the control data of a send the guard performs for the sample (as root) is harmless: only
 * the listed per-packet settings pass. Anything else is refused: fd passing and credentials (the
 * guard's would be sent), IP options (source routing), SO_MARK and SO_PRIORITY (which the kernel
 * grants to the guard's capabilities, not the sample's). Returns NULL when allowed, else the reason.
 */
static inline const char *control_refusal(int domain, const void *control, size_t len) {
  const uint8_t *b = control;
  size_t at = 0;
  if (len == 0) return NULL;
  if (control == NULL) return "control-malformed";
  while (at < len) {
    struct cmsghdr h;
    if (len - at < sizeof h) return "control-malformed";
    memcpy(&h, b + at, sizeof h);
    if (h.cmsg_len < sizeof h || h.cmsg_len > len - at) return "control-malformed";
    int ok = 0;
    if (domain == AF_INET || domain == AF_INET6) {
      if (h.cmsg_level == SOL_IP) ok = h.cmsg_type == IP_TOS || h.cmsg_type == IP_TTL || h.cmsg_type == IP_PKTINFO;
      else if (h.cmsg_level == SOL_IPV6)
        ok = h.cmsg_type == IPV6_TCLASS || h.cmsg_type == IPV6_HOPLIMIT || h.cmsg_type == IPV6_PKTINFO;
      else if (h.cmsg_level == SOL_UDP) ok = h.cmsg_type == UDP_SEGMENT;
    }
    if (!ok) return "control";
    size_t step = CMSG_ALIGN(h.cmsg_len);
    if (step > len - at) break; /* the last header's padding may be missing */
    at += step;
  }
  return NULL;
}

#endif
