/*
 * hub_plugin.h -- C99 helpers for plugins that are hub members (see
 * docs/hub-plugins.md for the line protocol). Built on pipe_io.h: copy
 * pipe_io.{h,c} and hub_plugin.{h,c} into your plugin.
 *
 * line mode (attached with mode 'line', the default): each call's data is
 * one JSON line, the handler's result is the answer:
 *
 *   static int upper(const char *data, size_t len, hub_plugin_buf *out, void *user);
 *   int main(void) { return hub_plugin_serve_lines(upper, NULL) == 0 ? 0 : 1; }
 *
 * rpc mode (mode 'rpc'): calls carry request ids; a handler may call out
 * (hub_plugin_call), publish and broadcast. Handlers return 0 with the result
 * (JSON text) in `out`, or non-zero with an error text (plain) in `out`.
 *
 * Answers are batched: they are written when no further complete request is
 * already buffered, so a pipelined burst costs one write per batch.
 * hub_plugin_open() ignores SIGPIPE for the process (a plugin is its own
 * process): a write to a stopped hub fails with EPIPE.
 *
 * Strings taken from lines (request_id, channel, event, sender_id) are given
 * as they appear inside the JSON quotes: escapes are kept (names made of
 * letters, digits and ._- read as themselves).
 */
#ifndef HUB_PLUGIN_H
#define HUB_PLUGIN_H

#include <stddef.h>

#include "pipe_io.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A growable byte buffer, NUL-terminated after `len`. Zero-initialise it. */
typedef struct hub_plugin_buf {
  char *data;
  size_t len, cap;
} hub_plugin_buf;

/** Appends `n` bytes; -1 with ENOMEM on failure. */
int hub_plugin_buf_append(hub_plugin_buf *b, const char *s, size_t n);
/** Appends a NUL-terminated string. */
int hub_plugin_buf_puts(hub_plugin_buf *b, const char *s);
/** Appends `s` (n bytes) as a JSON string literal, quotes included. */
int hub_plugin_buf_json_string(hub_plugin_buf *b, const char *s, size_t n);
/** Empties the buffer (keeps its memory). */
void hub_plugin_buf_clear(hub_plugin_buf *b);
/** Frees the memory. */
void hub_plugin_buf_free(hub_plugin_buf *b);

/** One message from the hub (rpc mode). Pointers are valid during the handler call. */
typedef struct hub_plugin_msg {
  const char *type;       /* "call", "broadcast", "send", "receive", "error", "response" */
  const char *request_id; /* "" if absent */
  const char *channel;
  const char *event;
  const char *sender_id;
  const char *data;       /* JSON text of data (not NUL-terminated) */
  size_t data_len;
  int stream;             /* the caller asked for a stream */
} hub_plugin_msg;

/** A member in rpc mode. Fields are private; zero-initialise, then hub_plugin_open(). */
typedef struct hub_plugin {
  pipe_io_client io;
  hub_plugin_buf out;     /* answers not yet written */
  hub_plugin_buf line;    /* the line being handled */
  char **kept;            /* lines kept while waiting for a reply */
  size_t kept_head, kept_len, kept_cap;
  unsigned long seq;
} hub_plugin;

/** Line mode handler: data is one JSON value (NUL-terminated). */
typedef int (*hub_plugin_line_fn)(const char *data, size_t len, hub_plugin_buf *out, void *user);
/** rpc mode call handler. */
typedef int (*hub_plugin_call_fn)(hub_plugin *p, const hub_plugin_msg *msg, hub_plugin_buf *out, void *user);
/** rpc mode: any other message (broadcast, send, receive, error). May be NULL. */
typedef void (*hub_plugin_message_fn)(hub_plugin *p, const hub_plugin_msg *msg, void *user);

/**
 * Line mode: opens the pipes from the environment and answers every line
 * with `fn`'s result (an error becomes {"$error": text}) until end of
 * stream. Returns 0 at end of stream, -1 with errno on failure.
 */
int hub_plugin_serve_lines(hub_plugin_line_fn fn, void *user);

/** Opens the pipes from the environment (PIPE_IO_READ_PIPE / PIPE_IO_WRITE_PIPE). */
int hub_plugin_open(hub_plugin *p);
/** Answers calls with `fn` until end of stream (0), or -1 with errno. */
int hub_plugin_serve(hub_plugin *p, hub_plugin_call_fn fn, hub_plugin_message_fn on_message, void *user);
/**
 * Calls channel:event with `data_json` (NULL: null). Returns 0 with the
 * result's data (JSON) in `result`, 1 with the error text in `result`, -1
 * with errno (EPIPE, end of stream: ECONNRESET). `timeout_ms` <= 0: the
 * plugin's default timeout.
 */
int hub_plugin_call(hub_plugin *p, const char *channel, const char *event, const char *data_json, int timeout_ms,
                    hub_plugin_buf *result);
/**
 * Sends a request line made of `fields` (JSON object members without braces,
 * e.g. "\"type\":\"open\",\"channel\":\"news\""; a request_id is added) and
 * waits for its reply, with the same results as hub_plugin_call(). Lines
 * arriving meanwhile are kept for hub_plugin_serve().
 */
int hub_plugin_request(hub_plugin *p, const char *fields, hub_plugin_buf *result);
/** One-way lines (no reply). */
int hub_plugin_publish(hub_plugin *p, const char *channel, const char *sub_name, const char *data_json);
int hub_plugin_broadcast(hub_plugin *p, const char *channel, const char *event, const char *data_json);
/** Writes answers still batched (done by serve and call; for your own loops). */
int hub_plugin_flush(hub_plugin *p);
/** Closes the pipes and frees everything (idempotent). */
void hub_plugin_close(hub_plugin *p);

#ifdef __cplusplus
}
#endif

#endif /* HUB_PLUGIN_H */
