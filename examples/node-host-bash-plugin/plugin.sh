#!/usr/bin/env bash
# plugin.sh -- a bash plugin built on clients/bash/pipe-io.sh. The host sets
# PIPE_IO_READ_PIPE / PIPE_IO_WRITE_PIPE; each request "OP A B" gets one reply.
set -u
source "$(dirname -- "${BASH_SOURCE[0]}")/../../clients/bash/pipe-io.sh"

# Handler: called once per message; what it prints goes back to the host.
calculate() {
  local op a b
  read -r op a b <<<"$1"
  if [[ ! $a =~ ^-?[0-9]+$ || ! $b =~ ^-?[0-9]+$ ]]; then
    printf 'error: expected "OP INT INT", got "%s"\n' "$1"
    return
  fi
  case $op in
    add) printf '%s\n' "$((a + b))" ;;
    mul) printf '%s\n' "$((a * b))" ;;
    *) printf 'error: unknown operation "%s"\n' "$op" ;;
  esac
}

pipe_io_open || exit 2   # paths from the environment
pipe_io_loop calculate   # returns at end of stream (the host stopped the server)
pipe_io_close
