# shellcheck shell=bash
# hub-plugin.sh -- bash helpers for plugins that are hub members (bash 4.1+).
# The line protocol is specified in docs/hub-plugins.md. Source this file
# (it sources pipe-io.sh from the same directory), then either:
#
# line mode (the plugin was attached with mode 'line', the default):
#   hub_serve_lines HANDLER        # HANDLER "$data_json" prints the result as JSON
#
# rpc mode (mode 'rpc'):
#   hub_serve HANDLER              # calls: HANDLER "$data_json" prints the result;
#                                  # HUB_REQUEST_ID HUB_CHANNEL HUB_EVENT HUB_SENDER are set
#   hub_call CHANNEL EVENT JSON [TIMEOUT_MS]   # prints the result's data; status 1 on error
#   hub_stream CHANNEL EVENT JSON [TIMEOUT_MS] # prints one data line per chunk
#   hub_publish CHANNEL SUB_NAME JSON
#   hub_broadcast CHANNEL EVENT JSON
#   hub_send CHANNEL EVENT JSON
#   hub_open CHANNEL / hub_provide CHANNEL EVENT
#   hub_subscribe CHANNEL SUB / hub_add_subscription CHANNEL SUB
#   hub_receive VAR                # the next broadcast/receive/send line (whole JSON line)
#
# In both modes a HANDLER that exits non-zero fails the call: its output (or
# "HANDLER failed (status N)") becomes the error text the caller sees.
# A handler may print JSON over several lines; the newlines are dropped
# (JSON text never needs them).
#
# In rpc mode, messages that are not the reply a helper waits for are kept
# (in order) for hub_serve / hub_receive, so a handler may call out. If a
# function named hub_on_message exists, hub_serve calls it for every
# broadcast, send, receive and error line: hub_on_message TYPE CHANNEL EVENT DATA_JSON.
#
# Return codes: 0 ok; 1 the hub answered with an error (text on stderr) or
# end of stream; 2 usage or open error.

# shellcheck source=pipe-io.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/pipe-io.sh"

_HUB_SEQ=0
_HUB_STASH=()
HUB_REQUEST_ID='' HUB_CHANNEL='' HUB_EVENT='' HUB_SENDER=''

# hub_quote VAR STRING -- sets VAR to STRING as a JSON string literal.
hub_quote() {
  local _s=$2
  _s=${_s//\\/\\\\}
  _s=${_s//\"/\\\"}
  _s=${_s//$'\n'/\\n}
  _s=${_s//$'\r'/\\r}
  _s=${_s//$'\t'/\\t}
  printf -v "$1" '"%s"' "$_s"
}

# _hub_open -- open the pipes once.
_hub_open() {
  [[ -n $PIPE_IO_WRITE_FD ]] && return 0
  pipe_io_open || return 2
}

# _hub_field VAR KEY LINE -- VAR = the string value of KEY in LINE's head (before "data"), or ''.
_hub_field() {
  local _head=${3%%,\"data\":*} _re="\"$2\":\"(([^\"\\\\]|\\\\.)*)\""
  if [[ $_head =~ $_re ]]; then printf -v "$1" '%s' "${BASH_REMATCH[1]}"; else printf -v "$1" '%s'; fi
}

# _hub_data VAR LINE -- VAR = the JSON text of LINE's data (the last key).
_hub_data() {
  local _d=${2#*,\"data\":}
  printf -v "$1" '%s' "${_d%\}}"
}

# _hub_next VAR -- the next line: a kept one first, else from the pipe.
_hub_next() {
  if (( ${#_HUB_STASH[@]} > 0 )); then
    printf -v "$1" '%s' "${_HUB_STASH[0]}"
    _HUB_STASH=("${_HUB_STASH[@]:1}")
    return 0
  fi
  pipe_io_receive "$1"
}

# _hub_run HANDLER DATA -- sets _HUB_OUT and returns the handler's status.
_hub_run() {
  local _status
  _HUB_OUT=$("$1" "$2")
  _status=$?
  _HUB_OUT=${_HUB_OUT//$'\n'/}
  return $_status
}

# hub_serve_lines HANDLER -- line mode: one JSON line in, HANDLER's JSON out.
hub_serve_lines() {
  local handler=$1 line status err
  [[ -n $handler ]] || { printf 'hub-plugin: usage: hub_serve_lines HANDLER\n' >&2; return 2; }
  _hub_open || return 2
  while pipe_io_receive line; do
    if _hub_run "$handler" "$line" && [[ -n $_HUB_OUT ]]; then
      pipe_io_send "$_HUB_OUT" || return 0
    else
      status=$?
      hub_quote err "${_HUB_OUT:-$handler failed (status $status)}"
      pipe_io_send "{\"\$error\":$err}" || return 0
    fi
  done
  return 0
}

# hub_serve HANDLER -- rpc mode: answers calls; hub_on_message gets the rest.
hub_serve() {
  local handler=$1 line type status err
  [[ -n $handler ]] || { printf 'hub-plugin: usage: hub_serve HANDLER\n' >&2; return 2; }
  _hub_open || return 2
  while _hub_next line; do
    _hub_field type type "$line"
    if [[ $type == call ]]; then
      _hub_field HUB_REQUEST_ID request_id "$line"
      _hub_field HUB_CHANNEL channel "$line"
      _hub_field HUB_EVENT event "$line"
      _hub_field HUB_SENDER sender_id "$line"
      local data
      _hub_data data "$line"
      if _hub_run "$handler" "$data" && [[ -n $_HUB_OUT ]]; then
        pipe_io_send "{\"type\":\"response\",\"request_id\":\"$HUB_REQUEST_ID\",\"data\":$_HUB_OUT}" || return 0
      else
        status=$?
        hub_quote err "${_HUB_OUT:-$handler failed (status $status)}"
        pipe_io_send "{\"type\":\"response\",\"request_id\":\"$HUB_REQUEST_ID\",\"error\":$err}" || return 0
      fi
    elif declare -F hub_on_message >/dev/null; then
      local ch ev data
      _hub_field ch channel "$line"
      _hub_field ev event "$line"
      _hub_data data "$line"
      hub_on_message "$type" "$ch" "$ev" "$data"
    fi
  done
  return 0
}

# _hub_request VAR JSON_HEAD -- sends {JSON_HEAD,"request_id":...}; VAR = the reply line.
# JSON_HEAD is the object's text without braces. Keeps other lines for later.
_hub_request() {
  local _var=$1 _rid="b$((++_HUB_SEQ))" _line _got
  _hub_open || return 2
  pipe_io_send "{\"request_id\":\"$_rid\",$2}" || return 1
  while pipe_io_receive _line; do
    if [[ $_line == '{"type":"response","request_id":"'$_rid'"'[,}]* ]]; then
      printf -v "$_var" '%s' "$_line"
      return 0
    fi
    _HUB_STASH+=("$_line")
  done
  printf 'hub-plugin: end of stream while waiting for the reply\n' >&2
  return 1
}

# _hub_result LINE -- prints LINE's data, or its error on stderr (status 1).
_hub_result() {
  local _err
  _hub_field _err error "$1"
  if [[ ${1%%,\"data\":*} == *'"error":'* ]]; then
    printf '%b\n' "${_err:-error}" >&2
    return 1
  fi
  local _data
  _hub_data _data "$1"
  printf '%s\n' "$_data"
}

_hub_names() { # _hub_names CHANNEL EVENT -> _HUB_C _HUB_E quoted
  hub_quote _HUB_C "$1"
  hub_quote _HUB_E "$2"
}

# hub_call CHANNEL EVENT JSON [TIMEOUT_MS] -- prints the result's data.
hub_call() {
  (( $# >= 3 )) || { printf 'hub-plugin: usage: hub_call CHANNEL EVENT JSON [TIMEOUT_MS]\n' >&2; return 2; }
  local reply timeout=''
  [[ -n ${4:-} ]] && timeout=",\"timeout\":$4"
  _hub_names "$1" "$2"
  _hub_request reply "\"type\":\"call\",\"channel\":$_HUB_C,\"event\":$_HUB_E$timeout,\"data\":$3" || return $?
  _hub_result "$reply"
}

# hub_stream CHANNEL EVENT JSON [TIMEOUT_MS] -- prints one data line per chunk.
hub_stream() {
  (( $# >= 3 )) || { printf 'hub-plugin: usage: hub_stream CHANNEL EVENT JSON [TIMEOUT_MS]\n' >&2; return 2; }
  local reply timeout='' head line
  [[ -n ${4:-} ]] && timeout=",\"timeout\":$4"
  _hub_names "$1" "$2"
  _hub_request reply "\"type\":\"call\",\"channel\":$_HUB_C,\"event\":$_HUB_E,\"stream\":true$timeout,\"data\":$3" || return $?
  local rid
  _hub_field rid request_id "$reply"
  for (( ;; )); do
    head=${reply%%,\"data\":*}
    if [[ $head == *'"is_final":true'* ]]; then
      [[ ${reply: -6} == ':null}' ]] || _hub_result "$reply"
      return 0
    fi
    _hub_result "$reply" || return 1
    [[ $head == *'"is_stream":true'* ]] || return 0
    # the next line of this stream (others are kept)
    while pipe_io_receive line; do
      if [[ $line == '{"type":"response","request_id":"'$rid'"'[,}]* ]]; then reply=$line; continue 2; fi
      _HUB_STASH+=("$line")
    done
    return 1
  done
}

# hub_publish CHANNEL SUB_NAME JSON -- publish to a topic this plugin declared.
hub_publish() {
  local c s
  hub_quote c "$1"; hub_quote s "$2"
  _hub_open || return 2
  pipe_io_send "{\"type\":\"publish\",\"channel\":$c,\"sub_name\":$s,\"data\":$3}"
}

# hub_broadcast CHANNEL EVENT JSON / hub_send CHANNEL EVENT JSON
hub_broadcast() {
  _hub_names "$1" "$2"; _hub_open || return 2
  pipe_io_send "{\"type\":\"broadcast\",\"channel\":$_HUB_C,\"event\":$_HUB_E,\"data\":$3}"
}
hub_send() {
  _hub_names "$1" "$2"; _hub_open || return 2
  pipe_io_send "{\"type\":\"send\",\"channel\":$_HUB_C,\"event\":$_HUB_E,\"data\":$3}"
}

# hub_open CHANNEL / hub_subscribe CHANNEL SUB / hub_add_subscription CHANNEL SUB -- wait for the reply.
hub_open() {
  local reply c; hub_quote c "$1"
  _hub_request reply "\"type\":\"open\",\"channel\":$c" && _hub_result "$reply" >/dev/null
}
hub_subscribe() {
  local reply; _hub_names "$1" "$2"
  _hub_request reply "\"type\":\"subscribe\",\"channel\":$_HUB_C,\"sub_name\":$_HUB_E" && _hub_result "$reply" >/dev/null
}
hub_provide() { # hub_provide CHANNEL EVENT -- provide one more event (rpc mode)
  local reply; _hub_names "$1" "$2"
  _hub_request reply "\"type\":\"provide\",\"channel\":$_HUB_C,\"event\":$_HUB_E" && _hub_result "$reply" >/dev/null
}
hub_add_subscription() {
  local reply; _hub_names "$1" "$2"
  _hub_request reply "\"type\":\"add_subscription\",\"channel\":$_HUB_C,\"sub_name\":$_HUB_E" && _hub_result "$reply" >/dev/null
}

# hub_receive VAR -- the next line that is not a reply (broadcast, receive, send, call, error).
hub_receive() {
  _hub_open || return 2
  _hub_next "$1"
}
