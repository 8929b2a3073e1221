#!/usr/bin/env bash
# Runs the upstream SockJS protocol suite (sockjs-protocol.py and http-quirks.py of
# sockjs/sockjs-protocol) against the conformance server (test/server/conformance-server.ts).
#
#   scripts/sockjs-protocol-suite.sh <sockjs-protocol git dir or checkout> [revision, default HEAD]
#
# The suite is Python 2; scripts/sockjs-protocol-py3.py ports it to Python 3 in a temporary
# directory (nothing of it is kept in this repository). Needs a python3 with ws4py,
# websocket-client and unittest2: on Debian `apt-get install python3-ws4py python3-websocket
# python3-unittest2`. Set PYTHON to pick the interpreter (default /usr/bin/python3 when present).
# Extra arguments for unittest (e.g. a test name) go in SUITE_ARGS, extra arguments for the
# server in SERVER_ARGS (e.g. `--redis redis://127.0.0.1:6379` to run every route on Redis).
# Exit status: 0 when every test of both files passed.
set -euo pipefail

repo=${1:?usage: $0 <sockjs-protocol git dir or checkout> [revision]}
revision=${2:-HEAD}
here=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3 )}
work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/upstream" "$work/py3"
if [ -d "$repo/.git" ]; then gitdir="$repo/.git"; else gitdir="$repo"; fi
for file in sockjs-protocol.py http-quirks.py utils.py; do
  git --git-dir="$gitdir" show "$revision:$file" > "$work/upstream/$file"
done
echo "sockjs-protocol revision: $(git --git-dir="$gitdir" rev-parse "$revision")"
"$python" "$here/scripts/sockjs-protocol-py3.py" "$work/upstream" "$work/py3"

# Port 0: the server picks a free port and prints its URL.
# shellcheck disable=SC2086
(cd "$here" && exec node_modules/.bin/tsx test/server/conformance-server.ts --port 0 ${SERVER_ARGS:-}) > "$work/server.log" 2>&1 &
server_pid=$!
url=
for _ in $(seq 1 100); do
  url=$(sed -n 's/^SockJS conformance server listening on //p' "$work/server.log")
  [ -n "$url" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "the conformance server did not start"; cat "$work/server.log"; exit 1; }
echo "server: $url"

status=0
cd "$work/py3"
for suite in sockjs-protocol.py http-quirks.py; do
  echo "== $suite"
  # shellcheck disable=SC2086
  SOCKJS_URL=$url "$python" "$suite" ${SUITE_ARGS:-} || status=1
done
exit $status
