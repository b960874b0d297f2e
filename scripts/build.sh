#!/usr/bin/env bash
# Builds the client SDK and the emoji list for the page (public/sdk/, public/emoji/) and the Worker into build/ with worker-build,
# using only tools the bootstrap installed: wasm-bindgen-cli at the Cargo.lock version, npm's
# wasm-opt (binaryen) and esbuild. Called by wrangler's [build] command and by `make build`.
#   EDGE_CHAT_PREBUILT=1   skip the Worker (the bundle in build/ is current; used by `make dev` and the tests,
#                          which build once and then start wrangler many times)
#   EDGE_CHAT_PROFILE=dev  a debug build (faster to compile, larger, slower)
#   EDGE_CHAT_KEEP_NAMES=1 keep the wasm names section (Rust function names in CPU profiles and panic
#                          backtraces; ~30 KB gzipped), which a release build otherwise strips
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# The client SDK, bundled for the demo page (public/sdk/, git-ignored): a fraction of a second, and it
# writes nothing when nothing changed, so it runs even with EDGE_CHAT_PREBUILT=1 — then a `wrangler dev`
# or `wrangler deploy` of a fresh clone serves a page that has its client.
node packages/client/build.mjs --page public/sdk/edge-chat-client.js
# The page's emoji list (public/emoji/, git-ignored), made from the emojibase-data package the same
# way and for the same reason: the picker fetches it on demand. Also writes nothing when unchanged.
node scripts/emoji-data.mjs public/emoji/emoji.json
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
worker-build --release
# worker-build always keeps the names section (it passes --debuginfo to wasm-opt); strip it here. The
# feature flags are the ones worker-build enables, so the module is re-encoded exactly as it was.
if [ "${EDGE_CHAT_KEEP_NAMES:-}" != 1 ]; then
  "$WASM_OPT_BIN" build/index_bg.wasm -o build/index_bg.wasm.stripped --strip-debug --strip-producers \
    --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int --enable-bulk-memory \
    --enable-multivalue --enable-reference-types --enable-exception-handling
  mv build/index_bg.wasm.stripped build/index_bg.wasm
fi
