#!/usr/bin/env bash
# `make bench`: builds edge-chat (release) and the load generator, starts edge-chat and the baseline
# relay (bench/baseline/) under the same `wrangler dev`, runs scenarios A–D against both in one run,
# and writes docs/PERFORMANCE.md. Both servers are stopped on any exit. Only 127.0.0.1 gets traffic.
#
# `wrangler dev` puts a proxy worker (its own workerd process) in front of the user worker's workerd;
# scenario A is run both through it (the dev URL) and straight at the user worker's entry socket.
#   BENCH_QUICK=1   shorter runs (a minute or two; for trying the script, not for the record)
#   BENCH_ONLY="A L S"  only these scenarios (A, A20, L, I, B, C, S, D, H), reported to $BENCH_OUT
#                   (default: a file in $TMPDIR, so docs/PERFORMANCE.md keeps the full run's figures)
#   BENCH_A_SERVERS="baseline edgena-batch"  scenario A against only these (direct and proxy as usual)
#   BENCH_A_PATHS=direct  scenario A on only these paths
#   BENCH_S_SIZES="3000" BENCH_S_SERVERS=edge  scenario S for only these sizes and servers
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/env.sh
source scripts/env.sh

T0=$(date +%s)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/edge-chat-bench.XXXXXX")
RESULTS=$WORK/results.jsonl
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do
    kill -TERM -- "-$pid" 2>/dev/null || true
  done
  sleep 1
  for pid in "${PIDS[@]}"; do
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== build (release)"
bash scripts/build.sh
cargo build --quiet --profile loadgen -p edge-chat-bench
BENCH=$ROOT/target/loadgen/edge-chat-bench

# Scenario C holds 1000 sockets in this process (and as many in workerd).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 65536 2>/dev/null || true

free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# start_server NAME DIR [--var K:V...]: starts wrangler dev in DIR in its own process group and
# waits for /health; sets PORT_<NAME>, and DIRECT_<NAME> (the user worker's own entry socket).
start_server() {
  local name=$1 dir=$2; shift 2
  local port inspector pid
  port=$(free_port); inspector=$(free_port)
  (cd "$dir" && EDGE_CHAT_PREBUILT=1 NO_COLOR=1 CI=1 exec setsid "$ROOT/node_modules/.bin/wrangler" dev \
    --ip 127.0.0.1 --port "$port" --inspector-port "$inspector" --persist-to "$WORK/state-$name" \
    --log-level warn "$@" >"$WORK/$name.log" 2>&1) &
  pid=$!
  PIDS+=("$pid")
  for _ in $(seq 300); do
    curl -sf -m 2 "http://127.0.0.1:$port/health" >/dev/null && break
    kill -0 "$pid" 2>/dev/null || { cat "$WORK/$name.log"; echo "$name: wrangler dev exited" >&2; exit 1; }
    sleep 0.3
  done
  curl -sf -m 2 "http://127.0.0.1:$port/health" >/dev/null || { echo "$name did not start" >&2; exit 1; }
  # The user worker's workerd listens on a random "entry" port; find it among the group's sockets.
  local direct="" p
  for p in $(ss -ltnpH 2>/dev/null | awk '{print $4, $6}' | while read -r addr users; do
      for wp in $(echo "$users" | grep -o 'pid=[0-9]*' | cut -d= -f2); do
        [ "$(ps -o pgid= "$wp" | tr -d ' ')" = "$pid" ] && echo "${addr##*:}"
      done
    done | sort -u); do
    [ "$p" = "$port" ] || [ "$p" = "$inspector" ] && continue
    if curl -sf -m 2 "http://127.0.0.1:$p/health" >/dev/null 2>&1; then direct=$p; break; fi
  done
  # The user worker's workerd process: the generator reports the CPU time each run costs it.
  local cpupid
  cpupid=$(ss -ltnpH | awk -v a="127.0.0.1:$direct" '$4 == a {print $6}' | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2)
  printf -v "PORT_$name" %s "$port"
  printf -v "DIRECT_$name" %s "$direct"
  printf -v "CPUPID_$name" %s "$cpupid"
  printf -v "INSPECTOR_$name" %s "$inspector"
  echo "$name: http://127.0.0.1:$port (through the proxy), direct entry: ${direct:-not found}"
}

echo "== start servers"
# The generator sends far above the default per-connection rate limit (10/s); everything else, history
# persistence and trimming included, stays at its defaults.
# Every load client comes from 127.0.0.1: exempt it from the per-client socket limit explicitly.
start_server edge "$ROOT" --var RATE_PER_SEC:1000000 --var RATE_BURST:1000000 --var RATE_LIMIT_EXEMPT:127.0.0.1
# The same Worker without [assets]: with static assets, wrangler dev routes every request, /ws included,
# through its asset router worker, and each WebSocket frame then crosses one more pipe inside workerd.
# The baselines serve no assets, so this is edge-chat's like-for-like row.
mkdir -p "$WORK/noassets"
awk -v main="$ROOT/build/index.js" '
  /^\[/ { skip = ($0 == "[assets]" || $0 == "[build]") }
  /^main = / { print "main = \"" main "\""; next }
  !skip' wrangler.toml >"$WORK/noassets/wrangler.toml"
start_server edgena "$WORK/noassets" --var RATE_PER_SEC:1000000 --var RATE_BURST:1000000 --var RATE_LIMIT_EXEMPT:127.0.0.1
start_server baseline "$ROOT/bench/baseline"
start_server stored "$ROOT/bench/baseline" --var STORE:1
start_server batched "$ROOT/bench/baseline" --var STORE:batch
# The same Worker with presence per member at any size (today's v1 rosters): the connect storm's
# "before" in the same run.
start_server edgev1 "$ROOT" --var RATE_PER_SEC:1000000 --var RATE_BURST:1000000 --var RATE_LIMIT_EXEMPT:127.0.0.1 --var PRESENCE_THRESHOLD:1000000

if [ "${BENCH_QUICK:-}" = 1 ]; then
  DUR=3; CDUR=4; TRIES=4; REFINE=1
else
  DUR=5; CDUR=8; TRIES=20; REFINE=3
fi

only() { [ -z "${BENCH_ONLY:-}" ] || [[ " $BENCH_ONLY " == *" $1 "* ]]; }

# bench SCENARIO SERVER PATH PORT ARGS...: one generator run; its JSON line goes to the results.
# SERVER may carry a suffix after a dash (edgena-batch): the run is labelled so, against SERVER's process.
bench() {
  local scenario=$1 server=$2 path=$3 port=$4; shift 4
  echo "== $scenario: $server ($path)"
  local out=$WORK/out-$scenario-$server-$path.txt cpupid=CPUPID_${server%%-*}
  "$BENCH" --url "http://127.0.0.1:$port" --label "$server" ${!cpupid:+--cpu-pid "${!cpupid}"} "$@" | tee "$out" || return 1
  tail -n 1 "$out" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o=JSON.parse(s);Object.assign(o,{scenario:process.argv[1],server:process.argv[2],path:process.argv[3]});console.log(JSON.stringify(o))})' \
      "$scenario" "$server" "$path" >>"$RESULTS"
  sleep 2
}

# A: 50 clients, 1 room, 5 senders; the per-sender rate doubles, then bisects, up to saturation.
# Each server is measured straight after the others, so slow drifts in the machine's load hit all alike.
# edgena-batch: the same, every client connected with batch=1 (one frame per flush).
A=(saturate --clients 50 --rooms 1 --senders 5 --rate 8 --duration "$DUR" --refine "$REFINE" --retries 1 --p99-bound-ms 100)
for path in ${BENCH_A_PATHS:-direct proxy}; do
  only A || break
  for server in ${BENCH_A_SERVERS:-baseline stored batched edgena edgena-batch edge}; do
    [ "$path" = proxy ] && [ "$server" != baseline ] && [ "$server" != edge ] && continue
    port=PORT_${server%%-*}; [ "$path" = direct ] && port=DIRECT_${server%%-*}
    batch=(); [ "$server" != "${server%-batch}" ] && batch=(--batch)
    if [ -n "${!port}" ]; then bench A "$server" "$path" "${!port}" "${A[@]}" "${batch[@]}"; fi
  done
done
# L: latency at moderate load, 50 clients, 5 senders at 100 msg/s each, direct; two rounds, the order
# reversed in the second, against the group-commit baseline (the floor for durable-before-visible).
for round in 1 2; do
  only L || break
  servers=(batched edgena edgena-batch); [ "$round" = 2 ] && servers=(edgena-batch edgena batched)
  for server in "${servers[@]}"; do
    port=DIRECT_${server%%-*}
    batch=(); [ "$server" != "${server%-batch}" ] && batch=(--batch)
    if [ -n "${!port}" ]; then
      bench "L-$round" "$server" direct "${!port}" run --clients 50 --rooms 1 --senders 5 --rate 100 --duration "$DUR" "${batch[@]}"
    fi
  done
done
# A at one fixed rate (20 msg/s per sender, 4,900 deliveries/s), two rounds: the server's CPU time per
# delivery, which other work on the machine hardly disturbs.
for round in 1 2; do
  only A20 || break
  for server in baseline stored batched edgena edge; do
    port=DIRECT_$server
    if [ -n "${!port}" ]; then
      bench "A20-$round" "$server" direct "${!port}" run --clients 50 --rooms 1 --senders 5 --rate 20 --duration "$DUR"
    fi
  done
done
# I: what inboxes cost (issue 28). The A20 load (50 clients, 5 senders at 20 msg/s, direct) three ways,
# two rounds, the order reversed in the second: anonymous clients (nobody has an inbox), clients with
# a key each (every member's inbox is told, at most once a second), and the same holding every inbox's
# socket too, which measures the time from a message's ack to each inbox's frame that shows it.
for round in 1 2; do
  only I || break
  variants=(plain keyed inboxes); [ "$round" = 2 ] && variants=(inboxes keyed plain)
  for variant in "${variants[@]}"; do
    flags=(); [ "$variant" = keyed ] && flags=(--keyed); [ "$variant" = inboxes ] && flags=(--inboxes)
    [ -n "$DIRECT_edgena" ] && bench "I-$round" "edgena-$variant" direct "$DIRECT_edgena" run --clients 50 --rooms 1 --senders 5 --rate 20 --duration "$DUR" "${flags[@]}"
  done
done
# B: 10 rooms × 100 clients, 2 senders each at 2/s. C: 1 room, 1000 clients, 1 sender at 5/s.
for server in baseline edge; do
  only B || only C || break
  port=PORT_$server
  bench B "$server" proxy "${!port}" run --clients 1000 --rooms 10 --senders 2 --rate 2 --duration "$CDUR" --connect-concurrency 16
  bench C "$server" proxy "${!port}" run --clients 1000 --rooms 1 --senders 1 --rate 5 --duration "$CDUR" --connect-concurrency 16
done
# S: a connect storm into one room, N = 1000, 2000, 3000 sockets, 64 connecting at a time, as shipped
# (through the proxy): presence by counts above the threshold (edge) against presence per member at
# any size (edgev1, today's behaviour). Frames and bytes received by all clients, per socket.
# A storm that fails (v1 presence: connections time out after 30 s from about 2000 sockets on this
# machine) is reported as such and the run goes on.
for size in ${BENCH_S_SIZES:-1000 2000 3000}; do
  only S || break
  for server in ${BENCH_S_SERVERS:-edge edgev1}; do
    port=PORT_$server
    bench "S-$size" "$server" proxy "${!port}" run --clients "$size" --rooms 1 --senders 1 --rate 1 --duration 2 --connect-concurrency 64 ||
      echo "{\"scenario\":\"S-$size\",\"server\":\"$server\",\"path\":\"proxy\",\"failed\":true,\"clients\":$size}" >>"$RESULTS"
  done
done
# D: the first message into a hibernated room, `TRIES` rooms asleep at once, woken one after another.
for server in baseline edge; do
  only D || break
  port=PORT_$server
  bench D "$server" proxy "${!port}" --quiet wake --tries "$TRIES" --idle 15
done

# H: one room over many shards (issue 18): per-message CPU as shards and sockets grow, calls per flush,
# the forwarding cost, a connect storm over 6 shards. It starts a `wrangler dev` of its own per run
# (SHARD_SOCKETS differs) and measures that server's workerd; see scripts/bench-shard.mjs.
if only H; then
  echo "== H: one room over many shards"
  node scripts/bench-shard.mjs "$RESULTS" || echo "scenario H failed" >&2
fi

echo "== report"
WASM=build/index_bg.wasm
OUT=docs/PERFORMANCE.md
[ -n "${BENCH_ONLY:-}" ] && OUT=${BENCH_OUT:-${TMPDIR:-/tmp}/edge-chat-bench-partial.md}
cp "$RESULTS" "${OUT%.md}.jsonl" 2>/dev/null || true
BENCH_SECONDS=$(($(date +%s) - T0)) \
WASM_RAW=$(stat -c %s "$WASM") WASM_GZ=$(gzip -9c "$WASM" | wc -c) \
CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') \
NPROC=$(nproc) MEM=$(free -g | awk '/Mem:/{print $2" GB"}') LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg) \
OS=$(. /etc/os-release && echo "$PRETTY_NAME") KERNEL=$(uname -r) \
RUSTC=$(rustc --version) WRANGLER=$(node_modules/.bin/wrangler --version 2>/dev/null | tail -n 1) \
WORKERD=$(node_modules/@cloudflare/workerd-linux-64/bin/workerd --version 2>/dev/null || echo unknown) \
COMMIT=$(git rev-parse --short HEAD) \
  node scripts/bench-report.mjs "$RESULTS" "$OUT"
echo "wrote $OUT in $(($(date +%s) - T0)) s"
