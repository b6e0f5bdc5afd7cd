/*
 * client: the external driver of the FIFO benchmarks, used against every server.
 *
 * Usage: client READ_PIPE WRITE_PIPE MODE ARGS...
 *   READ_PIPE   the server's out pipe (this client reads it)
 *   WRITE_PIPE  the server's in pipe (this client writes it)
 * The client opens WRITE_PIPE first, then READ_PIPE.
 *
 * Modes (sizes in bytes, without the newline):
 *   throughput N SIZE        a writer thread sends N messages of SIZE bytes while the main
 *                            thread reads the replies; every reply is checked byte for byte
 *                            (sequence number + pattern). Prints one JSON line: seconds,
 *                            msgs_per_s, mb_per_s (MB = 1e6 bytes of payload).
 *   rtt N SIZE [WARMUP]      send one message, wait for its reply, N times (after WARMUP,
 *                            default 1000, uncounted); prints p50/p90/p99/p99.9/max in us.
 *   phases SPEC...           several runs, one after the other, on ONE connection (the same
 *                            server process, so later phases see a warmed-up server). SPEC is
 *                            t:N:SIZE (throughput) or r:N:SIZE (rtt, 1,000 warm-up round trips);
 *                            one JSON line per phase, with "phase": its index.
 * Environment: PIPE_SZ=BYTES resizes both FIFOs' kernel buffers (F_SETPIPE_SZ) once open.
 * Throughput lines also report max_inflight_bytes: the most bytes (newlines included) written
 * by the writer thread and not yet read back, sampled at each reply.
 *   slow-write TOTAL CHUNK DELAY_US
 *                            sends ONE message of TOTAL bytes in CHUNK-byte writes, sleeping
 *                            DELAY_US between them; prints "HALF" once half is written; never
 *                            reads; then waits to be killed.
 *   write-noread SIZE        sends one message of SIZE bytes at full speed, prints "WROTE",
 *                            never reads the replies; waits to be killed.
 *   broken N K               sends N 100-byte messages, reads K replies, closes READ_PIPE,
 *                            prints "BROKEN" once all N are written; waits to be killed.
 * Exit status: 0 ok, 2 usage/system error, 3 a reply was lost, glued, or corrupted.
 * EPIPE on WRITE_PIPE (the server stopped) prints "EPIPE" and exits 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SEQ_DIGITS 10

static int rfd = -1, wfd = -1;
static long sent_bytes; /* written by the writer thread so far (atomic) */
static long n_msgs;
static size_t msg_size;
static char *pattern; /* "ABC..Z" repeated, msg_size + 26 + 1 bytes */

static void die(const char *what) {
  fprintf(stderr, "client: %s: %s\n", what, strerror(errno));
  exit(2);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void write_all(const char *p, size_t n) {
  __atomic_add_fetch(&sent_bytes, (long)n, __ATOMIC_RELAXED);
  while (n > 0) {
    ssize_t w = write(wfd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE) {
        printf("EPIPE\n");
        fflush(stdout);
        exit(0);
      }
      die("write");
    }
    p += w;
    n -= (size_t)w;
  }
}

/* Writes i as SEQ_DIGITS decimal digits (zero-padded, modulo 10^10) without snprintf. */
static void put_seq(char *dst, long i) {
  unsigned long v = (unsigned long)i;
  for (int d = SEQ_DIGITS - 1; d >= 0; d--) {
    dst[d] = (char)('0' + v % 10);
    v /= 10;
  }
}

/* Message i: 10-digit sequence number (if it fits) then pattern shifted by i, then '\n'. */
static void make_msg(char *dst, long i) {
  memcpy(dst, pattern + (i % 26), msg_size);
  if (msg_size >= SEQ_DIGITS) put_seq(dst, i);
  dst[msg_size] = '\n';
}

static void check_msg(const char *line, size_t len, long i) {
  if (len != msg_size) {
    fprintf(stderr, "client: reply %ld has %zu bytes, expected %zu (lost or glued)\n", i, len, msg_size);
    exit(3);
  }
  size_t off = 0;
  if (msg_size >= SEQ_DIGITS) {
    char tmp[SEQ_DIGITS];
    put_seq(tmp, i);
    if (memcmp(line, tmp, SEQ_DIGITS) != 0) {
      fprintf(stderr, "client: reply %ld carries sequence %.*s (out of order or lost)\n", i, SEQ_DIGITS, line);
      exit(3);
    }
    off = SEQ_DIGITS;
  }
  if (memcmp(line + off, pattern + (i % 26) + off, msg_size - off) != 0) {
    fprintf(stderr, "client: reply %ld is corrupted\n", i);
    exit(3);
  }
}

/* ---- line reader over rfd ---- */
static char *rbuf;
static size_t rcap, rstart, rend, rscan;

static void reader_init(size_t cap) {
  rcap = cap;
  rbuf = malloc(rcap);
  if (!rbuf) die("malloc");
}

/* Returns a pointer to the next line (without '\n') and its length; NULL at EOF. */
static char *read_line(size_t *len) {
  for (;;) {
    char *nl = memchr(rbuf + rscan, '\n', rend - rscan);
    if (nl) {
      char *line = rbuf + rstart;
      *len = (size_t)(nl - line);
      rstart = rscan = (size_t)(nl - rbuf) + 1;
      return line;
    }
    rscan = rend;
    if (rstart > 0 && (rend == rcap || rstart > rcap / 2)) {
      memmove(rbuf, rbuf + rstart, rend - rstart);
      rend -= rstart;
      rscan -= rstart;
      rstart = 0;
    }
    if (rend == rcap) {
      rcap *= 2;
      rbuf = realloc(rbuf, rcap);
      if (!rbuf) die("realloc");
    }
    ssize_t r = read(rfd, rbuf + rend, rcap - rend);
    if (r < 0) {
      if (errno == EINTR) continue;
      die("read");
    }
    if (r == 0) return NULL;
    rend += (size_t)r;
  }
}

static void *writer_main(void *arg) {
  (void)arg;
  size_t one = msg_size + 1;
  size_t cap = one > (256 << 10) ? one : (256 << 10);
  char *batch = malloc(cap);
  if (!batch) die("malloc");
  size_t used = 0;
  for (long i = 0; i < n_msgs; i++) {
    if (used + one > cap) {
      write_all(batch, used);
      used = 0;
    }
    make_msg(batch + used, i);
    used += one;
  }
  if (used) write_all(batch, used);
  free(batch);
  return NULL;
}

static void open_pipes(const char *read_pipe, const char *write_pipe) {
  wfd = open(write_pipe, O_WRONLY | O_CLOEXEC);
  if (wfd < 0) die("open write pipe");
  rfd = open(read_pipe, O_RDONLY | O_CLOEXEC);
  if (rfd < 0) die("open read pipe");
  /* PIPE_SZ=BYTES: the F_SETPIPE_SZ experiment (docs/bench.md): both FIFOs' kernel buffers
   * resized by the client, which any process holding an end may do (Linux only). */
  const char *sz = getenv("PIPE_SZ");
  if (sz && *sz) {
#ifdef F_SETPIPE_SZ
    if (fcntl(wfd, F_SETPIPE_SZ, atoi(sz)) < 0 || fcntl(rfd, F_SETPIPE_SZ, atoi(sz)) < 0) die("F_SETPIPE_SZ");
#else
    fprintf(stderr, "client: PIPE_SZ needs Linux\n");
    exit(2);
#endif
  }
}

static void setup(long n, long size) {
  if (n < 0 || size < 0) {
    fprintf(stderr, "client: N and SIZE must be >= 0\n");
    exit(2);
  }
  n_msgs = n;
  msg_size = (size_t)size;
  free(pattern);
  pattern = malloc(msg_size + 27);
  if (!pattern) die("malloc");
  for (size_t j = 0; j < msg_size + 26; j++) pattern[j] = (char)('A' + j % 26);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pct(const double *v, long n, double p) {
  long k = (long)(p * (double)n);
  if (k >= n) k = n - 1;
  return v[k];
}

static void wait_forever(void) {
  for (;;) pause();
}

/* One throughput run on the open pipes; prints its JSON line (with "phase" when phase >= 0). */
static int run_throughput(long n, long size, int phase) {
  setup(n, size);
  __atomic_store_n(&sent_bytes, 0, __ATOMIC_RELAXED);
  long received = 0, max_inflight = 0;
  double t0 = now_s();
  pthread_t th;
  if (pthread_create(&th, NULL, writer_main, NULL) != 0) die("pthread_create");
  for (long i = 0; i < n_msgs; i++) {
    size_t len;
    char *line = read_line(&len);
    if (!line) {
      fprintf(stderr, "client: EOF after %ld of %ld replies\n", i, n_msgs);
      return 3;
    }
    check_msg(line, len, i);
    received += (long)len + 1;
    long inflight = __atomic_load_n(&sent_bytes, __ATOMIC_RELAXED) - received;
    if (inflight > max_inflight) max_inflight = inflight;
  }
  double dt = now_s() - t0;
  pthread_join(th, NULL);
  /* t0/t1: CLOCK_MONOTONIC seconds (system-wide), so a runner can take the span over many clients */
  printf("{\"mode\":\"throughput\",\"phase\":%d,\"n\":%ld,\"size\":%zu,\"seconds\":%.6f,\"msgs_per_s\":%.1f,\"mb_per_s\":%.2f,"
         "\"max_inflight_bytes\":%ld,\"t0\":%.6f,\"t1\":%.6f}\n",
         phase, n_msgs, msg_size, dt, (double)n_msgs / dt, (double)n_msgs * (double)msg_size / dt / 1e6, max_inflight, t0,
         t0 + dt);
  fflush(stdout);
  return 0;
}

/* WARM uncounted round trips, then N timed ones; prints its JSON line. */
static int run_rtt(long n, long size, long warm, int phase) {
  setup(n + warm, size);
  double *lat = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
  char *msg = malloc(msg_size + 1);
  if (!lat || !msg) die("malloc");
  for (long i = 0; i < n + warm; i++) {
    make_msg(msg, i);
    double t0 = now_s();
    write_all(msg, msg_size + 1);
    size_t len;
    char *line = read_line(&len);
    double dt = now_s() - t0;
    if (!line) {
      fprintf(stderr, "client: EOF after %ld round trips\n", i);
      return 3;
    }
    check_msg(line, len, i);
    if (i >= warm) lat[i - warm] = dt * 1e6;
  }
  qsort(lat, (size_t)n, sizeof(double), cmp_double);
  double sum = 0;
  for (long i = 0; i < n; i++) sum += lat[i];
  printf("{\"mode\":\"rtt\",\"phase\":%d,\"n\":%ld,\"size\":%zu,\"mean_us\":%.2f,\"p50_us\":%.2f,\"p90_us\":%.2f,"
         "\"p99_us\":%.2f,\"p999_us\":%.2f,\"max_us\":%.2f}\n",
         phase, n, msg_size, sum / (double)n, pct(lat, n, 0.5), pct(lat, n, 0.9), pct(lat, n, 0.99), pct(lat, n, 0.999),
         lat[n - 1]);
  fflush(stdout);
  free(lat);
  free(msg);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: client READ_PIPE WRITE_PIPE MODE ARGS... (see the header of client.c)\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  const char *mode = argv[3];

  if (strcmp(mode, "throughput") == 0 && argc == 6) {
    open_pipes(argv[1], argv[2]);
    long size = atol(argv[5]);
    reader_init((size_t)size * 2 + 2 > (4 << 20) ? (size_t)size * 2 + 2 : (4 << 20));
    int rc = run_throughput(atol(argv[4]), size, -1);
    close(wfd);
    return rc;
  }

  if (strcmp(mode, "rtt") == 0 && (argc == 6 || argc == 7)) {
    open_pipes(argv[1], argv[2]);
    long size = atol(argv[5]);
    reader_init((size_t)size * 2 + 2 > (1 << 20) ? (size_t)size * 2 + 2 : (1 << 20));
    int rc = run_rtt(atol(argv[4]), size, argc == 7 ? atol(argv[6]) : 1000, -1);
    close(wfd);
    return rc;
  }

  if (strcmp(mode, "phases") == 0 && argc >= 5) {
    open_pipes(argv[1], argv[2]);
    reader_init(4 << 20);
    for (int k = 4; k < argc; k++) {
      char kind = 0;
      long n = 0, size = 0;
      if (sscanf(argv[k], "%c:%ld:%ld", &kind, &n, &size) != 3 || (kind != 't' && kind != 'r') || n <= 0 || size < 0) {
        fprintf(stderr, "client: bad phase %s (t:N:SIZE or r:N:SIZE)\n", argv[k]);
        return 2;
      }
      int rc = kind == 't' ? run_throughput(n, size, k - 4) : run_rtt(n, size, 1000, k - 4);
      if (rc != 0) return rc;
    }
    close(wfd);
    return 0;
  }

  if (strcmp(mode, "slow-write") == 0 && argc == 7) {
    setup(1, atol(argv[4]));
    size_t chunk = (size_t)atol(argv[5]);
    long delay_us = atol(argv[6]);
    if (chunk == 0) chunk = 65536;
    open_pipes(argv[1], argv[2]);
    char *msg = malloc(msg_size + 1);
    if (!msg) die("malloc");
    make_msg(msg, 0);
    int half_said = 0;
    for (size_t off = 0; off < msg_size + 1; off += chunk) {
      size_t n = msg_size + 1 - off < chunk ? msg_size + 1 - off : chunk;
      write_all(msg + off, n);
      if (!half_said && off + n >= (msg_size + 1) / 2) {
        printf("HALF\n");
        fflush(stdout);
        half_said = 1;
      }
      if (delay_us > 0) usleep((useconds_t)delay_us);
    }
    printf("DONE\n");
    fflush(stdout);
    wait_forever();
  }

  if (strcmp(mode, "write-noread") == 0 && argc == 5) {
    setup(1, atol(argv[4]));
    open_pipes(argv[1], argv[2]);
    char *msg = malloc(msg_size + 1);
    if (!msg) die("malloc");
    make_msg(msg, 0);
    write_all(msg, msg_size + 1);
    printf("WROTE\n");
    fflush(stdout);
    wait_forever();
  }

  if (strcmp(mode, "broken") == 0 && argc == 6) {
    setup(atol(argv[4]), 100);
    long k = atol(argv[5]);
    open_pipes(argv[1], argv[2]);
    reader_init(1 << 20);
    pthread_t th;
    if (pthread_create(&th, NULL, writer_main, NULL) != 0) die("pthread_create");
    for (long i = 0; i < k; i++) {
      size_t len;
      char *line = read_line(&len);
      if (!line) {
        fprintf(stderr, "client: EOF after %ld replies\n", i);
        return 3;
      }
      check_msg(line, len, i);
    }
    close(rfd);
    pthread_join(th, NULL);
    printf("BROKEN\n");
    fflush(stdout);
    wait_forever();
  }

  fprintf(stderr, "client: bad mode or arguments (see the header of client.c)\n");
  return 2;
}
