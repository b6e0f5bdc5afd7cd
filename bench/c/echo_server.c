/*
 * echo_server: the C baseline of the FIFO echo benchmarks (bench/fifo-echo.bench.js).
 *
 * Usage: echo_server IN_PIPE OUT_PIPE
 *   IN_PIPE   FIFO the server reads (clients write it); must exist.
 *   OUT_PIPE  FIFO the server writes (clients read it); must exist.
 *
 * Prints "READY" on stdout, opens IN_PIPE for reading (blocks until a client opens it for
 * writing), then OUT_PIPE for writing (blocks until the client opens it for reading): a client
 * opens its write pipe first, then its read pipe. It then echoes every complete line back:
 * big reads (1 MiB, growing for longer lines), one write() per read of all complete lines in
 * it. At EOF it flushes an unterminated last fragment as its own line, prints
 * "MAXRSS_KB <n>" (getrusage) and exits 0. SIGTERM ends it (default action).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static void die(const char *what) {
  fprintf(stderr, "echo_server: %s: %s\n", what, strerror(errno));
  exit(2);
}

static void write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE) exit(0); /* the client went away: end of session */
      die("write");
    }
    p += w;
    n -= (size_t)w;
  }
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: echo_server IN_PIPE OUT_PIPE\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  printf("READY\n");
  fflush(stdout);

  int in = open(argv[1], O_RDONLY | O_CLOEXEC);
  if (in < 0) die("open in pipe");
  int out = open(argv[2], O_WRONLY | O_CLOEXEC);
  if (out < 0) die("open out pipe");

  size_t cap = 1 << 20, len = 0;
  char *buf = malloc(cap);
  if (!buf) die("malloc");

  for (;;) {
    if (len == cap) { /* a line longer than the buffer: grow it */
      cap *= 2;
      buf = realloc(buf, cap);
      if (!buf) die("realloc");
    }
    ssize_t r = read(in, buf + len, cap - len);
    if (r < 0) {
      if (errno == EINTR) continue;
      die("read");
    }
    if (r == 0) break;
    size_t scan_from = len;
    len += (size_t)r;
    char *last = memrchr(buf + scan_from, '\n', len - scan_from);
    if (!last) continue;
    size_t done = (size_t)(last - buf) + 1;
    write_all(out, buf, done);
    memmove(buf, buf + done, len - done);
    len -= done;
  }
  if (len > 0) { /* unterminated fragment at EOF: deliver it as its own line */
    if (len == cap) buf = realloc(buf, cap + 1);
    buf[len++] = '\n';
    write_all(out, buf, len);
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("MAXRSS_KB %ld\n", ru.ru_maxrss);
  return 0;
}
