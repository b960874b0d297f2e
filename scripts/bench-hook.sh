#!/usr/bin/env bash
# What the moderation hook costs a room's latency (issue 32's figure): p99 send → receipt at 100
# messages/s per sender, with a hook whose endpoint answers in 5 ms, against the same Worker without a
# hook, in one run. Two `wrangler dev` servers (same bundle; one with MODERATION_URL) and one local
# endpoint on 127.0.0.1; the load generator (bench/) runs against each in turn, ROUNDS times, so slow
# drifts in the machine's load hit both alike. Prints one JSON line per run and a summary; stops
# everything it started on exit.
#   ROUNDS=3 DURATION=10 CLIENTS=50 SENDERS=5 RATE=100 DELAY_MS=5   (the defaults)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/env.sh
source scripts/env.sh

ROUNDS=${ROUNDS:-3}; DURATION=${DURATION:-10}; CLIENTS=${CLIENTS:-50}; SENDERS=${SENDERS:-5}
RATE=${RATE:-100}; DELAY_MS=${DELAY_MS:-5}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/edge-chat-bench-hook.XXXXXX")
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  sleep 1
  for pid in "${PIDS[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

[ -f build/index.js ] || bash scripts/build.sh
cargo build --quiet --profile loadgen -p edge-chat-bench
BENCH=$ROOT/target/loadgen/edge-chat-bench
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# The app's endpoint: allows everything after DELAY_MS (it does not check signatures: that costs the
# endpoint, not the room; tests/moderation-hook.test.mjs checks them).
HOOK_PORT=$(free_port)
setsid node -e '
  const http = require("node:http");
  const delay = Number(process.argv[2]);
  http.createServer((req, res) => {
    req.resume();
    req.on("end", () => setTimeout(() => res.writeHead(200, { "content-type": "application/json" }).end("{\"action\":\"allow\"}"), delay));
  }).listen(Number(process.argv[1]), "127.0.0.1");
' "$HOOK_PORT" "$DELAY_MS" &
PIDS+=("$!")

# start NAME VARS...: wrangler dev in its own process group; sets PORT_<NAME>.
start() {
  local name=$1 port inspector pid; shift
  port=$(free_port); inspector=$(free_port)
  (EDGE_CHAT_PREBUILT=1 NO_COLOR=1 CI=1 exec setsid "$ROOT/node_modules/.bin/wrangler" dev --ip 127.0.0.1 \
    --port "$port" --inspector-port "$inspector" --persist-to "$WORK/state-$name" --log-level warn \
    --var RATE_PER_SEC:1000000 --var RATE_BURST:1000000 --var RATE_LIMIT_EXEMPT:127.0.0.1 "$@" \
    >"$WORK/$name.log" 2>&1) &
  pid=$!
  PIDS+=("$pid")
  for _ in $(seq 300); do
    curl -sf -m 2 "http://127.0.0.1:$port/health" >/dev/null && break
    kill -0 "$pid" 2>/dev/null || { cat "$WORK/$name.log"; exit 1; }
    sleep 0.3
  done
  printf -v "PORT_$name" %s "$port"
}
start plain
start hooked --var "MODERATION_URL:http://127.0.0.1:$HOOK_PORT/check" --var MODERATION_SECRET:bench-secret

RESULTS=$WORK/results.jsonl
for round in $(seq "$ROUNDS"); do
  for server in plain hooked; do
    port=PORT_$server
    "$BENCH" --quiet --url "http://127.0.0.1:${!port}" --label "$server" run --clients "$CLIENTS" \
      --senders "$SENDERS" --rate "$RATE" --duration "$DURATION" | tail -n 1 |
      node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o=JSON.parse(s);o.round=Number(process.argv[1]);console.log(JSON.stringify(o))})' "$round" |
      tee -a "$RESULTS"
    sleep 2
  done
done
node -e '
  const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
  for (const label of ["plain", "hooked"]) {
    const mine = rows.filter((r) => r.label === label);
    const p = (k) => mine.map((r) => r.result.latency_ms[k]).sort((a, b) => a - b);
    const lost = mine.reduce((n, r) => n + (r.result.lost ?? 0), 0);
    console.log(`FIGURE ${label}: p50 ${p("p50").join(" / ")} ms, p99 ${p("p99").join(" / ")} ms over ${mine.length} runs, lost ${lost}`);
  }
' "$RESULTS"
