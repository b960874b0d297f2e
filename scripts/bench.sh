#!/usr/bin/env bash
# `make bench`: builds edge-chat (release) and the load generator, starts edge-chat and the JS relays
# (bench/baseline/: raw, batched, durable) under the same `wrangler dev`, runs every scenario against
# them in one run (~30 minutes), and writes docs/PERFORMANCE.md. Every server is stopped on any exit.
# Only 127.0.0.1 gets traffic.
#
# `wrangler dev` puts a proxy worker (its own workerd process) in front of the user worker's workerd;
# scenario A is run both through it (the dev URL) and straight at the user worker's entry socket.
#   BENCH_QUICK=1   shorter runs (a minute or two; for trying the script, not for the record)
#   BENCH_ONLY="A L S"  only these scenarios (A, A20, L, B, C, S, D, H), reported to $BENCH_OUT
#                   (default: a file in $TMPDIR, so docs/PERFORMANCE.md keeps the full run's figures)
#   BENCH_A_SERVERS="baseline edgena-batch"  scenario A against only these (direct and proxy as usual)
#   BENCH_A_PATHS=direct  scenario A on only these paths
#   BENCH_S_SIZES="3000" BENCH_S_SERVERS=edge  scenario S for only these sizes and servers
# Issue 33's scenarios (also names for BENCH_ONLY), each with its knobs; BENCH_QUICK=1 scales them all
# down (a few hundred sockets) to check that the script works, not for the record:
#   rates    the issue's table: 50 clients, 5 senders at BENCH_RATES (100 800 3200) msg/s per sender,
#            six servers (BENCH_R_SERVERS), through BENCH_R_PATH (proxy)
#   joins    BENCH_JOINS_SOCKETS (3000) into one room, BENCH_JOINS_CONCURRENCY (64) at a time: joins/s
#   resume   BENCH_RESUME_SOCKETS (3000) resume with after= after a restart, each having missed
#            BENCH_RESUME_MISSED (20) messages: time until all are back and caught up
#   cold     a new workerd per try, BENCH_COLD_ROUNDS (10) rounds: start, first welcome, first message
#   rooms    BENCH_ROOMS (1000) rooms x BENCH_ROOMS_SOCKETS (10), one sender each at BENCH_ROOMS_RATE (2)
#   memory   BENCH_MEMORY_ROOMS (300) rooms x 10 sockets x BENCH_MEMORY_MESSAGES (200): isolate memory
#   fanout   BENCH_FANOUT_SOCKETS (3000) over BENCH_FANOUT_SHARDS (6) shards against one object
#   D        wake-up now also of evicted rooms: BENCH_WAKE_TRIES (20) each, BENCH_WAKE_HISTORY (200)
#   features slots for each feature's own figure, bench/features/NAME.sh (BENCH_FEATURES: inbox threads
#            push hook; also names for BENCH_ONLY); an absent file is an empty slot
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

if [ "${BENCH_QUICK:-}" = 1 ]; then
  DUR=3; CDUR=4; TRIES=4; REFINE=1
else
  DUR=5; CDUR=8; TRIES=20; REFINE=2
fi

only() { [ -z "${BENCH_ONLY:-}" ] || [[ " $BENCH_ONLY " == *" $1 "* ]]; }

# Every server a scenario may use. Each is started only if a selected scenario names it (WANT), so a
# partial run starts what it needs; the variables of the others stay empty (scenarios skip them).
SERVERS=(edge edgena baseline stored batched rbatch dbatch edgev1 edgesh)
for name in "${SERVERS[@]}"; do printf -v "PORT_$name" %s ""; printf -v "DIRECT_$name" %s ""; printf -v "CPUPID_$name" %s ""; done
A_SERVERS=${BENCH_A_SERVERS:-baseline rbatch batched edgena edgena-batch}
R_SERVERS=${BENCH_R_SERVERS:-baseline rbatch batched dbatch edgena edgena-batch}
WANT=" "
want() { for s in "$@"; do WANT+="${s%%-*} "; done; }
only A && want $A_SERVERS
only rates && want $R_SERVERS
only L && want batched dbatch edgena
only A20 && want baseline batched rbatch dbatch edgena edge
only I && want edgena
{ only B || only C || only D; } && want baseline edge
only D && want dbatch
only S && want ${BENCH_S_SERVERS:-edge edgev1}
only joins && want rbatch edgena
only rooms && want dbatch edgena
only fanout && want edgena edgesh
wanted() { [[ "$WANT" == *" $1 "* ]]; }

echo "== start servers:$WANT"
# The generator sends far above the default per-connection rate limit (10/s); everything else, history
# persistence and trimming included, stays at its defaults.
# Every load client comes from 127.0.0.1: exempt it from the per-client socket limit explicitly.
EDGE_VARS=(--var RATE_PER_SEC:1000000 --var RATE_BURST:1000000 --var RATE_LIMIT_EXEMPT:127.0.0.1)
wanted edge && start_server edge "$ROOT" "${EDGE_VARS[@]}"
# The same Worker without [assets]: with static assets, wrangler dev routes every request, /ws included,
# through its asset router worker, and each WebSocket frame then crosses one more pipe inside workerd.
# The baselines serve no assets, so this is edge-chat's like-for-like row.
mkdir -p "$WORK/noassets"
awk -v main="$ROOT/build/index.js" '
  /^\[/ { skip = ($0 == "[assets]" || $0 == "[build]") }
  /^main = / { print "main = \"" main "\""; next }
  !skip' wrangler.toml >"$WORK/noassets/wrangler.toml"
wanted edgena && start_server edgena "$WORK/noassets" "${EDGE_VARS[@]}"
wanted baseline && start_server baseline "$ROOT/bench/baseline"
wanted stored && start_server stored "$ROOT/bench/baseline" --var STORE:1
wanted batched && start_server batched "$ROOT/bench/baseline" --var STORE:batch
# The batched anchors: one turn's frames as one batch frame per socket (what edge-chat's batch=1
# connections get), without storage and after a group-commit append.
wanted rbatch && start_server rbatch "$ROOT/bench/baseline" --var SEND:batch
wanted dbatch && start_server dbatch "$ROOT/bench/baseline" --var STORE:batch --var SEND:batch
# The same Worker with presence per member at any size (today's v1 rosters): the connect storm's
# "before" in the same run.
wanted edgev1 && start_server edgev1 "$ROOT" "${EDGE_VARS[@]}" --var PRESENCE_THRESHOLD:1000000
# One room over shards: BENCH_FANOUT_SOCKETS / BENCH_FANOUT_SHARDS sockets per object.
FANOUT_SOCKETS=${BENCH_FANOUT_SOCKETS:-3000}; [ "${BENCH_QUICK:-}" = 1 ] && FANOUT_SOCKETS=${BENCH_FANOUT_SOCKETS:-300}
FANOUT_SHARDS=${BENCH_FANOUT_SHARDS:-6}
wanted edgesh && start_server edgesh "$WORK/noassets" "${EDGE_VARS[@]}" --var SHARD_SOCKETS:$(((FANOUT_SOCKETS + FANOUT_SHARDS - 1) / FANOUT_SHARDS))
# The seconds a scenario run by a script of its own took (bench() notes its own runs' in took_s): the
# report adds them up per scenario, since the whole run must stay near 30 minutes.
took() { echo "{\"scenario\":\"$1\",\"server\":\"-\",\"path\":\"-\",\"took_s\":$(($(date +%s) - $2))}" >>"$RESULTS"; }

# bench SCENARIO SERVER PATH PORT ARGS...: one generator run; its JSON line goes to the results.
# SERVER may carry a suffix after a dash (edgena-batch): the run is labelled so, against SERVER's process.
bench() {
  local scenario=$1 server=$2 path=$3 port=$4; shift 4
  echo "== $scenario: $server ($path)"
  local out=$WORK/out-$scenario-$server-$path.txt cpupid=CPUPID_${server%%-*} t0
  t0=$(date +%s)
  "$BENCH" --url "http://127.0.0.1:$port" --label "$server" ${!cpupid:+--cpu-pid "${!cpupid}"} "$@" | tee "$out" || return 1
  tail -n 1 "$out" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o=JSON.parse(s);Object.assign(o,{scenario:process.argv[1],server:process.argv[2],path:process.argv[3],took_s:Number(process.argv[4])+2});console.log(JSON.stringify(o))})' \
      "$scenario" "$server" "$path" "$(($(date +%s) - t0))" >>"$RESULTS"
  sleep 2
}

# A: 50 clients, 1 room, 5 senders; the per-sender rate doubles, then bisects, up to saturation.
# Each server is measured straight after the others, so slow drifts in the machine's load hit all alike.
# edgena-batch: the same, every client connected with batch=1 (one frame per flush). The search starts
# at BENCH_A_START_RATE (64) msg/s per sender: every server here passes it, and each doubling below it
# cost a run; two bisection steps after the first failing rate (the noise of this machine is about one). Issue 33's saturation targets: batch=1 against the batched relay (rbatch), v1 framing
# against the group-commit relay (batched). BENCH_A_PATHS="direct proxy" adds the proxy rows.
A=(saturate --clients 50 --rooms 1 --senders 5 --rate "${BENCH_A_START_RATE:-64}" --duration "$DUR" --refine "$REFINE" --retries 1 --p99-bound-ms 100)
for path in ${BENCH_A_PATHS:-direct}; do
  only A || break
  for server in $A_SERVERS; do
    [ "$path" = proxy ] && [ "$server" != baseline ] && [ "$server" != edge ] && continue
    port=PORT_${server%%-*}; [ "$path" = direct ] && port=DIRECT_${server%%-*}
    batch=(); [ "$server" != "${server%-batch}" ] && batch=(--batch)
    if [ -n "${!port}" ]; then bench A "$server" "$path" "${!port}" "${A[@]}" "${batch[@]}"; fi
  done
done
# L: latency at moderate load, 50 clients, 5 senders at 100 msg/s each, direct; two rounds, the order
# reversed in the second, against the group-commit baseline (the floor for durable-before-visible) and,
# for batch=1, the durable batched relay (dbatch: the same commit, then one batch frame per socket).
for round in 1 2; do
  only L || break
  servers=(batched dbatch edgena edgena-batch); [ "$round" = 2 ] && servers=(edgena-batch edgena dbatch batched)
  for server in "${servers[@]}"; do
    port=DIRECT_${server%%-*}
    batch=(); [ "$server" != "${server%-batch}" ] && batch=(--batch)
    if [ -n "${!port}" ]; then
      bench "L-$round" "$server" direct "${!port}" run --clients 50 --rooms 1 --senders 5 --rate 100 --duration "$DUR" "${batch[@]}"
    fi
  done
done
# rates: issue 33's table — 50 clients, 1 room, 5 senders at each of BENCH_RATES msg/s per sender, the
# six servers in turn at each rate (raw relay, batched relay, durable relay with group commit, durable
# batched relay, edge-chat v1 and batch=1), through BENCH_R_PATH (the proxy, as the issue measured):
# deliveries/s, p99 and CPU per delivery. A server that could not keep up at a rate (under half the
# offered deliveries) is not run at the higher ones; a drain is cut after 15 s (the rest counts as lost).
RATES=${BENCH_RATES:-100 800 3200}; [ "${BENCH_QUICK:-}" = 1 ] && RATES=${BENCH_RATES:-100 400}
R_PATH=${BENCH_R_PATH:-proxy}
declare -A R_BEHIND=()
for rate in $RATES; do
  only rates || break
  for server in $R_SERVERS; do
    [ -n "${R_BEHIND[$server]:-}" ] && continue
    port=PORT_${server%%-*}; [ "$R_PATH" = direct ] && port=DIRECT_${server%%-*}
    [ -n "${!port}" ] || continue
    batch=(); [ "$server" != "${server%-batch}" ] && batch=(--batch)
    bench "R-$rate" "$server" "$R_PATH" "${!port}" run --clients 50 --rooms 1 --senders 5 --rate "$rate" \
      --duration "$DUR" --drain-max 15 "${batch[@]}" || continue
    tail -n 1 "$RESULTS" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s).result;process.exit(r.deliveries_per_s<0.5*r.offered_per_s?1:0)})' ||
      R_BEHIND[$server]=$rate
  done
done
# A at one fixed rate (20 msg/s per sender, 4,900 deliveries/s), two rounds: the server's CPU time per
# delivery, which other work on the machine hardly disturbs.
for round in 1 2; do
  only A20 || break
  for server in baseline batched rbatch dbatch edgena edge; do
    port=DIRECT_$server
    if [ -n "${!port}" ]; then
      bench "A20-$round" "$server" direct "${!port}" run --clients 50 --rooms 1 --senders 5 --rate 20 --duration "$DUR"
    fi
  done
done
# B: 10 rooms × 100 clients, 2 senders each at 2/s. C: 1 room, 1000 clients, 1 sender at 5/s.
for server in baseline edge; do
  only B || only C || break
  port=PORT_$server
  bench B "$server" proxy "${!port}" run --clients 1000 --rooms 10 --senders 2 --rate 2 --duration "$CDUR" --connect-concurrency 16
  bench C "$server" proxy "${!port}" run --clients 1000 --rooms 1 --senders 1 --rate 5 --duration "$CDUR" --connect-concurrency 16
done
# S: a connect storm into one room, N = 1000 and 3000 sockets, 64 connecting at a time, as shipped
# (through the proxy): presence by counts above the threshold (edge) against presence per member at
# any size (edgev1, today's behaviour). Frames and bytes received by all clients, per socket.
# A storm that fails (v1 presence: connections time out after 30 s from about 2000 sockets on this
# machine) is reported as such and the run goes on. v1 presence runs only up to BENCH_S_V1_MAX (1000)
# sockets: past that it takes minutes and its O(N²) is already plain (issue 17's figures).
S_SIZES=${BENCH_S_SIZES:-1000 3000}; [ "${BENCH_QUICK:-}" = 1 ] && S_SIZES=${BENCH_S_SIZES:-300}
for size in $S_SIZES; do
  only S || break
  for server in ${BENCH_S_SERVERS:-edge edgev1}; do
    [ "$server" = edgev1 ] && [ "$size" -gt "${BENCH_S_V1_MAX:-1000}" ] && continue
    port=PORT_$server
    bench "S-$size" "$server" proxy "${!port}" run --clients "$size" --rooms 1 --senders 1 --rate 1 --duration 2 --connect-concurrency 64 ||
      echo "{\"scenario\":\"S-$size\",\"server\":\"$server\",\"path\":\"proxy\",\"failed\":true,\"clients\":$size}" >>"$RESULTS"
  done
done
# D: the first message into a hibernated room, `TRIES` rooms asleep at once, woken one after another;
# and as many rooms written to (BENCH_WAKE_HISTORY messages) and left by everyone before the same
# silence, so their objects leave memory: two clients join each again and one message goes between
# them. The raw relay, the durable batched relay (its wake reads SQLite too) and edge-chat.
WAKE_TRIES=${BENCH_WAKE_TRIES:-$TRIES}
for server in baseline dbatch edge; do
  only D || break
  port=PORT_$server
  [ -n "${!port}" ] || continue
  bench D "$server" proxy "${!port}" --quiet wake --tries "$WAKE_TRIES" --idle 15 --evicted "$WAKE_TRIES" --history "${BENCH_WAKE_HISTORY:-200}" ||
    echo "D: $server failed" >&2
done

# joins: the rate one room accepts joins at — BENCH_JOINS_SOCKETS sockets into one room,
# BENCH_JOINS_CONCURRENCY connecting at a time, straight at the user worker (the dev proxy takes ~6
# descriptors per socket and is not what is measured): the batched relay's accept rate against
# edge-chat's, v1 and batch=1. Then one message to all (fan-out p50/p99).
JOINS=${BENCH_JOINS_SOCKETS:-3000}; [ "${BENCH_QUICK:-}" = 1 ] && JOINS=${BENCH_JOINS_SOCKETS:-300}
for server in rbatch edgena edgena-batch; do
  only joins || break
  port=DIRECT_${server%%-*}
  [ -n "${!port}" ] || continue
  batch=(); [ "$server" != "${server%-batch}" ] && batch=(--batch)
  bench joins "$server" direct "${!port}" --quiet run --clients "$JOINS" --rooms 1 --senders 1 --rate 1 --duration 2 \
    --connect-concurrency "${BENCH_JOINS_CONCURRENCY:-64}" "${batch[@]}" ||
    echo "{\"scenario\":\"joins\",\"server\":\"$server\",\"path\":\"direct\",\"failed\":true,\"clients\":$JOINS}" >>"$RESULTS"
done

# resume: a reconnect storm after a restart — scripts/bench/resume.mjs starts its own servers (a
# restart needs one of its own): BENCH_RESUME_SOCKETS sockets in one room, each misses
# BENCH_RESUME_MISSED messages across the restart and resumes with after=.
if only resume; then
  t0=$(date +%s)
  node scripts/bench/resume.mjs "$RESULTS" || echo "scenario resume failed" >&2
  took resume "$t0"
fi

# fanout: one message to BENCH_FANOUT_SOCKETS sockets of one room over BENCH_FANOUT_SHARDS shards
# (edgesh: SHARD_SOCKETS = sockets / shards) against one object holding them all (edgena), straight at
# the user worker; one sender at 2 msg/s, so each message is a fan-out of its own: send → receipt at
# every socket, p50/p99 (and the connect storm's figures of each).
for server in edgesh edgena; do
  only fanout || break
  port=DIRECT_$server
  [ -n "${!port}" ] || continue
  bench fanout "$server" direct "${!port}" --quiet run --clients "$FANOUT_SOCKETS" --rooms 1 --senders 1 --rate 2 \
    --duration "$CDUR" --connect-concurrency 64 ||
    echo "{\"scenario\":\"fanout\",\"server\":\"$server\",\"path\":\"direct\",\"failed\":true,\"clients\":$FANOUT_SOCKETS}" >>"$RESULTS"
done

# rooms: many rooms at once — BENCH_ROOMS rooms of BENCH_ROOMS_SOCKETS sockets, one sender each at
# BENCH_ROOMS_RATE msg/s, straight at the user worker (~1 descriptor per socket there; through the
# dev proxy 10,000 sockets would need ~60,000): deliveries/s and CPU per delivery, edge-chat (v1 and
# batch=1) against the durable batched relay.
ROOMS=${BENCH_ROOMS:-1000}; [ "${BENCH_QUICK:-}" = 1 ] && ROOMS=${BENCH_ROOMS:-30}
ROOM_SOCKETS=${BENCH_ROOMS_SOCKETS:-10}
for server in dbatch edgena edgena-batch; do
  only rooms || break
  port=DIRECT_${server%%-*}
  [ -n "${!port}" ] || continue
  batch=(); [ "$server" != "${server%-batch}" ] && batch=(--batch)
  bench rooms "$server" direct "${!port}" --quiet run --clients $((ROOMS * ROOM_SOCKETS)) --rooms "$ROOMS" --senders 1 \
    --rate "${BENCH_ROOMS_RATE:-2}" --duration "$CDUR" --connect-concurrency 64 "${batch[@]}" ||
    echo "{\"scenario\":\"rooms\",\"server\":\"$server\",\"path\":\"direct\",\"failed\":true,\"clients\":$((ROOMS * ROOM_SOCKETS))}" >>"$RESULTS"
done

# memory: the isolate's memory per active and per hibernated room (scripts/bench/memory.mjs: a fresh
# server of each kind, its heap and wasm memory read through the inspector).
if only memory; then
  t0=$(date +%s)
  node scripts/bench/memory.mjs "$RESULTS" || echo "scenario memory failed" >&2
  took memory "$t0"
fi

# cold: cold start of the Worker and its first room (scripts/bench/cold.mjs: workerd alone, per try).
if only cold; then
  t0=$(date +%s)
  node scripts/bench/cold.mjs "$RESULTS" || echo "scenario cold failed" >&2
  took cold "$t0"
fi

# Feature scenarios: each feature's own figure (issue 33: "each feature's cost on the path is measured
# and written down"). bench/features/NAME.sh is sourced here, with this script's functions and
# variables (start_server, bench, only, took, $DUR, $WORK ...); bench/features/NAME.mjs renders its
# section of the report (see bench/features/README.md). A slot without its file is reported empty
# until the feature's merge adds it.
for feature in ${BENCH_FEATURES:-inbox threads push hook}; do
  only "$feature" || continue
  if [ -f "bench/features/$feature.sh" ]; then
    t0=$(date +%s)
    # shellcheck source=/dev/null
    source "bench/features/$feature.sh" || echo "feature scenario $feature failed" >&2
    took "$feature" "$t0"
  else
    echo "== $feature: empty slot (bench/features/$feature.sh comes with the feature)"
  fi
done

# H: one room over many shards (issue 18): per-message CPU as shards and sockets grow, calls per flush,
# the forwarding cost, a connect storm over 6 shards. It starts a `wrangler dev` of its own per run
# (SHARD_SOCKETS differs) and measures that server's workerd; see scripts/bench-shard.mjs.
if only H; then
  echo "== H: one room over many shards"
  t0=$(date +%s)
  node scripts/bench-shard.mjs "$RESULTS" || echo "scenario H failed" >&2
  took H "$t0"
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
