/*
 * worker.c -- a line-mode hub plugin in C: squares a number.
 * Data in: a JSON number (one line). Result: {"square": n*n, "pid": <this process>}.
 * Anything else fails the call ({"$error": ...} via the kit).
 * Build: cc -std=c99 -O2 -I clients/c -o worker worker.c clients/c/hub_plugin.c clients/c/pipe_io.c -pthread
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "hub_plugin.h"

static int square(const char *data, size_t len, hub_plugin_buf *out, void *user) {
  char *end;
  char text[64];
  double n = strtod(data, &end);
  (void)user;
  if (len == 0 || end != data + len) return hub_plugin_buf_puts(out, "worker.c wants a number"), 1;
  snprintf(text, sizeof text, "{\"square\":%.17g,\"pid\":%ld}", n * n, (long)getpid());
  return hub_plugin_buf_puts(out, text);
}

int main(void) { return hub_plugin_serve_lines(square, NULL) == 0 ? 0 : 1; }
