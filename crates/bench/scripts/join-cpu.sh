#!/usr/bin/env bash
# What a join storm into one room costs the server, per door: banterd pinned to CPU 0,
# CLIENTS clients (default 3000) logging in and joining one room through DOOR (text, irc
# or websocket) from banter-bench on CPU 1; prints the server's CPU time over the whole
# login phase (from /proc), how long the logins took and the RSS per connection after.
#
# Usage: crates/bench/scripts/join-cpu.sh BANTERD DOOR [CLIENTS]
set -euo pipefail
cd "$(dirname "$0")/../../.."
[ $# -ge 2 ] || { sed -n 2,7p "$0"; exit 2; }
banterd=$1 door=$2 clients=${3:-3000}
bench=${BENCH:-target/release/banter-bench}
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
ports=(17741 17742 17743)
RUST_LOG=warn taskset -c 0 "$banterd" --listen 127.0.0.1:${ports[0]} \
    --http-listen 127.0.0.1:${ports[1]} --irc-listen 127.0.0.1:${ports[2]} --rate-limit 0 \
    --input-byte-rate 0 --max-connections-per-ip 0 --max-new-rooms-per-minute 0 \
    --max-connections 20000 --data-dir "$data" >"$data/log" 2>&1 &
pid=$!
# The server goes with the script, however it ends (an early-closed pipe too).
trap 'kill "$pid" 2>/dev/null; rm -rf "$data"' EXIT
sleep 1.5
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
before=$(cpu_ticks)
report=$(taskset -c 1 "$bench" run idle --door "$door" --addr 127.0.0.1:${ports[0]} \
    --http-addr 127.0.0.1:${ports[1]} --irc-addr 127.0.0.1:${ports[2]} --server-pid "$pid" \
    --clients "$clients" --rooms 1 --duration 3 --warmup 2)
after=$(cpu_ticks)
ticks=$(getconf CLK_TCK)
echo "$door, $clients into one room: server CPU $(( (after - before) * 1000 / ticks )) ms"
echo "$report" | grep -E 'logins|rss'
kill "$pid"
wait "$pid" 2>/dev/null || true
