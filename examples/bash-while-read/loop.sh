#!/usr/bin/env bash
# loop.sh READ_PIPE WRITE_PIPE -- the smallest pipe-io-server client: two lines
# of bash, no library. Replies to every message with it upper-cased; ends when
# the server stops (end of stream on READ_PIPE).
while IFS= read -r line || [[ -n $line ]]; do printf '%s\n' "${line^^}"
done <"$1" >"$2"
