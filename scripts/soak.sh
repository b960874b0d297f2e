#!/usr/bin/env bash
# `make soak`: the long reliability runs of issue 7 against real `wrangler dev` (tests/soak/*.soak.mjs,
# named so that `node --test tests/` in `make test` never picks them up), then the property tests with
# many more cases. Ends with the figures every run printed (`FIGURE` lines).
#   SOAK_RESTARTS (2), SOAK_SOCKETS (1000), SOAK_PRESENCE_SOCKETS (3000), SOAK_HIBERNATION_CYCLES (4),
#   SOAK_SHARD_SOCKETS_TOTAL (2400), SOAK_SHARD_SOCKETS (200 per shard), SOAK_SHARD_KILLS (3),
#   SOAK_PROPTEST_CASES (20000);
#   SOAK_ONLY=crowd (a file name stem) to run one of them.
# Takes about 7 minutes. The build (build/) must exist: `make soak` depends on `make build`.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source scripts/env.sh

# 1000 sockets need ~2000 descriptors here (and as many in workerd, which inherits the limit).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
echo "soak: ulimit -n $(ulimit -n)"

mkdir -p tests/.artifacts
LOG=tests/.artifacts/soak.log
files=(tests/soak/*.soak.mjs)
[ -n "${SOAK_ONLY:-}" ] && files=("tests/soak/${SOAK_ONLY}.soak.mjs")
status=0
EDGE_CHAT_PREBUILT=1 node --test --test-concurrency=1 --test-reporter=spec "${files[@]}" 2>&1 | tee "$LOG" || status=$?

if [ -z "${SOAK_ONLY:-}" ]; then
  echo "soak: property tests, ${SOAK_PROPTEST_CASES:-20000} cases each"
  PROPTEST_CASES=${SOAK_PROPTEST_CASES:-20000} cargo test --release --quiet --test hostile_input 2>&1 | tee -a "$LOG" || status=$?
fi

echo
echo "== soak figures =="
grep -o 'FIGURE .*' "$LOG" || true
exit "$status"
