/*
 * hub_plugin_echo.c -- the benchmark's C hub plugin, echoes data:
 *   (no argument)  line mode on the kit (hub_plugin_serve_lines)
 *   rpc            rpc mode on the kit
 *   skip           line mode without the kit: echoes every line except "skip", for
 *                  which it writes nothing (a plugin that misses answers)
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hub_plugin.h"

static int echo_line(const char *data, size_t len, hub_plugin_buf *out, void *user) {
  (void)user;
  return hub_plugin_buf_append(out, data, len);
}

static int echo_rpc(hub_plugin *p, const hub_plugin_msg *msg, hub_plugin_buf *out, void *user) {
  (void)p;
  (void)user;
  return hub_plugin_buf_append(out, msg->data, msg->data_len);
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w == -1) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Answers what it read in one go (one write per read), skipping "skip" lines. */
static int serve_skipping(void) {
  static char in[1 << 16], out[1 << 16];
  size_t have = 0;
  int rfd = open(getenv("PIPE_IO_READ_PIPE"), O_RDONLY);
  int wfd = open(getenv("PIPE_IO_WRITE_PIPE"), O_WRONLY);
  if (rfd == -1 || wfd == -1) return 2;
  for (;;) {
    size_t start = 0, olen = 0;
    char *nl;
    ssize_t n = read(rfd, in + have, sizeof in - have);
    if (n == 0) return 0;
    if (n == -1) {
      if (errno == EINTR) continue;
      return 1;
    }
    have += (size_t)n;
    while ((nl = memchr(in + start, '\n', have - start)) != NULL) {
      size_t len = (size_t)(nl - (in + start)) + 1;
      if (!(len == 7 && memcmp(in + start, "\"skip\"\n", 7) == 0)) {
        if (olen + len > sizeof out) {
          if (write_all(wfd, out, olen) == -1) return 1;
          olen = 0;
        }
        memcpy(out + olen, in + start, len);
        olen += len;
      }
      start += len;
    }
    if (olen > 0 && write_all(wfd, out, olen) == -1) return 1;
    memmove(in, in + start, have - start);
    have -= start;
    if (have == sizeof in) return 1; /* a line longer than the buffer */
  }
}

int main(int argc, char **argv) {
  hub_plugin p;
  int rc;
  if (argc >= 2 && strcmp(argv[1], "skip") == 0) return serve_skipping();
  if (argc < 2 || strcmp(argv[1], "rpc") != 0) return hub_plugin_serve_lines(echo_line, NULL) == 0 ? 0 : 1;
  if (hub_plugin_open(&p) == -1) return 2;
  rc = hub_plugin_serve(&p, echo_rpc, NULL, NULL);
  hub_plugin_close(&p);
  return rc == 0 ? 0 : 1;
}
