# Feature scenario `threads` (issue 27's threads and mentions; sourced by scripts/bench.sh, see
# README.md). Scenario A20's load (50 clients, 1 room, 5 senders at 20 msg/s each, v1 framing, direct)
# three ways, two rounds in reversed order, against edge-chat without [assets]: plain messages; every
# message a reply in one thread (the room's first client posts its root first: each reply also updates
# the root's summary, a `thread_updated` to everyone, and the five senders' thread counts, an `unread`
# frame each); every client an identity (a key in the handshake) and every message mentioning the next
# client by `@name` (its mention row, and an `unread` frame to that person). Server CPU per delivery
# (deliveries of the messages themselves) and p50/p99 of each against plain.
[ -n "$DIRECT_edgena" ] || start_server edgena "$WORK/noassets" "${EDGE_VARS[@]}"
for round in 1 2; do
  variants=(plain thread mention); [ "$round" = 2 ] && variants=(mention thread plain)
  for variant in "${variants[@]}"; do
    flags=(); [ "$variant" != plain ] && flags=(--"$variant")
    bench "threads-$round" "edgena-$variant" direct "$DIRECT_edgena" run --clients 50 --rooms 1 --senders 5 --rate 20 \
      --duration "$DUR" "${flags[@]}" || echo "threads: $variant round $round failed" >&2
  done
done
