/*
 * echo_threaded: the two-thread C baseline of the FIFO echo benchmarks
 * (bench/fifo-echo.bench.js, server "c-threaded").
 *
 * Usage: echo_threaded IN_PIPE OUT_PIPE   (both FIFOs must exist)
 *
 * The design every threaded server here shares (PipeIOServer, the Python original), in C:
 * the main thread reads the in pipe into 1 MiB buffers (growing for longer lines) and hands
 * each buffer's complete lines to a writer thread through a queue, without copying them
 * (the unfinished tail goes into the next buffer); the writer thread writes them to the out
 * pipe and gives the buffer back for reuse (fresh memory would cost a page fault per 4 KiB).
 * So reading and writing overlap, which echo_server (one thread: read a line, then
 * write it) cannot do: with big messages this, not echo_server, is the machine's limit.
 * Like the others, the queue is unbounded (the bench's echo ignores backpressure).
 *
 * Prints "READY", opens IN_PIPE then OUT_PIPE (as echo_server), echoes until EOF, delivers an
 * unterminated last fragment as its own line, prints "MAXRSS_KB <n>" and exits 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

struct chunk {
  char *buf;
  size_t len; /* queued: bytes to write */
  size_t cap;
  struct chunk *next;
};

static struct chunk *head, *tail; /* queue to the writer; buf NULL: the end marker */
static struct chunk *spares;      /* written buffers, for the reader to reuse */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready = PTHREAD_COND_INITIALIZER;
static int out_fd = -1;

static void die(const char *what) {
  fprintf(stderr, "echo_threaded: %s: %s\n", what, strerror(errno));
  exit(2);
}

/** A buffer of at least `need` bytes: a written one given back, else a new one. */
static char *take_buffer(size_t need, size_t *cap) {
  pthread_mutex_lock(&lock);
  struct chunk *c = spares;
  if (c && c->cap >= need) spares = c->next;
  else c = NULL;
  pthread_mutex_unlock(&lock);
  if (c) {
    char *buf = c->buf;
    *cap = c->cap;
    free(c);
    return buf;
  }
  char *buf = malloc(need);
  if (!buf) die("malloc");
  *cap = need;
  return buf;
}

static void push(char *buf, size_t len, size_t cap) {
  struct chunk *c = malloc(sizeof *c);
  if (!c) die("malloc");
  c->buf = buf;
  c->len = len;
  c->cap = cap;
  c->next = NULL;
  pthread_mutex_lock(&lock);
  if (tail) tail->next = c;
  else head = c;
  tail = c;
  pthread_cond_signal(&ready);
  pthread_mutex_unlock(&lock);
}

static void *writer(void *arg) {
  (void)arg;
  for (;;) {
    pthread_mutex_lock(&lock);
    while (!head) pthread_cond_wait(&ready, &lock);
    struct chunk *c = head;
    head = c->next;
    if (!head) tail = NULL;
    pthread_mutex_unlock(&lock);
    if (!c->buf) { /* end marker */
      free(c);
      return NULL;
    }
    for (size_t off = 0; off < c->len;) {
      ssize_t w = write(out_fd, c->buf + off, c->len - off);
      if (w < 0) {
        if (errno == EINTR) continue;
        if (errno == EPIPE) exit(0); /* the client went away */
        die("write");
      }
      off += (size_t)w;
    }
    pthread_mutex_lock(&lock);
    c->len = c->cap;
    c->next = spares;
    spares = c;
    pthread_mutex_unlock(&lock);
  }
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: echo_threaded IN_PIPE OUT_PIPE\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  printf("READY\n");
  fflush(stdout);

  int in = open(argv[1], O_RDONLY | O_CLOEXEC);
  if (in < 0) die("open in pipe");
  out_fd = open(argv[2], O_WRONLY | O_CLOEXEC);
  if (out_fd < 0) die("open out pipe");
  pthread_t thread;
  if (pthread_create(&thread, NULL, writer, NULL) != 0) die("pthread_create");

  const size_t unit = 1 << 20;
  size_t cap = unit, len = 0;
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
    size_t next_cap;
    char *next = take_buffer(len - done > unit ? (len - done) * 2 : unit, &next_cap);
    memcpy(next, buf + done, len - done);
    push(buf, done, cap); /* the writer gives it back */
    buf = next;
    cap = next_cap;
    len -= done;
  }
  if (len > 0) { /* unterminated fragment at EOF: deliver it as its own line */
    if (len == cap) buf = realloc(buf, cap + 1);
    if (!buf) die("realloc");
    buf[len++] = '\n';
    push(buf, len, cap);
  } else {
    free(buf);
  }
  push(NULL, 0, 0); /* end marker */
  pthread_join(thread, NULL);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("MAXRSS_KB %ld\n", ru.ru_maxrss);
  return 0;
}
