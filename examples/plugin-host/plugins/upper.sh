#!/usr/bin/env bash
# A plugin in bash: replies with each message in upper case.
# It reads $PIPE_IO_READ_PIPE and writes $PIPE_IO_WRITE_PIPE (set by the host).
echo "upper.sh: started (pid $$)" >&2
while IFS= read -r line; do
  printf '%s\n' "${line^^}"
done < "$PIPE_IO_READ_PIPE" > "$PIPE_IO_WRITE_PIPE"
