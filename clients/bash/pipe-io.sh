# shellcheck shell=bash
# pipe-io.sh -- reference bash client for pipe-io-server (bash 4.1+).
#
# Source it, then:
#   pipe_io_open [READ_PIPE [WRITE_PIPE]]   # open both pipes (see "Finding the pipes")
#   pipe_io_send "message"                  # write one message (a newline is appended)
#   pipe_io_receive VAR [TIMEOUT]           # read one message into VAR
#   pipe_io_loop HANDLER                    # call HANDLER "$message" per message; its stdout goes to the server
#   pipe_io_close                           # close both pipes
#
# Messages are lines: any bytes except newline (bash variables cannot hold NUL
# bytes, so a NUL inside a message is dropped by bash itself). An unterminated
# last line at end of stream is still a message.
#
# Finding the pipes: arguments first, else the environment variables set by
# the plugin host:
#   PIPE_IO_READ_PIPE   the FIFO this client reads  (the server's out pipe)
#   PIPE_IO_WRITE_PIPE  the FIFO this client writes (the server's in pipe)
# If a pipe does not exist yet, pipe_io_open polls every 0.05 s until it
# appears, for at most PIPE_IO_WAIT_TIMEOUT seconds (default 10; 0 = do not
# wait). Once both exist, opening blocks until the server holds the other ends
# (immediate while a PipeIOServer runs). PIPE_IO_VERBOSE=1 reports the wait on
# stderr.
#
# Side effect: pipe_io_open ignores SIGPIPE in the calling shell (trap '' PIPE),
# so a write to a stopped server fails with status 1 (EPIPE) instead of killing
# the script; treat that as the end of the session.
#
# Return codes: 0 ok; 1 end of stream / broken pipe; 2 usage or open error;
# 3 receive timed out (pipe_io_receive only).

PIPE_IO_READ_FD=${PIPE_IO_READ_FD:-}
PIPE_IO_WRITE_FD=${PIPE_IO_WRITE_FD:-}
_PIPE_IO_PARTIAL=''
_PIPE_IO_EOF=0

# pipe_io_wait_for PATH -- poll until PATH is a FIFO (PIPE_IO_WAIT_TIMEOUT s).
pipe_io_wait_for() {
  local path=$1 timeout=${PIPE_IO_WAIT_TIMEOUT:-10} tries=0 max said=0
  if [[ ! $timeout =~ ^[0-9]+([.][0-9]+)?$ ]]; then
    printf 'pipe-io: PIPE_IO_WAIT_TIMEOUT must be a number of seconds, got %q\n' "$timeout" >&2
    return 2
  fi
  # Polls every 0.05 s: 20 tries per second (fraction rounded up to 0.05 s).
  local whole=${timeout%%.*} frac=0
  [[ $timeout == *.* ]] && frac=${timeout#*.}00 && frac=$(( (10#${frac:0:2} + 4) / 5 ))
  max=$(( 10#$whole * 20 + frac ))
  while [[ ! -e $path && ! -L $path ]]; do
    if (( tries >= max )); then
      printf 'pipe-io: %s did not appear within %s s (PIPE_IO_WAIT_TIMEOUT)\n' "$path" "$timeout" >&2
      return 2
    fi
    if [[ ${PIPE_IO_VERBOSE:-} == 1 && $said == 0 ]]; then
      printf 'pipe-io: waiting for %s (up to %s s)\n' "$path" "$timeout" >&2
      said=1
    fi
    sleep 0.05
    tries=$((tries + 1))
  done
  if [[ -L $path || ! -p $path ]]; then
    printf 'pipe-io: %s exists but is not a FIFO\n' "$path" >&2
    return 2
  fi
}

# pipe_io_open [READ_PIPE [WRITE_PIPE]] -- wait for and open both pipes.
# Sets PIPE_IO_READ_FD and PIPE_IO_WRITE_FD.
pipe_io_open() {
  local read_pipe=${1:-${PIPE_IO_READ_PIPE:-}} write_pipe=${2:-${PIPE_IO_WRITE_PIPE:-}}
  if [[ -z $read_pipe || -z $write_pipe ]]; then
    printf 'pipe-io: usage: pipe_io_open READ_PIPE WRITE_PIPE (or set PIPE_IO_READ_PIPE and PIPE_IO_WRITE_PIPE)\n' >&2
    return 2
  fi
  pipe_io_wait_for "$read_pipe" || return 2
  pipe_io_wait_for "$write_pipe" || return 2
  trap '' PIPE
  # The server holds the write end of its out pipe and a reader on its in
  # pipe, so neither open blocks while it runs.
  exec {PIPE_IO_READ_FD}<"$read_pipe" || return 2
  exec {PIPE_IO_WRITE_FD}>"$write_pipe" || { exec {PIPE_IO_READ_FD}<&-; return 2; }
  _PIPE_IO_PARTIAL=''
  _PIPE_IO_EOF=0
}

# pipe_io_send MESSAGE -- write MESSAGE plus a newline. Status 1 if the server
# went away (EPIPE), 2 if MESSAGE contains a newline or the pipe is not open.
pipe_io_send() {
  local message=$1
  if [[ -z $PIPE_IO_WRITE_FD ]]; then
    printf 'pipe-io: pipe_io_send: not open (call pipe_io_open)\n' >&2
    return 2
  fi
  if [[ $message == *$'\n'* ]]; then
    printf 'pipe-io: pipe_io_send: a message must not contain a newline\n' >&2
    return 2
  fi
  printf '%s\n' "$message" >&"$PIPE_IO_WRITE_FD" 2>/dev/null || return 1
}

# pipe_io_receive VAR [TIMEOUT] -- read the next message into VAR.
# Status 0 with a message; 1 at end of stream; 3 if TIMEOUT seconds (may be
# fractional) passed first -- bytes of a half-received line are kept for the
# next call, nothing is lost.
pipe_io_receive() {
  local _pio_var=$1 _pio_timeout=${2:-} _pio_line='' _pio_status
  if [[ -z $PIPE_IO_READ_FD ]]; then
    printf 'pipe-io: pipe_io_receive: not open (call pipe_io_open)\n' >&2
    return 2
  fi
  if (( _PIPE_IO_EOF )); then return 1; fi
  if [[ -n $_pio_timeout ]]; then
    IFS= read -r -t "$_pio_timeout" -u "$PIPE_IO_READ_FD" _pio_line
  else
    IFS= read -r -u "$PIPE_IO_READ_FD" _pio_line
  fi
  _pio_status=$?
  if (( _pio_status > 128 )); then
    # Timed out: bash stored the partial line; keep it for the next call.
    _PIPE_IO_PARTIAL+=$_pio_line
    return 3
  fi
  _pio_line=$_PIPE_IO_PARTIAL$_pio_line
  _PIPE_IO_PARTIAL=''
  if (( _pio_status != 0 )); then
    _PIPE_IO_EOF=1
    # End of stream: an unterminated last line is still a message.
    [[ -n $_pio_line ]] || return 1
  fi
  printf -v "$_pio_var" '%s' "$_pio_line"
}

# pipe_io_loop HANDLER -- for each message run HANDLER "$message" with its
# stdout redirected to the server: every line it prints is a reply (it may
# print none). Returns 0 at end of stream.
pipe_io_loop() {
  local handler=$1 message
  if [[ -z $handler ]]; then
    printf 'pipe-io: usage: pipe_io_loop HANDLER\n' >&2
    return 2
  fi
  while pipe_io_receive message; do
    "$handler" "$message" >&"$PIPE_IO_WRITE_FD"
  done
  return 0
}

# pipe_io_close -- close both pipes (safe to call twice).
pipe_io_close() {
  if [[ -n $PIPE_IO_READ_FD ]]; then exec {PIPE_IO_READ_FD}<&-; PIPE_IO_READ_FD=''; fi
  if [[ -n $PIPE_IO_WRITE_FD ]]; then exec {PIPE_IO_WRITE_FD}>&-; PIPE_IO_WRITE_FD=''; fi
  return 0
}
