#!/usr/bin/env bash
# Runs every banter-bench scenario (3 rounds each, medians) and the
# banterd-vs-baseline comparisons (text-door scenarios only: the baseline has
# no WebSocket door, so ws-big-room is not compared), with the server pinned
# to CPU 0 and the load generator to CPU 1. Writes one JSON file per scenario to OUT (default
# target/bench-results/) and prints the tables. Usage: crates/bench/scripts/run-all.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/../../.."
out=${1:-target/bench-results}
rounds=${ROUNDS:-3}
mkdir -p "$out"
cargo build --release -p banter-server -p banter-bench
bench=target/release/banter-bench
for scenario in big-room ws-big-room throughput rooms idle slow-reader connect-storm; do
    echo "== $scenario"
    taskset -c 1 "$bench" run "$scenario" --spawn target/release/banterd --server-cpus 0 \
        --rounds "$rounds" --json >"$out/$scenario.json"
    python3 -c 'import json,sys; m=json.load(open(sys.argv[1])).get("median"); print(json.dumps(m, indent=1))' "$out/$scenario.json"
done
for scenario in throughput big-room; do
    echo "== compare $scenario"
    taskset -c 1 "$bench" compare "$scenario" --server-cpus 0 --rounds "$rounds" | tee "$out/compare-$scenario.txt" | tail -14
done
