#!/usr/bin/env bash
# Builds telgate and the benchmark from this checkout and runs the
# benchmark on loopback: telgate, websockify and raw TCP side by side.
# Arguments go to the benchmark (see bench/main.go), for example
#   bench/run.sh -rounds 3 -sessions 1000
# Needs websockify (Debian: apt-get install websockify), or pass
# -websockify '' to leave it out. Takes about five minutes.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# 9,000 sessions take two descriptors each in telgate and in the
# benchmark (its hosts and clients): raise the soft limit to the hard one.
ulimit -n "$(ulimit -Hn)"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/telgate" .
go build -o "$tmp/bench" ./bench
"$tmp/bench" -telgate "$tmp/telgate" "$@"
