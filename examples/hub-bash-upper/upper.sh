#!/usr/bin/env bash
# upper.sh -- a hub plugin in bash (line mode): each call's data arrives as one
# JSON line; the line printed back is the result. jq does the work.
set -u
source "$(dirname -- "${BASH_SOURCE[0]}")/../../clients/bash/hub-plugin.sh"

upper() {
  jq -c 'if type == "string" then ascii_upcase else error("upper wants a string") end' <<<"$1" 2>&1
}
hub_serve_lines upper
