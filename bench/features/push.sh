# Feature scenario `push` (issue 29's Web Push from the inbox; sourced by scripts/bench.sh, see README.md).
# A real local push receiver (scripts/bench/push-service.mjs: the tests' push service, which verifies each
# VAPID token and decrypts each payload as a real push service would, or refuses the push) starts first
# and makes the VAPID key pair; then edge-chat without [assets], with push on for it (`edgepush`). The
# load is scripts/bench/push.mjs's (it appends its own rows):
# - push-rate: one person, away, and direct messages from others to them, one message each — many rooms,
#   since a room pushes once until the person comes back: ROOMS rooms × 1 device and ROOMS/10 rooms × 10
#   devices at once (pushes/s through the one inbox's outbox, ack → push delays behind that queue), and
#   rooms at 10 a second (ack → push with no queue);
# - push-cpu-1, push-cpu-2: scenario A20's load (50 anonymous clients, 1 room, 5 senders at 20 msg/s
#   each, v1 framing, direct) in a room that has no members (plain), AWAY members who are away with no
#   push subscription (keyed), or the same with a device each and notify=all (push), two rounds in
#   reversed order; the CPU per delivery includes the inbox objects' (same workerd process).
# BENCH_PUSH_ROOMS (200; quick 60) and BENCH_PUSH_AWAY (50; quick 10) size them.
if [ -z "${DIRECT_edgepush:-}" ]; then
  (exec setsid node scripts/bench/push-service.mjs >"$WORK/push-service.json" 2>"$WORK/push-service.log") &
  PIDS+=("$!")
  for _ in $(seq 100); do [ -s "$WORK/push-service.json" ] && break; sleep 0.1; done
  push_field() { node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))[process.argv[2]])' "$WORK/push-service.json" "$1"; }
  PUSH_CONTROL=$(push_field control)
  start_server edgepush "$WORK/noassets" "${EDGE_VARS[@]}" --var VAPID_PUBLIC_KEY:"$(push_field public_key)" \
    --var VAPID_PRIVATE_KEY:"$(push_field private_key)" --var VAPID_SUBJECT:mailto:bench@example.com \
    --var PUSH_ALLOW_INSECURE:127.0.0.1
fi
push_rooms=${BENCH_PUSH_ROOMS:-200}; push_away=${BENCH_PUSH_AWAY:-50}
[ "${BENCH_QUICK:-}" = 1 ] && { push_rooms=${BENCH_PUSH_ROOMS:-60}; push_away=${BENCH_PUSH_AWAY:-10}; }
push_run() {
  local command=$1 scenario=$2 server=$3; shift 3
  echo "== $scenario: $server"
  node scripts/bench/push.mjs "$command" "$RESULTS" --scenario "$scenario" --server "$server" \
    --url "http://127.0.0.1:$DIRECT_edgepush" --control "$PUSH_CONTROL" ${CPUPID_edgepush:+--cpu-pid "$CPUPID_edgepush"} "$@" ||
    echo "push: $scenario $server failed" >&2
  sleep 2
}
push_run rate push-rate edgepush-rooms --rooms "$push_rooms" --devices 1
push_run rate push-rate edgepush-devices --rooms $((push_rooms / 10)) --devices 10
push_run rate push-rate edgepush-paced --rooms 30 --devices 1 --pace 10
for round in 1 2; do
  variants=(plain keyed push); [ "$round" = 2 ] && variants=(push keyed plain)
  for variant in "${variants[@]}"; do
    case $variant in plain) away=(--members 0 --devices 0) ;; keyed) away=(--members "$push_away" --devices 0) ;; push) away=(--members "$push_away" --devices 1) ;; esac
    push_run load "push-cpu-$round" "edgepush-$variant" --bench "$BENCH" "${away[@]}" -- \
      --quiet run --clients 50 --rooms 1 --senders 5 --rate 20 --duration "$DUR"
  done
done
