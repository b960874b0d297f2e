#!/usr/bin/env bash
# Builds the Worker into build/ with worker-build, using only tools the bootstrap installed:
# wasm-bindgen-cli at the Cargo.lock version, npm's wasm-opt (binaryen) and esbuild. Called by
# wrangler's [build] command and by `make build`.
#   EDGE_CHAT_PREBUILT=1   skip (the bundle in build/ is current; used by `make dev` and the tests,
#                          which build once and then start wrangler many times)
#   EDGE_CHAT_PROFILE=dev  a debug build (faster to compile, larger, slower)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
if [ "${EDGE_CHAT_PREBUILT:-}" = 1 ] && [ -f build/index.js ]; then
  exit 0
fi
# shellcheck source=scripts/env.sh
source scripts/env.sh
export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$(command -v wasm-bindgen)}"
export WASM_OPT_BIN="${WASM_OPT_BIN:-$ROOT/node_modules/.bin/wasm-opt}"
export ESBUILD_BIN="${ESBUILD_BIN:-$ROOT/node_modules/.bin/esbuild}"
if [ "${EDGE_CHAT_PROFILE:-release}" = dev ]; then
  exec worker-build --dev
fi
exec worker-build --release
