#!/usr/bin/env bash
# What each feature cost in wasm bytes (issue 33: "say in PERFORMANCE.md what each feature costs"):
# builds the release wasm of main's history before and after each feature's merge, each commit with
# its own scripts/build.sh (so with the build settings of its day), and writes
# bench/wasm-history.tsv (feature, before, after, gzipped -9 before/after, raw before/after), which
# `make bench`'s report renders. A commit already in the file is not built again; a build takes a
# few minutes (the dependencies are shared through this checkout's target/), so the first run of all
# of them is long: run it niced, when the machine is quiet, not from `make bench`.
#   bash scripts/wasm-history.sh            every feature below
#   WASM_HISTORY_ONLY="search files"        only the features whose label starts with these words
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/env.sh
source scripts/env.sh

# label|before|after: the commit before a feature reached main, and the one where it had all of it.
FEATURES=(
  "identity without accounts, the user-facing holes closed|5f6d68b|9018c86"
  "living messages: replies, edits, deletions, reactions, read marks|9018c86|c014198"
  "size work: no URL parser, no Unicode tables|c014198|6157661"
  "search (issue 15)|f879a25|350d352"
  "batched delivery, presence by counts (issue 17 part 1)|350d352|7a74d6c"
  "moderation and webhooks (issue 16)|7a74d6c|1f2d617"
  "JWTs (issue 16)|1f2d617|1020d6e"
  "size work: the knobs without the float parser|1020d6e|7360b61"
  "one room over shards (issue 18)|7360b61|963b38f"
  "bounds and holes (issue 24)|1991fe0|c270b6e"
  "the house in order: leaf modules, room/ and shard/ folders, one object class|c270b6e|9b9cf6a"
  "who reacted, a deletion's reason, purge, search offset|9b9cf6a|3693786"
  "trust: retention, export, the moderation hook, blocked words, erasure (issue 32)|3693786|436ff84"
  "files and previews (issue 30)|436ff84|a1c87c8"
  "threads and mentions (issue 27)|a1c87c8|0ac88b3"
)

OUT=bench/wasm-history.tsv
WORK=$(mktemp -d "${TMPDIR:-/tmp}/edge-chat-wasm-history.XXXXXX")
trap 'for d in "$WORK"/wt-*; do [ -d "$d" ] && git worktree remove --force "$d" 2>/dev/null; done; rm -rf "$WORK"' EXIT

# Sizes already known: "commit gz raw" from the file's before and after columns.
declare -A GZ=() RAW=()
if [ -f "$OUT" ]; then
  while IFS=$'\t' read -r _ before after gzb gza rawb rawa; do
    [[ "$before" == \#* || -z "$after" ]] && continue
    GZ[$before]=$gzb RAW[$before]=$rawb GZ[$after]=$gza RAW[$after]=$rawa
  done <"$OUT"
fi

# build COMMIT: sets GZ[COMMIT] and RAW[COMMIT] (a worktree of the commit, this checkout's node_modules,
# tools and target/, so only the crate itself compiles again).
build() {
  local c=$1 wt=$WORK/wt-$1
  [ -n "${GZ[$c]:-}" ] && return 0
  echo "== building $c: $(git log -1 --format=%s "$c" | cut -c1-80)"
  git worktree add --detach "$wt" "$c" >/dev/null
  ln -s "$ROOT/node_modules" "$wt/node_modules"
  ln -s "$ROOT/.tools" "$wt/.tools"
  ln -s "$ROOT/target" "$wt/target"
  (cd "$wt" && WASM_OPT_BIN="$ROOT/node_modules/.bin/wasm-opt" ESBUILD_BIN="$ROOT/node_modules/.bin/esbuild" \
    nice -n 19 bash scripts/build.sh >"$WORK/build-$c.log" 2>&1) || { tail -n 20 "$WORK/build-$c.log"; return 1; }
  GZ[$c]=$(gzip -9c "$wt/build/index_bg.wasm" | wc -c)
  RAW[$c]=$(stat -c %s "$wt/build/index_bg.wasm")
  echo "   $c: ${GZ[$c]} B gzipped, ${RAW[$c]} B raw"
  git worktree remove --force "$wt"
}

{
  printf '# feature\tbefore\tafter\tgz before\tgz after\traw before\traw after   (scripts/wasm-history.sh)\n'
  for entry in "${FEATURES[@]}"; do
    IFS='|' read -r label before after <<<"$entry"
    if [ -n "${WASM_HISTORY_ONLY:-}" ]; then
      hit=""; for w in $WASM_HISTORY_ONLY; do [[ "$label" == "$w"* ]] && hit=1; done
      if [ -z "$hit" ] && { [ -z "${GZ[$before]:-}" ] || [ -z "${GZ[$after]:-}" ]; }; then continue; fi
    fi
    build "$before" >&2 && build "$after" >&2 || { echo "skipped: $label (a build failed)" >&2; continue; }
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$before" "$after" "${GZ[$before]}" "${GZ[$after]}" "${RAW[$before]}" "${RAW[$after]}"
  done
} >"$WORK/history.tsv"
mv "$WORK/history.tsv" "$OUT"
echo "wrote $OUT"
