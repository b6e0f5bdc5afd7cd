/*
 * pipe_io.c -- reference C client for pipe-io-server. See pipe_io.h.
 */
#define _POSIX_C_SOURCE 200809L

#include "pipe_io.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifndef O_NOFOLLOW
#define O_NOFOLLOW 0
#endif

#define POLL_INTERVAL_MS 50 /* between checks while waiting for a pipe */
#define CHUNK 65536         /* bytes per read() */

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (ms % 1000) * 1000000L;
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
  }
}

static int verbose(void) {
  const char *v = getenv("PIPE_IO_VERBOSE");
  return v != NULL && strcmp(v, "1") == 0;
}

/* Seconds to wait: the argument if >= 0, else $PIPE_IO_WAIT_TIMEOUT, else 10. */
static int resolve_timeout(double arg, double *out) {
  const char *env;
  char *end;
  double v;
  if (arg >= 0) {
    *out = arg;
    return 0;
  }
  env = getenv("PIPE_IO_WAIT_TIMEOUT");
  if (env == NULL || *env == '\0') {
    *out = PIPE_IO_DEFAULT_WAIT_TIMEOUT;
    return 0;
  }
  errno = 0;
  v = strtod(env, &end);
  if (errno != 0 || *end != '\0' || !(v >= 0)) {
    errno = EINVAL;
    return -1;
  }
  *out = v;
  return 0;
}

static const char *resolve_path(const char *path, const char *env) {
  const char *v;
  if (path != NULL && *path != '\0') return path;
  v = getenv(env);
  if (v == NULL || *v == '\0') {
    errno = EINVAL;
    return NULL;
  }
  return v;
}

/* Polls until `path` exists (then checks it is a FIFO) or the deadline passes. */
static int wait_for_fifo(const char *path, double deadline, double timeout) {
  struct stat st;
  int said = 0;
  for (;;) {
    if (lstat(path, &st) == 0) {
      if (!S_ISFIFO(st.st_mode)) {
        errno = EINVAL;
        return -1;
      }
      return 0;
    }
    if (errno != ENOENT) return -1;
    if (now_seconds() >= deadline) {
      errno = ETIMEDOUT;
      return -1;
    }
    if (!said && verbose()) {
      fprintf(stderr, "pipe-io: waiting for %s (up to %g s)\n", path, timeout);
      said = 1;
    }
    sleep_ms(POLL_INTERVAL_MS);
  }
}

static int set_blocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags == -1 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == -1) return -1;
  return 0;
}

/* Makes room for at least `want` more bytes after r->end. */
static int reader_reserve(pipe_io_reader *r, size_t want) {
  size_t used = r->end - r->start, cap;
  char *grown;
  if (r->cap - r->end >= want) return 0;
  if (r->start > 0) { /* slide unread bytes to the front first */
    memmove(r->buf, r->buf + r->start, used);
    r->end = used;
    r->start = 0;
    if (r->cap - r->end >= want) return 0;
  }
  cap = r->cap ? r->cap : CHUNK;
  while (cap - used < want) {
    if (cap > ((size_t)-1) / 2) {
      errno = ENOMEM;
      return -1;
    }
    cap *= 2;
  }
  grown = realloc(r->buf, cap);
  if (grown == NULL) {
    errno = ENOMEM;
    return -1;
  }
  r->buf = grown;
  r->cap = cap;
  return 0;
}

static int reader_open(pipe_io_reader *r, const char *path, double wait_timeout);

int pipe_io_reader_open(pipe_io_reader *r, const char *path, double wait_timeout) {
  memset(r, 0, sizeof *r);
  r->fd = -1;
  if (reader_open(r, path, wait_timeout) == -1) {
    int saved = errno;
    pipe_io_reader_close(r); /* frees the buffer: nothing leaks on failure */
    errno = saved;
    return -1;
  }
  return 0;
}

static int reader_open(pipe_io_reader *r, const char *path, double wait_timeout) {
  double timeout, deadline;
  int said = 0;
  if (resolve_timeout(wait_timeout, &timeout) == -1) return -1;
  path = resolve_path(path, "PIPE_IO_READ_PIPE");
  if (path == NULL) return -1;
  deadline = now_seconds() + timeout;
  if (wait_for_fifo(path, deadline, timeout) == -1) return -1;
  if (reader_reserve(r, CHUNK) == -1) return -1;
  for (;;) {
    /* Non-blocking open always succeeds; a read answering EOF means no
       writer yet (retry), EAGAIN or data means the server is there. */
    ssize_t n;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW);
    if (fd == -1) {
      if (errno == EINTR) continue;
      return -1;
    }
    n = read(fd, r->buf + r->end, r->cap - r->end);
    if (n > 0 || (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))) {
      if (n > 0) r->end += (size_t)n;
      if (set_blocking(fd) == -1) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
      }
      r->fd = fd;
      return 0;
    }
    if (n == -1 && errno != EINTR) {
      int saved = errno;
      close(fd);
      errno = saved;
      return -1;
    }
    close(fd);
    if (now_seconds() >= deadline) {
      errno = ETIMEDOUT;
      return -1;
    }
    if (!said && verbose()) fprintf(stderr, "pipe-io: waiting for a writer on %s\n", path);
    said = 1;
    sleep_ms(POLL_INTERVAL_MS);
  }
}

/* Hands out [start, start+len) as a message and consumes `skip` more bytes. */
static int reader_yield(pipe_io_reader *r, size_t len, size_t skip, const char **msg, size_t *out) {
  char *p = r->buf + r->start;
  p[len] = '\0'; /* the '\n' slot, or spare room reserved below */
  *msg = p;
  *out = len;
  r->start += len + skip;
  r->scanned = 0;
  return 1;
}

int pipe_io_reader_receive(pipe_io_reader *r, const char **msg, size_t *len, int timeout_ms) {
  double deadline = timeout_ms >= 0 ? now_seconds() + timeout_ms / 1000.0 : 0;
  if (r->fd < 0) {
    errno = EBADF;
    return -1;
  }
  for (;;) {
    size_t unread = r->end - r->start;
    char *nl = memchr(r->buf + r->start + r->scanned, '\n', unread - r->scanned);
    ssize_t n;
    if (nl != NULL) return reader_yield(r, (size_t)(nl - (r->buf + r->start)), 1, msg, len);
    r->scanned = unread;
    if (r->max_message_size != 0 && unread > r->max_message_size) {
      errno = EMSGSIZE;
      return -1;
    }
    if (r->eof) {
      if (unread == 0) return 0;
      if (reader_reserve(r, 1) == -1) return -1; /* room for the NUL */
      return reader_yield(r, unread, 0, msg, len); /* unterminated last line */
    }
    if (timeout_ms >= 0) {
      struct pollfd pfd;
      double left = deadline - now_seconds();
      int rc;
      pfd.fd = r->fd;
      pfd.events = POLLIN;
      pfd.revents = 0;
      rc = poll(&pfd, 1, left > 0 ? (int)(left * 1000.0 + 0.999) : 0);
      if (rc == -1) {
        if (errno == EINTR) continue;
        return -1;
      }
      if (rc == 0) {
        errno = ETIMEDOUT;
        return -1;
      }
    }
    if (reader_reserve(r, CHUNK) == -1) return -1;
    n = read(r->fd, r->buf + r->end, r->cap - r->end);
    if (n > 0) {
      r->end += (size_t)n;
    } else if (n == 0) {
      r->eof = 1;
    } else if (errno != EINTR) {
      return -1;
    }
  }
}

void pipe_io_reader_close(pipe_io_reader *r) {
  if (r->fd >= 0) close(r->fd);
  free(r->buf);
  memset(r, 0, sizeof *r);
  r->fd = -1;
}

int pipe_io_writer_open(pipe_io_writer *w, const char *path, double wait_timeout) {
  double timeout, deadline;
  int said = 0;
  w->fd = -1;
  if (resolve_timeout(wait_timeout, &timeout) == -1) return -1;
  path = resolve_path(path, "PIPE_IO_WRITE_PIPE");
  if (path == NULL) return -1;
  deadline = now_seconds() + timeout;
  if (wait_for_fifo(path, deadline, timeout) == -1) return -1;
  for (;;) {
    /* Non-blocking open fails with ENXIO while nobody reads (retry). */
    int fd = open(path, O_WRONLY | O_NONBLOCK | O_NOFOLLOW);
    if (fd >= 0) {
      if (set_blocking(fd) == -1) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
      }
      w->fd = fd;
      return 0;
    }
    if (errno == EINTR) continue;
    if (errno != ENXIO) return -1;
    if (now_seconds() >= deadline) {
      errno = ETIMEDOUT;
      return -1;
    }
    if (!said && verbose()) fprintf(stderr, "pipe-io: waiting for a reader on %s\n", path);
    said = 1;
    sleep_ms(POLL_INTERVAL_MS);
  }
}

/* writev() everything, blocking SIGPIPE so EPIPE comes back as an error. */
static int write_all(int fd, struct iovec *iov, int count) {
  sigset_t pipe_set, old_set, pending;
  int was_pending, result = 0, saved = 0;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigpending(&pending);
  was_pending = sigismember(&pending, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
  while (count > 0) {
    ssize_t n = writev(fd, iov, count);
    if (n == -1) {
      if (errno == EINTR) continue;
      result = -1;
      saved = errno;
      break;
    }
    while (count > 0 && (size_t)n >= iov->iov_len) {
      n -= (ssize_t)iov->iov_len;
      iov++;
      count--;
    }
    if (count > 0) {
      iov->iov_base = (char *)iov->iov_base + n;
      iov->iov_len -= (size_t)n;
    }
  }
  if (result == -1 && saved == EPIPE && !was_pending) {
    /* Consume the SIGPIPE our write raised before unblocking (sigwait, not
       sigtimedwait: macOS has no sigtimedwait; it returns at once as the
       signal is pending). */
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE)) {
      int sig;
      sigwait(&pipe_set, &sig);
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_set, NULL);
  errno = saved;
  return result;
}

int pipe_io_writer_send(pipe_io_writer *w, const char *msg, size_t len) {
  struct iovec iov[2];
  char newline = '\n';
  union {
    const char *in;
    void *out;
  } data; /* writev's iovec is not const; it does not write through it */
  if (w->fd < 0) {
    errno = EBADF;
    return -1;
  }
  if (len > 0 && memchr(msg, '\n', len) != NULL) {
    errno = EINVAL;
    return -1;
  }
  data.in = msg;
  iov[0].iov_base = data.out;
  iov[0].iov_len = len;
  iov[1].iov_base = &newline;
  iov[1].iov_len = 1;
  return len > 0 ? write_all(w->fd, iov, 2) : write_all(w->fd, iov + 1, 1);
}

int pipe_io_writer_send_str(pipe_io_writer *w, const char *msg) {
  return pipe_io_writer_send(w, msg, strlen(msg));
}

void pipe_io_writer_close(pipe_io_writer *w) {
  if (w->fd >= 0) close(w->fd);
  w->fd = -1;
}

int pipe_io_client_open(pipe_io_client *c, const char *read_path, const char *write_path,
                        double wait_timeout) {
  double timeout, started = now_seconds(), left;
  memset(&c->reader, 0, sizeof c->reader);
  c->reader.fd = -1;
  c->writer.fd = -1;
  if (resolve_timeout(wait_timeout, &timeout) == -1) return -1;
  if (pipe_io_writer_open(&c->writer, write_path, timeout) == -1) return -1;
  left = timeout - (now_seconds() - started);
  if (pipe_io_reader_open(&c->reader, read_path, left > 0 ? left : 0) == -1) {
    int saved = errno;
    pipe_io_client_close(c);
    errno = saved;
    return -1;
  }
  return 0;
}

int pipe_io_client_receive(pipe_io_client *c, const char **msg, size_t *len, int timeout_ms) {
  return pipe_io_reader_receive(&c->reader, msg, len, timeout_ms);
}

int pipe_io_client_send(pipe_io_client *c, const char *msg, size_t len) {
  return pipe_io_writer_send(&c->writer, msg, len);
}

void pipe_io_client_close(pipe_io_client *c) {
  pipe_io_writer_close(&c->writer);
  pipe_io_reader_close(&c->reader);
}
