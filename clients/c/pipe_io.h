/*
 * pipe_io.h -- reference C client for pipe-io-server (C99 + POSIX).
 *
 * Copy pipe_io.h and pipe_io.c into your plugin. Messages are lines: any
 * bytes except '\n' (NUL bytes included, hence the explicit lengths); an
 * unterminated last line at end of stream is still a message.
 *
 * Finding the pipes: a NULL path means the environment variable the plugin
 * host sets:
 *   PIPE_IO_READ_PIPE   the FIFO this client reads  (the server's out pipe)
 *   PIPE_IO_WRITE_PIPE  the FIFO this client writes (the server's in pipe)
 *
 * Waiting: if a pipe does not exist yet, or the server has not opened its
 * end yet, the open functions poll every 50 ms for at most `wait_timeout`
 * seconds; a negative `wait_timeout` means PIPE_IO_WAIT_TIMEOUT from the
 * environment, default 10 (PIPE_IO_DEFAULT_WAIT_TIMEOUT). On timeout they
 * fail with errno ETIMEDOUT. PIPE_IO_VERBOSE=1 reports the wait on stderr.
 *
 * Errors: every function returning int returns -1 and sets errno on failure
 * (ETIMEDOUT timeouts, EPIPE the server went away, EINVAL a message holding
 * '\n', EMSGSIZE above max_message_size, ENOMEM, ...). Receive functions
 * return 1 for a message and 0 at end of stream. SIGPIPE is blocked around
 * each write (and a resulting pending SIGPIPE consumed), so EPIPE is reported
 * as an error instead of killing the process, without touching the process's
 * signal dispositions.
 *
 * Ownership: structs live wherever the caller puts them (stack is fine);
 * *_close() frees everything *_open() allocated and is safe to call twice.
 */
#ifndef PIPE_IO_H
#define PIPE_IO_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Seconds an open waits for its pipe when neither argument nor env says. */
#define PIPE_IO_DEFAULT_WAIT_TIMEOUT 10.0

/** Reads newline-terminated messages from a FIFO. Fields are private. */
typedef struct pipe_io_reader {
  int fd;                  /* -1 when closed */
  char *buf;               /* buffered bytes: [start, end) are unread */
  size_t cap, start, end;
  size_t scanned;          /* bytes after start already known to hold no '\n' */
  size_t max_message_size; /* 0 = unlimited (the default) */
  int eof;
} pipe_io_reader;

/** Writes newline-terminated messages to a FIFO. Fields are private. */
typedef struct pipe_io_writer {
  int fd; /* -1 when closed */
} pipe_io_writer;

/** Both ends, the usual plugin shape. */
typedef struct pipe_io_client {
  pipe_io_reader reader; /* reads the server's out pipe */
  pipe_io_writer writer; /* writes the server's in pipe */
} pipe_io_client;

/**
 * Opens `path` (NULL: $PIPE_IO_READ_PIPE) for reading, waiting up to
 * `wait_timeout` seconds (< 0: $PIPE_IO_WAIT_TIMEOUT or 10) for the FIFO to
 * exist and for a writer (the server) to hold its other end.
 */
int pipe_io_reader_open(pipe_io_reader *r, const char *path, double wait_timeout);

/**
 * Receives the next message. On 1, *msg points to its bytes (without the
 * newline, followed by a NUL for convenience) and *len is their count; the
 * pointer stays valid until the next call on `r`. Returns 0 at end of stream.
 * `timeout_ms` < 0 waits forever; otherwise fails with ETIMEDOUT after that
 * many milliseconds (bytes already received are kept for the next call).
 */
int pipe_io_reader_receive(pipe_io_reader *r, const char **msg, size_t *len, int timeout_ms);

/** Closes the FIFO and frees the buffer (idempotent). */
void pipe_io_reader_close(pipe_io_reader *r);

/**
 * Opens `path` (NULL: $PIPE_IO_WRITE_PIPE) for writing, waiting up to
 * `wait_timeout` seconds (< 0: $PIPE_IO_WAIT_TIMEOUT or 10) for the FIFO to
 * exist and for a reader (the server) to hold its other end.
 */
int pipe_io_writer_open(pipe_io_writer *w, const char *path, double wait_timeout);

/**
 * Writes `len` bytes plus a newline. Fails with EINVAL if they contain
 * '\n', EPIPE if the reader went away.
 */
int pipe_io_writer_send(pipe_io_writer *w, const char *msg, size_t len);

/** pipe_io_writer_send() of a NUL-terminated string. */
int pipe_io_writer_send_str(pipe_io_writer *w, const char *msg);

/** Closes the FIFO (idempotent); the server sees end of stream. */
void pipe_io_writer_close(pipe_io_writer *w);

/**
 * Opens both pipes (NULL paths: the environment variables) within one
 * `wait_timeout` (< 0: $PIPE_IO_WAIT_TIMEOUT or 10). The writer is opened
 * first: its open succeeding proves the server is running.
 */
int pipe_io_client_open(pipe_io_client *c, const char *read_path, const char *write_path,
                        double wait_timeout);

/** pipe_io_reader_receive() on the client's reader. */
int pipe_io_client_receive(pipe_io_client *c, const char **msg, size_t *len, int timeout_ms);

/** pipe_io_writer_send() on the client's writer. */
int pipe_io_client_send(pipe_io_client *c, const char *msg, size_t len);

/** Closes both pipes (idempotent). */
void pipe_io_client_close(pipe_io_client *c);

#ifdef __cplusplus
}
#endif

#endif /* PIPE_IO_H */
