#!/usr/bin/env bash
# A/B of two builds of edge-chat on the noise-robust figure: server CPU per delivery at one fixed rate
# (Scenario A's 50 clients, 5 senders), alternating the order each round so drifts in the machine's
# load hit both alike. Each argument is a checkout with its own build/ (e.g. a `git worktree` of the
# old commit, built with `bash scripts/build.sh`).
#   bash scripts/ab.sh OLD_DIR NEW_DIR     (ROUNDS=4, RATE=20 msg/s per sender)
# B_VARS adds `--var` flags for B only, to A/B one build against itself with a setting switched on:
#   B_VARS="WEBHOOK_URL:http://127.0.0.1:9999/hooks WEBHOOK_SECRET:s" bash scripts/ab.sh . .
# SATURATE=1 runs make bench's saturation search (Scenario A: the rate doubles, then bisects, up to a
# p99 of 100 ms) instead of the fixed rate, alternating the same way; read it as ±1 bisection step.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source scripts/env.sh
A_DIR=$(cd "$1" && pwd); B_DIR=$(cd "$2" && pwd)
ROUNDS=${ROUNDS:-4}; RATE=${RATE:-20}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/edge-chat-ab.XXXXXX"); PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  sleep 1
  for pid in "${PIDS[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}
# The same start_server as make bench (it finds the user worker's direct port and its workerd pid).
eval "$(sed -n '/^start_server() {/,/^}/p' scripts/bench.sh)"
cargo build --quiet --profile loadgen -p edge-chat-bench
BENCH=$ROOT/target/loadgen/edge-chat-bench
FLAGS=(--var RATE_PER_SEC:1000000 --var RATE_BURST:1000000 --var RATE_LIMIT_EXEMPT:127.0.0.1)
start_server a "$A_DIR" "${FLAGS[@]}"
B_FLAGS=()
for v in ${B_VARS:-}; do B_FLAGS+=(--var "$v"); done
start_server b "$B_DIR" "${FLAGS[@]}" "${B_FLAGS[@]}"
for r in $(seq "$ROUNDS"); do
  order="a b"; [ $((r % 2)) = 0 ] && order="b a"
  for s in $order; do
    port=DIRECT_$s; cpu=CPUPID_$s
    if [ "${SATURATE:-}" = 1 ]; then
      "$BENCH" --url "http://127.0.0.1:${!port}" --label "$s" --cpu-pid "${!cpu}" \
        saturate --clients 50 --rooms 1 --senders 5 --rate 8 --duration 5 --refine 3 --retries 1 --p99-bound-ms 100 |
        tail -n 1 >"$WORK/$s-$r.json"
      node -e 'const o=JSON.parse(require("fs").readFileSync(process.argv[1]));const r=o.saturation??{};
        console.log(`round ${process.argv[3]} ${process.argv[2]}: saturation ${o.saturation_rate} msg/s per sender, ${Math.round(r.deliveries_per_s ?? 0)} deliveries/s, ${(r.server_cpu_us_per_delivery ?? 0).toFixed(1)} µs/delivery, lost ${r.lost ?? 0}`)' \
        "$WORK/$s-$r.json" "$s" "$r"
    else
      "$BENCH" --url "http://127.0.0.1:${!port}" --label "$s" --cpu-pid "${!cpu}" \
        run --clients 50 --rooms 1 --senders 5 --rate "$RATE" --duration 5 | tail -n 1 >"$WORK/$s-$r.json"
      node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1])).result;
        console.log(`round ${process.argv[3]} ${process.argv[2]}: ${r.server_cpu_us_per_delivery.toFixed(1)} µs/delivery, latency p50 ${r.latency_ms.p50} p99 ${r.latency_ms.p99} ms, lost ${r.lost ?? 0}`)' \
        "$WORK/$s-$r.json" "$s" "$r"
    fi
    sleep 2
  done
done
