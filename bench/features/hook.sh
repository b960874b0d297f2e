# Feature scenario `hook` (issue 32's moderation hook; sourced by scripts/bench.sh, see README.md).
# Scenario L's load (50 clients, 1 room, 5 senders at 100 msg/s each, v1 framing, direct) against
# edge-chat without a hook (edgena) and with one (edgehook: MODERATION_URL to a local endpoint that
# allows everything after BENCH_HOOK_DELAY_MS, 5 ms), two rounds in reversed order: what holding each
# frame for its verdict adds to p50/p99, and the hook's CPU per delivery in the Worker (the endpoint's
# own CPU is another process's, not counted). scripts/bench-hook.sh is the same comparison on its own.
HOOK_PORT=$(free_port)
setsid node -e '
  const http = require("node:http");
  const delay = Number(process.argv[2]);
  http.createServer((req, res) => {
    req.resume();
    req.on("end", () => setTimeout(() => res.writeHead(200, { "content-type": "application/json" }).end("{\"action\":\"allow\"}"), delay));
  }).listen(Number(process.argv[1]), "127.0.0.1");
' "$HOOK_PORT" "${BENCH_HOOK_DELAY_MS:-5}" &
PIDS+=("$!")
[ -n "$DIRECT_edgena" ] || start_server edgena "$WORK/noassets" "${EDGE_VARS[@]}"
start_server edgehook "$WORK/noassets" "${EDGE_VARS[@]}" --var "MODERATION_URL:http://127.0.0.1:$HOOK_PORT/check" \
  --var MODERATION_SECRET:bench-secret
for round in 1 2; do
  servers=(edgena edgehook); [ "$round" = 2 ] && servers=(edgehook edgena)
  for server in "${servers[@]}"; do
    port=DIRECT_$server
    [ -n "${!port}" ] || continue
    bench "hook-$round" "$server" direct "${!port}" run --clients 50 --rooms 1 --senders 5 --rate 100 --duration "$DUR" ||
      echo "hook: $server round $round failed" >&2
  done
done
