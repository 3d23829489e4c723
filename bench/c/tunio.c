// Reference for bench/tun-io.ts: the C loops tunkit is measured against.
//   tunio read  IFNAME SECONDS            blocking read() loop, prints "pps"
//   tunio read  IF1,IF2,... SECONDS       one reader for several tuns: poll(), then read() each
//                                         ready one until EAGAIN (bench/capture.ts), prints "pps"
//   tunio write IFNAME SECONDS HEXPACKET  write() loop of one packet, prints "pps"
//   tunio gen   DSTIP PORT SIZE SECONDS   UDP sendto() flood (the traffic generator)
//   tunio gens  DST1,DST2,.. PORT SIZE SEGSECS GAPSECS SCHEDULE
//                                         one flood process for several destinations: for each
//                                         index in SCHEDULE (comma list), SEGSECS of sendto() to
//                                         that destination, then GAPSECS idle; prints one line per
//                                         segment: "INDEX SENT WALL_S CPU_S" (its own CPU, rusage)
//   tunio echo  IFNAME SECONDS            read + ICMP echo reply in place + write (responder)
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_alarm(int s) { (void)s; stop = 1; }

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static int tun_attach(const char *name) {
  int fd = open("/dev/net/tun", O_RDWR);
  if (fd < 0) { perror("open"); exit(1); }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) { perror("TUNSETIFF"); exit(1); }
  return fd;
}

static void arm(double seconds) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm; // no SA_RESTART: a blocked read returns EINTR
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it;
  memset(&it, 0, sizeof it);
  it.it_value.tv_sec = (time_t)seconds;
  it.it_value.tv_usec = (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6);
  setitimer(ITIMER_REAL, &it, NULL);
}

static int hexval(char c) { return c <= '9' ? c - '0' : (c | 32) - 'a' + 10; }

static uint16_t csum_adjust(uint16_t cs, uint16_t old, uint16_t new_) {
  uint32_t s = (uint16_t)~cs + (uint16_t)~old + new_;
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return (uint16_t)~s;
}

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: see source\n"); return 2; }
  static unsigned char buf[65536];
  if (!strcmp(argv[1], "read") && strchr(argv[2], ',')) {
    struct pollfd pf[8];
    int nf = 0;
    for (char *name = strtok(argv[2], ","); name && nf < 8; name = strtok(NULL, ",")) {
      pf[nf].fd = tun_attach(name);
      fcntl(pf[nf].fd, F_SETFL, fcntl(pf[nf].fd, F_GETFL) | O_NONBLOCK);
      pf[nf++].events = POLLIN;
    }
    arm(atof(argv[3]));
    long n = 0;
    double t0 = now();
    while (!stop) {
      if (poll(pf, nf, -1) <= 0) continue;
      for (int i = 0; i < nf; i++)
        if (pf[i].revents & POLLIN)
          while (read(pf[i].fd, buf, sizeof buf) > 0) n++;
    }
    printf("%.0f\n", n / (now() - t0));
  } else if (!strcmp(argv[1], "read")) {
    int fd = tun_attach(argv[2]);
    double secs = atof(argv[3]);
    arm(secs);
    long n = 0;
    double t0 = now();
    while (!stop) {
      ssize_t r = read(fd, buf, sizeof buf);
      if (r > 0) n++;
    }
    printf("%.0f\n", n / (now() - t0));
  } else if (!strcmp(argv[1], "write")) {
    int fd = tun_attach(argv[2]);
    double secs = atof(argv[3]);
    const char *hex = argv[4];
    size_t len = strlen(hex) / 2;
    for (size_t i = 0; i < len; i++) buf[i] = hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]);
    arm(secs);
    long n = 0;
    double t0 = now();
    while (!stop) {
      if (write(fd, buf, len) == (ssize_t)len) n++;
    }
    printf("%.0f\n", n / (now() - t0));
  } else if (!strcmp(argv[1], "gen")) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[3]))};
    inet_pton(AF_INET, argv[2], &to.sin_addr);
    int size = atoi(argv[4]);
    double secs = atof(argv[5]);
    memset(buf, 'x', sizeof buf);
    arm(secs);
    long n = 0;
    while (!stop) {
      if (sendto(s, buf, size, 0, (struct sockaddr *)&to, sizeof to) > 0) n++;
    }
    printf("%ld\n", n);
  } else if (!strcmp(argv[1], "gens") && argc >= 8) {
    struct sockaddr_in to[8];
    int nd = 0;
    for (char *ip = strtok(argv[2], ","); ip && nd < 8; ip = strtok(NULL, ",")) {
      memset(&to[nd], 0, sizeof to[nd]);
      to[nd].sin_family = AF_INET;
      to[nd].sin_port = htons(atoi(argv[3]));
      inet_pton(AF_INET, ip, &to[nd++].sin_addr);
    }
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    int size = atoi(argv[4]);
    double seg = atof(argv[5]), gap = atof(argv[6]);
    memset(buf, 'x', sizeof buf);
    for (char *ix = strtok(argv[7], ","); ix; ix = strtok(NULL, ",")) {
      int k = atoi(ix);
      if (k < 0 || k >= nd) return 2;
      struct rusage r0, r1;
      getrusage(RUSAGE_SELF, &r0);
      double t0 = now(), t = t0;
      long n = 0;
      while (t - t0 < seg) {
        for (int i = 0; i < 64; i++)
          if (sendto(s, buf, size, 0, (struct sockaddr *)&to[k], sizeof to[k]) > 0) n++;
        t = now();
      }
      getrusage(RUSAGE_SELF, &r1);
      double cpu = (r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) + (r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) +
                   ((r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) + (r1.ru_stime.tv_usec - r0.ru_stime.tv_usec)) / 1e6;
      printf("%d %ld %.6f %.6f\n", k, n, t - t0, cpu);
      fflush(stdout);
      struct timespec g = {(time_t)gap, (long)((gap - (double)(time_t)gap) * 1e9)};
      nanosleep(&g, NULL);
    }
  } else if (!strcmp(argv[1], "echo")) {
    int fd = tun_attach(argv[2]);
    double secs = atof(argv[3]);
    arm(secs);
    long n = 0;
    while (!stop) {
      ssize_t r = read(fd, buf, sizeof buf);
      if (r < 28 || (buf[0] >> 4) != 4 || buf[9] != 1) continue;
      int ihl = (buf[0] & 15) * 4;
      if (r < ihl + 8 || buf[ihl] != 8) continue;
      unsigned char tmp[4];
      memcpy(tmp, buf + 12, 4); memcpy(buf + 12, buf + 16, 4); memcpy(buf + 16, tmp, 4);
      buf[ihl] = 0;
      uint16_t cs = (uint16_t)(buf[ihl + 2] << 8 | buf[ihl + 3]);
      cs = csum_adjust(cs, 0x0800, 0x0000);
      buf[ihl + 2] = cs >> 8; buf[ihl + 3] = cs & 0xff;
      if (write(fd, buf, r) == r) n++;
    }
    printf("%ld\n", n);
  } else {
    return 2;
  }
  return 0;
}
