/* Benign: computes the CRC-32 of a built-in message (a checksum utility's self-test). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint32_t crc32(const unsigned char *data, size_t len) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < len; i++) {
    crc ^= data[i];
    for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

int main(void) {
  const char *msg = "123456789";
  uint32_t crc = crc32((const unsigned char *)msg, strlen(msg));
  printf("crc32(%s) = %08x (%s)\n", msg, crc, crc == 0xCBF43926u ? "ok" : "wrong");
  return crc == 0xCBF43926u ? 0 : 1;
}
