/*
 * hub_plugin.c -- see hub_plugin.h. C99 + POSIX.
 */
#define _POSIX_C_SOURCE 200809L

#include "hub_plugin.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- buffers ------------------------------------------------------------ */

int hub_plugin_buf_append(hub_plugin_buf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    char *grown;
    while (cap < b->len + n + 1) cap *= 2;
    grown = realloc(b->data, cap);
    if (grown == NULL) {
      errno = ENOMEM;
      return -1;
    }
    b->data = grown;
    b->cap = cap;
  }
  if (n > 0) memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

int hub_plugin_buf_puts(hub_plugin_buf *b, const char *s) { return hub_plugin_buf_append(b, s, strlen(s)); }

int hub_plugin_buf_json_string(hub_plugin_buf *b, const char *s, size_t n) {
  size_t i;
  if (hub_plugin_buf_append(b, "\"", 1) == -1) return -1;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    char esc[8];
    const char *out = NULL;
    size_t len = 2;
    switch (c) {
      case '"': out = "\\\""; break;
      case '\\': out = "\\\\"; break;
      case '\n': out = "\\n"; break;
      case '\r': out = "\\r"; break;
      case '\t': out = "\\t"; break;
      default:
        if (c < 0x20) {
          snprintf(esc, sizeof esc, "\\u%04x", c);
          out = esc;
          len = 6;
        }
    }
    if (out != NULL ? hub_plugin_buf_append(b, out, len) : hub_plugin_buf_append(b, s + i, 1)) return -1;
  }
  return hub_plugin_buf_append(b, "\"", 1);
}

void hub_plugin_buf_clear(hub_plugin_buf *b) {
  b->len = 0;
  if (b->data != NULL) b->data[0] = '\0';
}

void hub_plugin_buf_free(hub_plugin_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

/* ---- I/O ------------------------------------------------------------------ */

static int write_buf(int fd, hub_plugin_buf *b) {
  size_t done = 0;
  while (done < b->len) {
    ssize_t n = write(fd, b->data + done, b->len - done);
    if (n == -1) {
      if (errno == EINTR) continue;
      return -1;
    }
    done += (size_t)n;
  }
  hub_plugin_buf_clear(b);
  return 0;
}

/* Is another complete line already buffered? (then answers can wait: batching) */
static int has_buffered_line(const pipe_io_reader *r) {
  return r->buf != NULL && r->end > r->start && memchr(r->buf + r->start, '\n', r->end - r->start) != NULL;
}

/* Appends `prefix`, then `result` as data (ok == 0) or as an error text, then `suffix`. */
static int append_answer(hub_plugin_buf *out, const char *prefix, const char *data_key, const char *error_key,
                         int ok, const hub_plugin_buf *result, const char *suffix) {
  if (hub_plugin_buf_puts(out, prefix) == -1) return -1;
  if (ok == 0 && result->len > 0) {
    if (hub_plugin_buf_puts(out, data_key) == -1 || hub_plugin_buf_append(out, result->data, result->len) == -1) return -1;
  } else {
    const char *text = result->len > 0 ? result->data : "handler failed";
    if (hub_plugin_buf_puts(out, error_key) == -1 || hub_plugin_buf_json_string(out, text, strlen(text)) == -1) return -1;
  }
  return hub_plugin_buf_puts(out, suffix);
}

int hub_plugin_serve_lines(hub_plugin_line_fn fn, void *user) {
  pipe_io_client io;
  hub_plugin_buf out = {0}, result = {0};
  int rc = 0;
  signal(SIGPIPE, SIG_IGN);
  if (pipe_io_client_open(&io, NULL, NULL, -1) == -1) return -1;
  for (;;) {
    const char *msg;
    size_t len;
    int got, ok;
    if (!has_buffered_line(&io.reader) && out.len > 0 && write_buf(io.writer.fd, &out) == -1) {
      rc = errno == EPIPE ? 0 : -1;
      break;
    }
    got = pipe_io_client_receive(&io, &msg, &len, -1);
    if (got <= 0) {
      rc = got;
      break;
    }
    hub_plugin_buf_clear(&result);
    ok = fn(msg, len, &result, user);
    if (append_answer(&out, "", "", "{\"$error\":", ok, &result, ok == 0 && result.len > 0 ? "\n" : "}\n") == -1) {
      rc = -1;
      break;
    }
  }
  if (rc == 0 && out.len > 0 && write_buf(io.writer.fd, &out) == -1 && errno != EPIPE) rc = -1;
  hub_plugin_buf_free(&out);
  hub_plugin_buf_free(&result);
  pipe_io_client_close(&io);
  return rc;
}

/* ---- rpc mode --------------------------------------------------------------- */

int hub_plugin_open(hub_plugin *p) {
  memset(p, 0, sizeof *p);
  p->io.reader.fd = -1;
  p->io.writer.fd = -1;
  signal(SIGPIPE, SIG_IGN);
  return pipe_io_client_open(&p->io, NULL, NULL, -1);
}

int hub_plugin_flush(hub_plugin *p) { return p->out.len > 0 ? write_buf(p->io.writer.fd, &p->out) : 0; }

void hub_plugin_close(hub_plugin *p) {
  size_t i;
  for (i = p->kept_head; i < p->kept_len; i++) free(p->kept[i]);
  free(p->kept);
  p->kept = NULL;
  p->kept_head = p->kept_len = p->kept_cap = 0;
  hub_plugin_buf_free(&p->out);
  hub_plugin_buf_free(&p->line);
  pipe_io_client_close(&p->io);
}

static int keep(hub_plugin *p, const char *line, size_t len) {
  char *copy = malloc(len + 1);
  if (copy == NULL) return -1;
  memcpy(copy, line, len);
  copy[len] = '\0';
  if (p->kept_len == p->kept_cap) {
    size_t cap = p->kept_cap ? p->kept_cap * 2 : 16;
    char **grown = realloc(p->kept, cap * sizeof *grown);
    if (grown == NULL) {
      free(copy);
      errno = ENOMEM;
      return -1;
    }
    p->kept = grown;
    p->kept_cap = cap;
  }
  p->kept[p->kept_len++] = copy;
  return 0;
}

/* The head of a line ends where its data starts (data is always the last key). */
static char *head_end(char *line) {
  char *d = strstr(line, ",\"data\":");
  return d != NULL ? d : line + strlen(line);
}

/* Finds "key":"...". Returns the value (in place, NUL-terminated later by the caller) or NULL. */
static char *find_string(char *line, const char *end, const char *key, char **value_end) {
  char pattern[32];
  char *at, *v;
  snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
  at = strstr(line, pattern);
  if (at == NULL || at >= end) return NULL;
  v = at + strlen(pattern);
  for (*value_end = v; **value_end != '\0' && **value_end != '"'; (*value_end)++) {
    if (**value_end == '\\' && (*value_end)[1] != '\0') (*value_end)++;
  }
  return v;
}

/* Parses p->line (a copy, modified in place) into msg. */
static void parse_line(hub_plugin *p, hub_plugin_msg *msg) {
  static const char *const keys[] = {"type", "request_id", "channel", "event", "sender_id"};
  const char **slots[5];
  char *ends[5] = {NULL, NULL, NULL, NULL, NULL};
  char *line = p->line.data, *head = head_end(line), *full_end = line + p->line.len;
  size_t i;
  slots[0] = &msg->type;
  slots[1] = &msg->request_id;
  slots[2] = &msg->channel;
  slots[3] = &msg->event;
  slots[4] = &msg->sender_id;
  msg->stream = strstr(line, "\"stream\":true") != NULL && strstr(line, "\"stream\":true") < head;
  if (*head != '\0') {
    msg->data = head + 8;
    msg->data_len = (size_t)(full_end - msg->data);
    if (msg->data_len > 0 && msg->data[msg->data_len - 1] == '}') msg->data_len--;
  } else {
    msg->data = "null";
    msg->data_len = 4;
  }
  for (i = 0; i < 5; i++) {
    char *v = find_string(line, head, keys[i], &ends[i]);
    *slots[i] = v != NULL ? v : "";
  }
  for (i = 0; i < 5; i++) if (ends[i] != NULL) *ends[i] = '\0';
}

/* The next line: a kept one first, else from the pipe (answers flushed before blocking). */
static int next_line(hub_plugin *p) {
  const char *msg;
  size_t len;
  int got;
  hub_plugin_buf_clear(&p->line);
  if (p->kept_head < p->kept_len) {
    char *k = p->kept[p->kept_head++];
    got = hub_plugin_buf_puts(&p->line, k);
    free(k);
    if (p->kept_head == p->kept_len) p->kept_head = p->kept_len = 0;
    return got == -1 ? -1 : 1;
  }
  if (!has_buffered_line(&p->io.reader) && hub_plugin_flush(p) == -1) return -1;
  got = pipe_io_client_receive(&p->io, &msg, &len, -1);
  if (got <= 0) return got;
  return hub_plugin_buf_append(&p->line, msg, len) == -1 ? -1 : 1;
}

int hub_plugin_serve(hub_plugin *p, hub_plugin_call_fn fn, hub_plugin_message_fn on_message, void *user) {
  hub_plugin_buf result = {0}, head = {0};
  int rc;
  for (;;) {
    hub_plugin_msg msg;
    rc = next_line(p);
    if (rc <= 0) break;
    memset(&msg, 0, sizeof msg);
    parse_line(p, &msg);
    if (strcmp(msg.type, "call") != 0) {
      if (on_message != NULL) on_message(p, &msg, user);
      continue;
    }
    hub_plugin_buf_clear(&result);
    hub_plugin_buf_clear(&head);
    if (hub_plugin_buf_puts(&head, "{\"type\":\"response\",\"request_id\":\"") == -1 ||
        hub_plugin_buf_puts(&head, msg.request_id) == -1 || hub_plugin_buf_puts(&head, "\"") == -1 ||
        append_answer(&p->out, head.data, ",\"data\":", ",\"error\":", fn(p, &msg, &result, user), &result, "}\n") == -1) {
      rc = -1;
      break;
    }
  }
  if (rc == 0 && hub_plugin_flush(p) == -1 && errno != EPIPE) rc = -1;
  if (rc == -1 && errno == EPIPE) rc = 0;
  hub_plugin_buf_free(&result);
  hub_plugin_buf_free(&head);
  return rc;
}

static int send_line(hub_plugin *p, hub_plugin_buf *line) {
  if (hub_plugin_buf_append(line, "\n", 1) == -1) return -1;
  if (hub_plugin_buf_append(&p->out, line->data, line->len) == -1) return -1;
  return 0;
}

static int one_way(hub_plugin *p, const char *type, const char *channel, const char *key, const char *name,
                   const char *data_json) {
  hub_plugin_buf line = {0};
  int rc = hub_plugin_buf_puts(&line, "{\"type\":\"") | hub_plugin_buf_puts(&line, type) |
           hub_plugin_buf_puts(&line, "\",\"channel\":") | hub_plugin_buf_json_string(&line, channel, strlen(channel)) |
           hub_plugin_buf_puts(&line, key) | hub_plugin_buf_json_string(&line, name, strlen(name)) |
           hub_plugin_buf_puts(&line, ",\"data\":") | hub_plugin_buf_puts(&line, data_json ? data_json : "null") |
           hub_plugin_buf_puts(&line, "}");
  if (rc == 0) rc = send_line(p, &line);
  hub_plugin_buf_free(&line);
  return rc;
}

int hub_plugin_publish(hub_plugin *p, const char *channel, const char *sub_name, const char *data_json) {
  return one_way(p, "publish", channel, ",\"sub_name\":", sub_name, data_json);
}

int hub_plugin_broadcast(hub_plugin *p, const char *channel, const char *event, const char *data_json) {
  return one_way(p, "broadcast", channel, ",\"event\":", event, data_json);
}

int hub_plugin_request(hub_plugin *p, const char *fields, hub_plugin_buf *result) {
  hub_plugin_buf line = {0};
  char rid[32], prefix[80];
  size_t prefix_len;
  int rc;
  snprintf(rid, sizeof rid, "c%lu", ++p->seq);
  rc = hub_plugin_buf_puts(&line, "{\"request_id\":\"") | hub_plugin_buf_puts(&line, rid) |
       hub_plugin_buf_puts(&line, "\",") | hub_plugin_buf_puts(&line, fields) | hub_plugin_buf_puts(&line, "}");
  if (rc == 0) rc = send_line(p, &line);
  hub_plugin_buf_free(&line);
  if (rc != 0 || hub_plugin_flush(p) == -1) return -1;
  prefix_len = (size_t)snprintf(prefix, sizeof prefix, "{\"type\":\"response\",\"request_id\":\"%s\"", rid);
  for (;;) {
    const char *msg;
    size_t len;
    int got = pipe_io_client_receive(&p->io, &msg, &len, -1);
    if (got == 0) errno = ECONNRESET;
    if (got <= 0) return -1;
    if (len > prefix_len && memcmp(msg, prefix, prefix_len) == 0 && (msg[prefix_len] == ',' || msg[prefix_len] == '}')) {
      hub_plugin_buf copy = {0};
      char *head, *err, *err_end;
      if (hub_plugin_buf_append(&copy, msg, len) == -1) return -1;
      head = head_end(copy.data);
      hub_plugin_buf_clear(result);
      err = find_string(copy.data, head, "error", &err_end);
      if (err != NULL) {
        rc = hub_plugin_buf_append(result, err, (size_t)(err_end - err)) == -1 ? -1 : 1;
      } else if (*head != '\0') {
        size_t n = (size_t)(copy.data + copy.len - (head + 8));
        rc = hub_plugin_buf_append(result, head + 8, n > 0 ? n - 1 : 0);
      } else {
        rc = hub_plugin_buf_puts(result, "null");
      }
      hub_plugin_buf_free(&copy);
      return rc;
    }
    if (keep(p, msg, len) == -1) return -1;
  }
}

int hub_plugin_call(hub_plugin *p, const char *channel, const char *event, const char *data_json, int timeout_ms,
                    hub_plugin_buf *result) {
  hub_plugin_buf fields = {0};
  char timeout[40] = "";
  int rc;
  if (timeout_ms > 0) snprintf(timeout, sizeof timeout, ",\"timeout\":%d", timeout_ms);
  rc = hub_plugin_buf_puts(&fields, "\"type\":\"call\",\"channel\":") |
       hub_plugin_buf_json_string(&fields, channel, strlen(channel)) | hub_plugin_buf_puts(&fields, ",\"event\":") |
       hub_plugin_buf_json_string(&fields, event, strlen(event)) | hub_plugin_buf_puts(&fields, timeout) |
       hub_plugin_buf_puts(&fields, ",\"data\":") | hub_plugin_buf_puts(&fields, data_json ? data_json : "null");
  if (rc == 0) rc = hub_plugin_request(p, fields.data, result);
  hub_plugin_buf_free(&fields);
  return rc;
}
