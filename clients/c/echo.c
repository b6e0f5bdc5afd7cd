/*
 * echo READ_PIPE WRITE_PIPE -- reference echo program for pipe-io-server.
 *
 * Reads each message from READ_PIPE (the server's out pipe) and writes it
 * back to WRITE_PIPE (the server's in pipe). Without arguments it uses
 * PIPE_IO_READ_PIPE / PIPE_IO_WRITE_PIPE. Exits 0 at end of stream (the
 * server stopped) or when the server went away while writing (EPIPE); 2 on
 * usage or open errors (e.g. the pipes did not appear within
 * PIPE_IO_WAIT_TIMEOUT s); 1 on other I/O errors.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pipe_io.h"

int main(int argc, char **argv) {
  pipe_io_client client;
  int status = 0;
  if (argc != 1 && argc != 3) {
    fprintf(stderr, "usage: %s READ_PIPE WRITE_PIPE\n", argv[0]);
    return 2;
  }
  if (pipe_io_client_open(&client, argc == 3 ? argv[1] : NULL, argc == 3 ? argv[2] : NULL, -1) == -1) {
    fprintf(stderr, "echo: cannot open the pipes: %s%s\n", strerror(errno),
            errno == EINVAL ? " (check the paths / PIPE_IO_* variables)" : "");
    return 2;
  }
  for (;;) {
    const char *msg;
    size_t len;
    int rc = pipe_io_client_receive(&client, &msg, &len, -1);
    if (rc == 0) break; /* end of stream: the server stopped */
    if (rc == -1) {
      fprintf(stderr, "echo: read failed: %s\n", strerror(errno));
      status = 1;
      break;
    }
    if (pipe_io_client_send(&client, msg, len) == -1) {
      if (errno == EPIPE) break; /* the server went away: end of session */
      fprintf(stderr, "echo: write failed: %s\n", strerror(errno));
      status = 1;
      break;
    }
  }
  pipe_io_client_close(&client);
  return status;
}
