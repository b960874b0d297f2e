# Feature scenario `inbox` (issue 28's per-person inbox; sourced by scripts/bench.sh, see README.md).
# Scenario A20's load (50 clients, 1 room, 5 senders at 20 msg/s each, v1 framing, direct) three ways,
# two rounds in reversed order, against edge-chat without [assets]: anonymous clients (nobody has an
# inbox: the room tells nobody); every client a person with a key of its own (the room tells all 50
# inboxes, at most once a second each, and the inbox objects run in the same workerd process, so their
# CPU is in the figure); the same with every person also holding their inbox socket (`/ws/me`), where
# the generator measures the time from each message's ack to each inbox's frame that shows it.
[ -n "$DIRECT_edgena" ] || start_server edgena "$WORK/noassets" "${EDGE_VARS[@]}"
for round in 1 2; do
  variants=(plain keyed inboxes); [ "$round" = 2 ] && variants=(inboxes keyed plain)
  for variant in "${variants[@]}"; do
    flags=(); [ "$variant" != plain ] && flags=(--"$variant")
    bench "inbox-$round" "edgena-$variant" direct "$DIRECT_edgena" run --clients 50 --rooms 1 --senders 5 --rate 20 \
      --duration "$DUR" "${flags[@]}" || echo "inbox: $variant round $round failed" >&2
  done
done
