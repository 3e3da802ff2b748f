#!/usr/bin/env bash
# Instructions per small-rooms message, counted by valgrind (callgrind): a figure that
# does not move with the machine's noise, for changes too small for timed runs to show.
#
# Usage: crates/bench/scripts/instructions.sh PROGRAM [relay|banterd] [SERVER_FLAGS...]
#   e.g. crates/bench/scripts/instructions.sh /tmp/after-banterd banterd --in-memory
#        crates/bench/scripts/instructions.sh target/release/relay relay
# Runs the server under callgrind on CPU 0 (so banterd picks its one-CPU runtime) twice,
# with 100 clients in 50 rooms sending 5 and then 10 messages a second for 4 s (after 1 s
# of warm-up), and prints the user-space instructions per message: the difference between
# the two runs' totals over the difference in messages, so start-up, logins and idle
# ticking cancel out. At this load every message is handled on its own (no batching), so
# this is the quiet server's cost per message, not the busy one's. KEEP=DIR keeps each
# run's callgrind file there (callgrind_annotate reads it). BENCH (default
# target/release/banter-bench) is the generator. Needs valgrind (Debian: valgrind).
set -euo pipefail
cd "$(dirname "$0")/../../.."
[ $# -ge 2 ] || { sed -n 2,15p "$0"; exit 2; }
program=$1
kind=$2
shift 2
bench=${BENCH:-target/release/banter-bench}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

count() { # rate server-flags... -> "instructions messages"
    local rate=$1 out="$work/callgrind.$1" flags=(--listen 127.0.0.1:0)
    shift
    [ "$kind" = banterd ] && flags+=(--http-listen off --irc-listen off --rate-limit 0
        --input-byte-rate 0 --max-new-rooms-per-minute 0 --log-level warn,banterd=info "$@")
    taskset -c 0 valgrind --tool=callgrind --callgrind-out-file="$out" "$program" \
        "${flags[@]}" >"$work/server.log" 2>&1 &
    local pid=$! port=""
    for _ in $(seq 100); do
        port=$(grep -ao "listening on 127.0.0.1:[0-9]*" "$work/server.log" | head -1 | sed 's/.*://' || true)
        [ -n "$port" ] && break
        sleep 0.3
    done
    [ -n "$port" ] || { cat "$work/server.log" >&2; exit 1; }
    "$bench" run rooms --clients 100 --rooms 50 --senders 100 --rate "$rate" --duration 4 \
        --warmup 1 --addr "127.0.0.1:$port" --json >"$work/bench.json"
    kill -TERM "$pid"
    wait "$pid" || true
    [ -n "${KEEP:-}" ] && cp "$out" "$KEEP/callgrind.$(basename "$program").$rate"
    echo "$(grep -a '^summary:' "$out" | awk '{print $2}')" \
        "$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['delivered'])" "$work/bench.json")"
}

read -r low_ir low_messages < <(count 5 "$@")
read -r high_ir high_messages < <(count 10 "$@")
echo "$program: $low_ir instructions for $low_messages messages, $high_ir for $high_messages"
echo "$(( (high_ir - low_ir) / (high_messages - low_messages) )) instructions per message"
