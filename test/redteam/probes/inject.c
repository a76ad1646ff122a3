/* SANDTRAP-TEST-MALICIOUS: injection probe (C). Inert: it forks a child of its own and writes a
 * marker into that child's memory, once with process_vm_writev and once through /proc/<child>/mem;
 * the child prints what its buffer holds. Nothing leaves the process tree. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static char first[16] = "untouched";
static char second[16] = "untouched";

int main(void) {
  int go[2];
  if (pipe(go) != 0) return 1;
  pid_t child = fork();
  if (child == 0) {
    char c;
    close(go[1]);
    if (read(go[0], &c, 1) != 1) return 1;
    printf("child vm_writev=%s proc_mem=%s\n", first, second);
    return 0;
  }
  close(go[0]);
  /* fork copied the address space: the child's buffers are at the parent's addresses. */
  struct iovec local = {.iov_base = "INJECTED-VM", .iov_len = 12};
  struct iovec remote = {.iov_base = first, .iov_len = 12};
  ssize_t vm = process_vm_writev(child, &local, 1, &remote, 1, 0);
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/mem", (int)child);
  int mem = open(path, O_RDWR);
  ssize_t pm = mem >= 0 ? pwrite(mem, "INJECTED-MEM", 13, (off_t)(unsigned long)second) : -1;
  printf("parent vm_writev=%zd proc_mem=%zd\n", vm, pm);
  fflush(stdout);
  if (write(go[1], "x", 1) != 1) return 1;
  waitpid(child, NULL, 0);
  return 0;
}
