// Reference timer for bench/cli-*.ts: runs one command and prints, on one line,
//   "<wall microseconds> <user microseconds> <system microseconds> <peak RSS KiB> <exit status> <minor page faults>"
// measured around fork+exec+wait only (no interpreter overhead of the caller in the interval).
// stdout/stderr of the command go to /dev/null unless TK_KEEP_OUTPUT=1 (then inherited).
//   spawntime CMD [ARGS...]
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long us(struct timeval t) { return (long long)t.tv_sec * 1000000 + t.tv_usec; }

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: spawntime CMD [ARGS...]\n");
    return 2;
  }
  int keep = getenv("TK_KEEP_OUTPUT") && getenv("TK_KEEP_OUTPUT")[0] == '1';
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  pid_t pid = fork();
  if (pid < 0) return perror("fork"), 1;
  if (pid == 0) {
    if (!keep) {
      int fd = open("/dev/null", O_WRONLY);
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execvp(argv[1], argv + 1);
    perror("exec");
    _exit(127);
  }
  int st;
  struct rusage ru;
  if (wait4(pid, &st, 0, &ru) < 0) return perror("wait4"), 1;
  clock_gettime(CLOCK_MONOTONIC, &b);
  long long wall = (b.tv_sec - a.tv_sec) * 1000000LL + (b.tv_nsec - a.tv_nsec) / 1000;
  printf("%lld %lld %lld %ld %d %ld\n", wall, us(ru.ru_utime), us(ru.ru_stime), ru.ru_maxrss,
         WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), ru.ru_minflt);
  return 0;
}
