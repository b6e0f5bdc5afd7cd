#!/usr/bin/env bash
# main.sh -- a shell pipeline on a hub: subscribe to a topic, keep what matters.
#
#   pipe-io-server subscribe --channel news --topic headlines | grep --line-buffered -i urgent
#
# Self-contained: starts a hub on a private socket, runs the pipeline, publishes
# four headlines from another shell command, prints what the pipeline kept.
# Uses $PIPE_IO_SERVER if set, else the repository's build (npm run build).
set -euo pipefail
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
if [[ -n ${PIPE_IO_SERVER:-} ]]; then pio=("$PIPE_IO_SERVER"); else pio=(node "$here/../../dist/cli/main.js"); fi
dir=$(mktemp -d)
hub=''
cleanup() {
  [[ -n $hub ]] && kill "$hub" 2>/dev/null && wait "$hub" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT

"${pio[@]}" hub --socket "$dir/hub.sock" --quiet &
hub=$!
for _ in $(seq 200); do [[ -S $dir/hub.sock ]] && break; sleep 0.05; done # up to 10 s for the hub to listen

# The pipeline: one JSON line per publication; grep keeps the urgent ones.
"${pio[@]}" subscribe --hub "$dir/hub.sock" --channel news --topic headlines --count 4 2>/dev/null |
  grep --line-buffered -i urgent >"$dir/urgent" &
pipeline=$!

# The publisher waits (--wait) until the pipeline has subscribed, then publishes stdin's lines.
printf '%s\n' '"calm day at the office"' '"URGENT: the kettle is on fire"' '"more calm"' '{"text":"urgent: tea is out"}' |
  "${pio[@]}" publish --hub "$dir/hub.sock" --channel news --topic headlines --wait
wait "$pipeline"
cat "$dir/urgent"
