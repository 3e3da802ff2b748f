#!/usr/bin/env bash
# One sitting of BENCHMARKS.md's "Several nodes": big-room and small rooms
# against (a) one banterd alone, (b) one banterd with nats-server, (c) three
# banterd nodes with nats-server, CPU summed over every process; then the
# append ceiling of one hot room over three nodes. Needs nats-server and a
# release build (cargo build --release -p banter-server -p banter-bench).
#
#   crates/bench/scripts/cluster-sitting.sh
set -u
repo=$(cd "$(dirname "$0")/../../.." && pwd)
bin=$repo/target/release
flags="--rate-limit 0 --input-byte-rate 0 --max-connections-per-ip 0 --max-new-rooms-per-minute 0
  --max-connections 20000 --log-level warn,banterd=info --irc-listen off"
work=$(mktemp -d /tmp/banter-cluster-sitting.XXXXXX)
nats_port=14222
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null' EXIT

start_nats() {
  nats-server -js -a 127.0.0.1 -p $nats_port -sd "$work/nats-$1" >"$work/nats-$1.log" 2>&1 &
  nats=$!
  pids+=("$nats")
  for _ in $(seq 50); do grep -q "Server is ready" "$work/nats-$1.log" && break; sleep 0.1; done
}

# node NAME PORT [cluster]: starts banterd; its text door on PORT, HTTP on PORT+1.
node() {
  local extra=()
  [ -n "${3:-}" ] && extra=(--cluster "nats://127.0.0.1:$nats_port" --node-name "$1")
  # shellcheck disable=SC2086
  "$bin/banterd" $flags "${extra[@]}" --listen "127.0.0.1:$2" --http-listen "127.0.0.1:$(($2 + 1))" \
    --data-dir "$work/$1" >"$work/$1.log" 2>&1 &
  last=$!
  pids+=("$last")
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return; sleep 0.1; done
}

run() {
  local label=$1
  shift
  echo "=== $label: $*"
  "$bin/banter-bench" run "$@"
}

stop_all() {
  kill "${pids[@]}" 2>/dev/null
  wait 2>/dev/null
  pids=()
}

# 2 per room: 300 clients in 150 rooms put both of a room on one node of
# three; 200 in 100 put them on different nodes.
for scenario in "big-room" "rooms --clients 300 --rooms 150 --senders 300 --rate 5" \
  "rooms --clients 200 --rooms 100 --senders 200 --rate 5"; do
  # shellcheck disable=SC2086
  set -- $scenario --duration 5 --warmup 2 --check-order
  node a 20080
  run "(a) one node, no broker" "$@" --addr 127.0.0.1:20080 --server-pid "$last"
  stop_all
  start_nats b
  node b 20180 cluster
  run "(b) one node with nats-server" "$@" --addr 127.0.0.1:20180 --server-pid "$last" --server-pid "$nats"
  stop_all
  start_nats c
  node c1 20280 cluster
  p1=$last
  node c2 20380 cluster
  p2=$last
  node c3 20480 cluster
  p3=$last
  nodes=(--addr 127.0.0.1:20280 --addr 127.0.0.1:20380 --addr 127.0.0.1:20480
    --server-pid "$p1" --server-pid "$p2" --server-pid "$p3" --server-pid "$nats")
  run "(c) three nodes with nats-server" "$@" "${nodes[@]}"
  if [ "$1" = big-room ]; then
    run "(c) append ceiling: one room, 9 unthrottled senders over 3 nodes" \
      throughput --clients 30 --senders 9 --duration 5 --warmup 2 "${nodes[@]}"
  fi
  stop_all
done
echo "logs in $work"
