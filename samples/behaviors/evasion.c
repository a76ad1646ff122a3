/* SANDTRAP-TEST-SUSPICIOUS: anti-analysis sample (C). Inert: it only looks around and prints what it
 * saw: a debugger check (ptrace TRACEME, TracerPid) and container/VM artefacts. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <unistd.h>

static int readable(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return 0;
  close(fd);
  return 1;
}

int main(void) {
  puts("SANDTRAP-TEST-SUSPICIOUS evasion sample");
  if (ptrace(PTRACE_TRACEME, 0, 0, 0) == -1) puts("a debugger is attached");
  FILE *status = fopen("/proc/self/status", "r");
  char line[256];
  while (status && fgets(line, sizeof line, status))
    if (strncmp(line, "TracerPid:", 10) == 0) printf("%s", line);
  if (status) fclose(status);
  const char *artefacts[] = {"/.dockerenv", "/proc/1/cgroup", "/sys/class/dmi/id/product_name", "/sys/hypervisor/type"};
  for (unsigned i = 0; i < sizeof artefacts / sizeof artefacts[0]; i++)
    printf("%s: %s\n", artefacts[i], readable(artefacts[i]) ? "present" : "absent");
  return 0;
}
