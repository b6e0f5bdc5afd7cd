/*
 * plugin.c -- a C plugin built on clients/c/pipe_io.{h,c}.
 *
 *   cc -std=c99 -Wall -Wextra -O2 -I../../clients/c -o plugin plugin.c ../../clients/c/pipe_io.c -pthread
 *   PIPE_IO_READ_PIPE=/path/out PIPE_IO_WRITE_PIPE=/path/in ./plugin
 *
 * Replies to each message with "<length> <message reversed byte by byte>".
 * Exits 0 at end of stream (the host stopped its server).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipe_io.h"

int main(void) {
  pipe_io_client client;
  char *reply = NULL;
  size_t reply_cap = 0;
  int status = 0;

  if (pipe_io_client_open(&client, NULL, NULL, -1) == -1) { /* paths from the environment */
    fprintf(stderr, "plugin: cannot open the pipes: %s\n", strerror(errno));
    return 2;
  }
  for (;;) {
    const char *msg;
    size_t len, i;
    int prefix;
    int rc = pipe_io_client_receive(&client, &msg, &len, -1);
    if (rc == 0) break; /* end of stream */
    if (rc == -1) {
      fprintf(stderr, "plugin: receive: %s\n", strerror(errno));
      status = 1;
      break;
    }
    if (len + 32 > reply_cap) { /* room for "<len> " + the reversed bytes */
      char *grown = realloc(reply, len + 32);
      if (grown == NULL) {
        fprintf(stderr, "plugin: out of memory\n");
        status = 1;
        break;
      }
      reply = grown;
      reply_cap = len + 32;
    }
    prefix = snprintf(reply, reply_cap, "%lu ", (unsigned long)len);
    for (i = 0; i < len; i++) reply[(size_t)prefix + i] = msg[len - 1 - i];
    if (pipe_io_client_send(&client, reply, (size_t)prefix + len) == -1) {
      if (errno != EPIPE) { /* EPIPE: the host went away, a normal end */
        fprintf(stderr, "plugin: send: %s\n", strerror(errno));
        status = 1;
      }
      break;
    }
  }
  free(reply);
  pipe_io_client_close(&client);
  return status;
}
