/*
 * upper.c -- a line-mode hub plugin in C: each call's data (one JSON line)
 * comes back with the ASCII letters of its strings upper-cased (escapes such
 * as \n, and everything outside strings, kept as they are).
 * Build: cc -std=c99 -O2 -I clients/c -o upper upper.c clients/c/hub_plugin.c clients/c/pipe_io.c -pthread
 */
#include <ctype.h>
#include <string.h>

#include "hub_plugin.h"

static int upper(const char *data, size_t len, hub_plugin_buf *out, void *user) {
  size_t i;
  int escaped = 0, in_string = 0;
  (void)user;
  if (hub_plugin_buf_append(out, data, len) == -1) return -1;
  for (i = 0; i < len; i++) {
    char c = out->data[i];
    if (escaped) {
      escaped = 0; /* keep \n, \t, \uXXXX's letter: JSON escapes are case-sensitive */
      if (c == 'u') i += 4;
      continue;
    }
    if (c == '"') in_string = !in_string;
    else if (c == '\\') escaped = 1;
    else if (in_string) out->data[i] = (char)toupper((unsigned char)c);
  }
  return 0;
}

int main(void) { return hub_plugin_serve_lines(upper, NULL) == 0 ? 0 : 1; }
