#!/usr/bin/env bash
# One sitting of every scenario for two banterd builds, interleaved, pinned (server on
# CPU 0, generator on CPU 1), plus the floor (relay) and the naive baseline in small rooms.
#
# Usage: crates/bench/scripts/before-after.sh BEFORE_BANTERD AFTER_BANTERD [OUT]
#   ROUNDS (default 2) rounds, each running before then after (after then before in
#   even rounds); BENCH (default target/release/banter-bench) is the generator, and the
#   relay and naive_chat next to it are the floor and the baseline; ONLY (e.g. "rooms-20
#   idle") runs only the scenarios named (names as in the table). Copy each banterd
#   somewhere stable first (cp target/release/banterd /tmp/before-banterd): a build
#   between rounds must not change what is measured.
# Writes one JSON per run to OUT (default target/bench-before-after/) and prints a table
# of medians: server CPU per delivery, deliveries/s, p99, server RSS per connection
# (idle) or time to log everyone in (connect-storm); and the load average at the start
# and end (the machine is shared: trust CPU per delivery over throughput).
set -euo pipefail
cd "$(dirname "$0")/../../.."
[ $# -ge 2 ] || { sed -n 2,15p "$0"; exit 2; }
before=$1
after=$2
out=${3:-target/bench-before-after}
rounds=${ROUNDS:-2}
bench=${BENCH:-target/release/banter-bench}
tools=$(dirname "$bench")
mkdir -p "$out"
common=(--server-cpus 0 --duration 5 --warmup 2 --json)

# name|scenario and flags|kind (banterd, relay, baseline)|banterd flags
cases=(
    "big-room|big-room|banterd|"
    "ws-big-room|ws-big-room|banterd|"
    "throughput|throughput|banterd|"
    "rooms-100|rooms|banterd|"
    "rooms-20|rooms --rate 20|banterd|"
    "rooms-20-in-memory|rooms --rate 20|banterd|--in-memory"
    "rooms-10-in-memory|rooms --rate 10|banterd|--in-memory"
    "idle|idle|banterd|"
    "idle-irc|idle --door irc|banterd|"
    "idle-ws|idle --door websocket|banterd|"
    "ws-after-hello|idle --door websocket --clients 5000 --rooms 5000|banterd|"
    "join-storm|idle --clients 5000 --rooms 1|banterd|"
    "join-storm-irc|idle --door irc --clients 5000 --rooms 1|banterd|"
    "slow-reader|slow-reader|banterd|"
    "connect-storm|connect-storm|banterd|"
)

run() { # label program kind scenario-and-flags server-arg
    local label=$1 program=$2 kind=$3 scenario=$4 arg=$5 flag=()
    case $kind in relay) flag=(--relay) ;; baseline) flag=(--baseline) ;; esac
    [ -n "$arg" ] && flag+=("--server-arg=$arg")
    # shellcheck disable=SC2086 # the scenario's flags are words
    taskset -c 1 "$bench" run $scenario --spawn "$program" "${flag[@]}" "${common[@]}" \
        >"$out/$label.json" || echo "  ($label failed)" >&2
}

echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$rounds"); do
    for case in "${cases[@]}"; do
        IFS='|' read -r name scenario kind arg <<<"$case"
        if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $name "* ]]; then continue; fi
        order=(before after)
        [ $((round % 2)) -eq 0 ] && order=(after before)
        for which in "${order[@]}"; do
            program=$before
            [ "$which" = after ] && program=$after
            echo "round $round: $name $which" >&2
            run "$name.$which.$round" "$program" "$kind" "$scenario" "$arg"
        done
    done
    if [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" rooms-10-in-memory "* ]]; then
        echo "round $round: rooms-10 relay" >&2
        run "rooms-10.relay.$round" "$tools/relay" relay "rooms --rate 10" ""
    fi
    if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" rooms-20 "* ]]; then continue; fi
    echo "round $round: rooms-20 relay, naive" >&2
    run "rooms-20.relay.$round" "$tools/relay" relay "rooms --rate 20" ""
    run "rooms-20.naive.$round" "$tools/naive_chat" baseline "rooms --rate 20" ""
done
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$out" "$rounds" <<'EOF'
import json, os, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])

def load(name):
    reports = []
    for r in range(1, rounds + 1):
        path = os.path.join(out, f"{name}.{r}.json")
        try:
            reports.append(json.load(open(path)))
        except (OSError, ValueError):
            pass
    return reports

def figures(reports):
    if not reports:
        return "-"
    med = lambda xs: statistics.median(xs) if xs else float("nan")
    servers = [r["server"] for r in reports if r.get("server")]
    us = med([s["cpu_us_per_delivery"] for s in servers if s.get("cpu_us_per_delivery")])
    rate = med([r["deliveries_per_second"] for r in reports])
    p99 = med([r["latency"]["p99_ms"] for r in reports])
    lost = sum(r["lost"] for r in reports)
    rss = med([s.get("rss_bytes_per_connection") or 0 for s in servers])
    login = med([r["login_seconds"] for r in reports])
    if reports[0]["scenario"] == "idle":
        return f"{rss:,.0f} B/conn"
    if reports[0]["scenario"] == "connect-storm":
        return f"all in {login:.2f} s, {rss:,.0f} B/conn"
    figures = f"{us:.3f} us, {rate:,.0f}/s, p99 {p99:.1f} ms, lost {lost}"
    if reports[0]["scenario"] == "rooms":
        # Small rooms' gap to the relay is user time (BENCHMARKS.md, round 8).
        user = med([s["cpu_us_per_delivery"] * (1 - s["system_seconds"] / s["cpu_seconds"])
                    for s in servers if s.get("cpu_us_per_delivery") and s.get("cpu_seconds")])
        figures += f", user {user:.2f} us"
    return figures

names = ["big-room", "ws-big-room", "throughput", "rooms-100", "rooms-20",
         "rooms-20-in-memory", "rooms-10-in-memory", "idle", "idle-irc", "idle-ws", "ws-after-hello",
         "join-storm", "join-storm-irc", "slow-reader", "connect-storm"]
print(f"\nmedians of {rounds} rounds (server CPU per delivery, deliveries/s, p99, lost)")
print(f"| scenario | before | after |")
print(f"|---|---|---|")
for name in names:
    print(f"| {name} | {figures(load(name + '.before'))} | {figures(load(name + '.after'))} |")
for other in ["rooms-20.relay", "rooms-20.naive", "rooms-10.relay"]:
    print(f"| {other} | {figures(load(other))} | |")
EOF
