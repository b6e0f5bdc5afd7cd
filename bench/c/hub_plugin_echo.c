/* hub_plugin_echo.c -- the benchmark's C hub plugin: line mode (default) or rpc mode ("rpc" argument), echoes data. */
#include <string.h>

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

int main(int argc, char **argv) {
  hub_plugin p;
  int rc;
  if (argc < 2 || strcmp(argv[1], "rpc") != 0) return hub_plugin_serve_lines(echo_line, NULL) == 0 ? 0 : 1;
  if (hub_plugin_open(&p) == -1) return 2;
  rc = hub_plugin_serve(&p, echo_rpc, NULL, NULL);
  hub_plugin_close(&p);
  return rc == 0 ? 0 : 1;
}
