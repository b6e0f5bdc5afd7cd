#!/usr/bin/env bash
# echo.sh READ_PIPE WRITE_PIPE -- reference echo program for pipe-io-server.
# Reads each message from READ_PIPE (the server's out pipe) and writes it back
# to WRITE_PIPE (the server's in pipe). Without arguments it uses
# PIPE_IO_READ_PIPE / PIPE_IO_WRITE_PIPE. Exits 0 at end of stream (the server
# stopped) or when the server went away while writing (EPIPE); 2 on usage or
# open errors (e.g. the pipes did not appear within PIPE_IO_WAIT_TIMEOUT s).
set -u
export LC_ALL=C # messages are bytes, not characters
# shellcheck source=pipe-io.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/pipe-io.sh"

if (( $# != 0 && $# != 2 )); then
  printf 'usage: %s READ_PIPE WRITE_PIPE\n' "$0" >&2
  exit 2
fi
pipe_io_open "$@" || exit 2
while pipe_io_receive message; do
  pipe_io_send "$message" || break # EPIPE: the server stopped, end of session
done
pipe_io_close
exit 0
