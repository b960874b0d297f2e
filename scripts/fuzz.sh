#!/usr/bin/env bash
# `make fuzz`: fuzzes the frame decoder (and the room behind it) with libFuzzer for a bounded time.
#   FUZZ_SECONDS (default 60) — how long; FUZZ_JOBS (default 1) — parallel fuzzing processes.
# Installs what it needs, idempotently: cargo-fuzz from crates.io, and a C++ compiler (libfuzzer-sys
# builds libFuzzer from C++) from Debian when missing. cargo-fuzz needs nightly flags
# (-Zsanitizer=address); RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them.
# A crash leaves its input in fuzz/artifacts/decode/ and makes this script fail.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source scripts/env.sh
SECONDS_TO_RUN=${FUZZ_SECONDS:-60}

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz (crates.io)"
  cargo install cargo-fuzz --locked
fi
if ! command -v c++ >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then echo "fuzz: need a C++ compiler (apt-get install g++)" >&2; exit 1; fi
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q g++
fi

export RUSTC_BOOTSTRAP=1
mkdir -p fuzz/corpus/decode
cp -n fuzz/seeds/decode/* fuzz/corpus/decode/ 2>/dev/null || true
cd fuzz
# AddressSanitizer needs the sanitizer runtime that rustup's std ships; Debian's rustc may not have it,
# and safe Rust gains little from it, so fall back to plain libFuzzer instrumentation.
SANITIZER=address
if ! cargo fuzz build --sanitizer address decode >/dev/null 2>&1; then
  SANITIZER=none
  cargo fuzz build --sanitizer none decode # shows the compiler's errors if the target itself is broken
  echo "fuzz: AddressSanitizer is not available with this toolchain; fuzzing without a sanitizer"
fi
PARALLEL=()
if [ "${FUZZ_JOBS:-1}" -gt 1 ]; then PARALLEL=(-jobs="$FUZZ_JOBS" -workers="$FUZZ_JOBS"); fi
cargo fuzz run --sanitizer "$SANITIZER" decode corpus/decode -- \
  -max_total_time="$SECONDS_TO_RUN" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
  -dict=decode.dict -print_final_stats=1 "${PARALLEL[@]}"
