/*
 * multi_client: ONE process that drives many pipe pairs at once, for the MultiPipeServer bench.
 *
 * Usage: multi_client TOTAL SIZE READ_PIPE WRITE_PIPE [READ_PIPE WRITE_PIPE ...]
 *   TOTAL       messages in all, split evenly over the pairs (the first TOTAL % pairs get one more)
 *   SIZE        bytes per message, without the newline
 *   READ_PIPE   a server's out pipe (this client reads it)
 *   WRITE_PIPE  the same pair's in pipe (this client writes it)
 * For each pair, in order, it opens WRITE_PIPE then READ_PIPE (blocking, like client.c), then makes
 * both non-blocking. One thread, one epoll set (level-triggered): when a pair's in pipe is writable
 * it writes the next up to 64 KiB of that pair's messages (pipelined, never waiting for replies);
 * when its out pipe is readable it reads and checks every complete reply. Messages and checks are
 * the same as client.c's `throughput` mode, per pair: reply i of a pair must be byte for byte that
 * pair's message i (10-digit sequence number, then the alphabet shifted by i).
 * Prints one JSON line, client.c's shape plus counters:
 *   {"mode":"multi-throughput","pairs":P,"n":TOTAL,"size":SIZE,"seconds":S,"msgs_per_s":..,
 *    "mb_per_s":..,"t0":..,"t1":..,"waits":..,"reads":..,"writes":..}
 * t0/t1: CLOCK_MONOTONIC seconds, t0 after every pipe is open, t1 after the last reply.
 * waits/reads/writes: epoll_wait calls and successful read()/write() calls.
 * Exit status: 0 ok, 2 usage/system error, 3 a reply was lost, glued, or corrupted.
 * Linux only (epoll): the benches read /proc anyway.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define SEQ_DIGITS 10
#define WRITE_CHUNK (64 << 10) /* a default pipe's capacity */
#define READ_CAP (256 << 10)

struct pair {
  int rfd, wfd;
  long n;           /* messages for this pair */
  long sent;        /* messages generated into wbuf so far */
  long got;         /* replies checked so far */
  char *wbuf;       /* generated, not yet written bytes: wbuf[woff..wlen) */
  size_t woff, wlen, wcap;
  char *rbuf;       /* unconsumed read bytes: rbuf[rstart..rend) */
  size_t rstart, rend, rcap;
  int writing;      /* wfd still in the epoll set */
};

static size_t msg_size;
static char *pattern; /* "ABC..Z" repeated, msg_size + 26 + 1 bytes */
static long n_reads, n_writes, n_waits;

static void die(const char *what) {
  fprintf(stderr, "multi_client: %s: %s\n", what, strerror(errno));
  exit(2);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void put_seq(char *dst, long i) {
  unsigned long v = (unsigned long)i;
  for (int d = SEQ_DIGITS - 1; d >= 0; d--) {
    dst[d] = (char)('0' + v % 10);
    v /= 10;
  }
}

static void make_msg(char *dst, long i) {
  memcpy(dst, pattern + (i % 26), msg_size);
  if (msg_size >= SEQ_DIGITS) put_seq(dst, i);
  dst[msg_size] = '\n';
}

static void check_msg(const char *line, size_t len, long i, int p) {
  if (len != msg_size) {
    fprintf(stderr, "multi_client: pair %d reply %ld has %zu bytes, expected %zu (lost or glued)\n", p, i, len, msg_size);
    exit(3);
  }
  size_t off = 0;
  if (msg_size >= SEQ_DIGITS) {
    char tmp[SEQ_DIGITS];
    put_seq(tmp, i);
    if (memcmp(line, tmp, SEQ_DIGITS) != 0) {
      fprintf(stderr, "multi_client: pair %d reply %ld carries sequence %.*s (out of order or lost)\n", p, i, SEQ_DIGITS, line);
      exit(3);
    }
    off = SEQ_DIGITS;
  }
  if (memcmp(line + off, pattern + (i % 26) + off, msg_size - off) != 0) {
    fprintf(stderr, "multi_client: pair %d reply %ld is corrupted\n", p, i);
    exit(3);
  }
}

static void set_nonblock(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) die("fcntl");
}

/* Writes the pair's next bytes; returns 1 once every message is written. */
static int pair_write(struct pair *pp) {
  size_t one = msg_size + 1;
  if (pp->woff == pp->wlen) {
    if (pp->sent == pp->n) return 1;
    pp->woff = pp->wlen = 0;
    while (pp->sent < pp->n && pp->wlen + one <= pp->wcap) {
      make_msg(pp->wbuf + pp->wlen, pp->sent++);
      pp->wlen += one;
    }
  }
  for (;;) {
    ssize_t w = write(pp->wfd, pp->wbuf + pp->woff, pp->wlen - pp->woff);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return 0;
      die("write");
    }
    n_writes++;
    pp->woff += (size_t)w;
    break;
  }
  return pp->woff == pp->wlen && pp->sent == pp->n;
}

/* Reads once and checks every complete reply; returns 0 on EOF. */
static int pair_read(struct pair *pp, int p) {
  if (pp->rstart > 0) {
    memmove(pp->rbuf, pp->rbuf + pp->rstart, pp->rend - pp->rstart);
    pp->rend -= pp->rstart;
    pp->rstart = 0;
  }
  ssize_t r;
  do {
    r = read(pp->rfd, pp->rbuf + pp->rend, pp->rcap - pp->rend);
  } while (r < 0 && errno == EINTR);
  if (r < 0) {
    if (errno == EAGAIN) return 1;
    die("read");
  }
  if (r == 0) return 0;
  n_reads++;
  size_t scan = pp->rend;
  pp->rend += (size_t)r;
  for (;;) {
    char *nl = memchr(pp->rbuf + scan, '\n', pp->rend - scan);
    if (!nl) break;
    char *line = pp->rbuf + pp->rstart;
    if (pp->got >= pp->n) {
      fprintf(stderr, "multi_client: pair %d got more than %ld replies\n", p, pp->n);
      exit(3);
    }
    check_msg(line, (size_t)(nl - line), pp->got++, p);
    pp->rstart = scan = (size_t)(nl - pp->rbuf) + 1;
  }
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 5 || (argc - 3) % 2 != 0) {
    fprintf(stderr, "usage: multi_client TOTAL SIZE READ_PIPE WRITE_PIPE [READ_PIPE WRITE_PIPE ...]\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  long total = atol(argv[1]);
  long size = atol(argv[2]);
  int npairs = (argc - 3) / 2;
  if (total < 0 || size < 0) {
    fprintf(stderr, "multi_client: TOTAL and SIZE must be >= 0\n");
    return 2;
  }
  msg_size = (size_t)size;
  pattern = malloc(msg_size + 27);
  struct pair *pairs = calloc((size_t)npairs, sizeof *pairs);
  if (!pattern || !pairs) die("malloc");
  for (size_t j = 0; j < msg_size + 26; j++) pattern[j] = (char)('A' + j % 26);

  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  size_t one = msg_size + 1;
  long remaining = 0;
  for (int p = 0; p < npairs; p++) {
    struct pair *pp = &pairs[p];
    pp->n = total / npairs + (p < total % npairs ? 1 : 0);
    remaining += pp->n;
    pp->wfd = open(argv[4 + 2 * p], O_WRONLY | O_CLOEXEC);
    if (pp->wfd < 0) die("open write pipe");
    pp->rfd = open(argv[3 + 2 * p], O_RDONLY | O_CLOEXEC);
    if (pp->rfd < 0) die("open read pipe");
    set_nonblock(pp->wfd);
    set_nonblock(pp->rfd);
    pp->wcap = one > WRITE_CHUNK ? one : WRITE_CHUNK;
    pp->rcap = 2 * one > READ_CAP ? 2 * one : READ_CAP;
    pp->wbuf = malloc(pp->wcap);
    pp->rbuf = malloc(pp->rcap);
    if (!pp->wbuf || !pp->rbuf) die("malloc");
    /* data: 2p = read side, 2p+1 = write side */
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)p * 2};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, pp->rfd, &ev) < 0) die("epoll_ctl");
    if (pp->n > 0) {
      struct epoll_event wev = {.events = EPOLLOUT, .data.u64 = (uint64_t)p * 2 + 1};
      if (epoll_ctl(ep, EPOLL_CTL_ADD, pp->wfd, &wev) < 0) die("epoll_ctl");
      pp->writing = 1;
    }
  }

  double t0 = now_s();
  struct epoll_event evs[256];
  while (remaining > 0) {
    int k = epoll_wait(ep, evs, 256, -1);
    if (k < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    n_waits++;
    for (int e = 0; e < k; e++) {
      int p = (int)(evs[e].data.u64 >> 1);
      struct pair *pp = &pairs[p];
      if (evs[e].data.u64 & 1) {
        if (!pp->writing) continue;
        if (evs[e].events & EPOLLERR) {
          fprintf(stderr, "multi_client: pair %d: the server closed its in pipe\n", p);
          return 3;
        }
        if (pair_write(pp)) {
          if (epoll_ctl(ep, EPOLL_CTL_DEL, pp->wfd, NULL) < 0) die("epoll_ctl");
          pp->writing = 0;
        }
      } else {
        long before = pp->got;
        if (!pair_read(pp, p)) {
          fprintf(stderr, "multi_client: pair %d: EOF after %ld of %ld replies\n", p, pp->got, pp->n);
          return 3;
        }
        remaining -= pp->got - before;
        if (pp->got == pp->n && epoll_ctl(ep, EPOLL_CTL_DEL, pp->rfd, NULL) < 0) die("epoll_ctl");
      }
    }
  }
  double dt = now_s() - t0;
  for (int p = 0; p < npairs; p++) {
    if (pairs[p].rstart != pairs[p].rend) {
      fprintf(stderr, "multi_client: pair %d: bytes after the last reply\n", p);
      return 3;
    }
    close(pairs[p].wfd);
    close(pairs[p].rfd);
  }
  printf("{\"mode\":\"multi-throughput\",\"pairs\":%d,\"n\":%ld,\"size\":%zu,\"seconds\":%.6f,\"msgs_per_s\":%.1f,"
         "\"mb_per_s\":%.2f,\"t0\":%.6f,\"t1\":%.6f,\"waits\":%ld,\"reads\":%ld,\"writes\":%ld}\n",
         npairs, total, msg_size, dt, (double)total / dt, (double)total * (double)msg_size / dt / 1e6, t0, t0 + dt,
         n_waits, n_reads, n_writes);
  return 0;
}
