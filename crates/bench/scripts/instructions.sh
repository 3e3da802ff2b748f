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
# CACHE=1 also simulates the caches (32 KiB L1s, a 1 MiB last level, as one core of the
# bench machine has) and prints each message's misses: the code and data a message touches
# that were not touched lately. CLIENTS, ROOMS, SENDERS (100, 50, 100), LOW_RATE and
# HIGH_RATE (5, 10) and WARMUP (1 s) change the load; 2,000 clients in 1,000 rooms with
# 200 senders at 1 and 2 a second is small rooms' working set at a rate callgrind keeps up with.
set -euo pipefail
cd "$(dirname "$0")/../../.."
[ $# -ge 2 ] || { sed -n 2,20p "$0"; exit 2; }
program=$1
kind=$2
shift 2
bench=${BENCH:-target/release/banter-bench}
clients=${CLIENTS:-100} rooms=${ROOMS:-50} senders=${SENDERS:-100} warmup=${WARMUP:-1}
low_rate=${LOW_RATE:-5} high_rate=${HIGH_RATE:-10}
cache=()
[ -n "${CACHE:-}" ] && cache=(--cache-sim=yes --I1=32768,8,64 --D1=32768,8,64 --LL=1048576,16,64)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

count() { # rate server-flags... -> "instructions messages"
    local rate=$1 out="$work/callgrind.$1" flags=(--listen 127.0.0.1:0)
    shift
    [ "$kind" = banterd ] && flags+=(--http-listen off --irc-listen off --rate-limit 0
        --input-byte-rate 0 --max-new-rooms-per-minute 0 --log-level warn,banterd=info "$@")
    taskset -c 0 valgrind --tool=callgrind "${cache[@]}" --callgrind-out-file="$out" "$program" \
        "${flags[@]}" >"$work/server.log" 2>&1 &
    local pid=$! port=""
    for _ in $(seq 100); do
        port=$(grep -ao "listening on 127.0.0.1:[0-9]*" "$work/server.log" | head -1 | sed 's/.*://' || true)
        [ -n "$port" ] && break
        sleep 0.3
    done
    [ -n "$port" ] || { cat "$work/server.log" >&2; exit 1; }
    "$bench" run rooms --clients "$clients" --rooms "$rooms" --senders "$senders" --rate "$rate" \
        --duration 4 --warmup "$warmup" --addr "127.0.0.1:$port" --json >"$work/bench.json"
    kill -TERM "$pid"
    wait "$pid" || true
    [ -n "${KEEP:-}" ] && cp "$out" "$KEEP/callgrind.$(basename "$program").$rate"
    echo "$(grep -a '^summary:' "$out" | cut -d' ' -f2-)" \
        "$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['delivered'])" "$work/bench.json")"
}

low=$(count "$low_rate" "$@")
high=$(count "$high_rate" "$@")
python3 - "$program" "$low" "$high" "${cache[*]:-}" <<'EOF'
import sys
program, low, high, cache = sys.argv[1:]
low, high = [list(map(int, run.split())) for run in (low, high)]
messages = high[-1] - low[-1]
per = [(h - l) / messages for h, l in zip(high[:-1], low[:-1])]
print(f"{program}: {low[0]} instructions for {low[-1]} messages, {high[0]} for {high[-1]}")
print(f"{per[0]:.0f} instructions per message")
if cache:
    # Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw
    print(f"{per[4] + per[5]:.1f} L1 data misses per message, {per[7] + per[8]:.1f} misses"
          f" of a 1 MiB last level, {per[3]:.1f} L1 instruction misses")
EOF
