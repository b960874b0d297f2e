#!/usr/bin/env bash
# Gives this machine everything edge-chat needs to build, run and test itself:
#   a wasm32-unknown-unknown Rust target, wasm-bindgen-cli (at the Cargo.lock version), worker-build,
#   the npm packages pinned in package-lock.json (wrangler/workerd, esbuild, binaryen's wasm-opt, ws,
#   playwright-core, emojibase-data for the page's emoji list, axe-core for its accessibility test, React,
#   react-dom, @types/react and happy-dom for @edge-chat/react, its hook tests and its example; npm's
#   workspaces link packages/client and packages/react into node_modules/@edge-chat/) and Debian's
#   Chromium for the browser tests.
#
# Idempotent: every step checks first and is skipped when already done (a second run takes < 1 s).
# Each step prints its time as `TIMING <step> <seconds>`.
#
# Two routes to a wasm32 target:
#   * where `rustup target add wasm32-unknown-unknown` works (a normal machine with internet), use it;
#   * where it cannot (no static.rust-lang.org: this machine and CI), use Debian's rustc-web 1.96 with
#     rust-web-src, build std for wasm32 once with -Zbuild-std from the vendored sources, and install the
#     rlibs where that rustc finds them. scripts/env.sh then puts /usr/bin first on PATH.
# Nothing is downloaded from outside crates.io, npm and Debian's archive.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
WORKER_BUILD_VERSION=0.8.7
STATE_DIR=$ROOT/.tools            # remembers which route was taken (git-ignored)
export DEBIAN_FRONTEND=noninteractive
export CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}
mkdir -p "$STATE_DIR"

T_ALL=$(date +%s.%N)
timed() { # timed NAME cmd...
  local name=$1 t0; shift
  t0=$(date +%s.%N)
  "$@"
  printf 'TIMING %-18s %7.1f s\n' "$name" "$(awk "BEGIN{print $(date +%s.%N) - $t0}")"
}

apt_updated=0
apt_install() { # apt_install PKG... — installs what is missing, one `apt-get update` per run
  local missing=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "bootstrap: need root (or sudo) to apt-get install ${missing[*]}" >&2; exit 1
  fi
  [ $apt_updated = 1 ] || { apt-get update -q; apt_updated=1; }
  apt-get install -y -q "${missing[@]}"
}

# ------------------------------------------------------------------ 1. a Rust with a wasm32 target
rustup_route_works() {
  command -v rustup >/dev/null 2>&1 || return 1
  rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown && return 0
  timeout 120 rustup target add wasm32-unknown-unknown >/dev/null 2>&1
}

debian_std_step() {
  apt_install rustc-web cargo-web rust-web-src rust-web-llvm lld-22 rust-web-clippy rustfmt-web libssl-dev pkg-config
  local rustc=/usr/bin/rustc cargo=/usr/bin/cargo libdir stamp want src build
  libdir=$("$rustc" --target wasm32-unknown-unknown --print target-libdir)
  stamp=$libdir/.built-by-edge-chat
  want=$("$rustc" -vV)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "wasm32 std: already built for $("$rustc" --version)"; return
  fi
  src=$("$rustc" --print sysroot)/lib/rustlib/src/rust/library
  [ -f "$src/Cargo.toml" ] || { echo "missing std sources at $src (apt install rust-web-src)" >&2; exit 1; }
  build=$(mktemp -d)
  mkdir -p "$build/src" "$build/.cargo"
  printf '[package]\nname = "wasm32-std"\nversion = "0.0.0"\nedition = "2021"\n[profile.release]\nopt-level = 3\ncodegen-units = 1\n' >"$build/Cargo.toml"
  : >"$build/src/lib.rs"
  # std's own crates.io dependencies come from the vendor folder that rust-web-src ships: no network.
  printf '[source.crates-io]\nreplace-with = "vendored"\n[source.vendored]\ndirectory = "%s"\n' "$src/vendor" >"$build/.cargo/config.toml"
  # -Cembed-bitcode=yes keeps LLVM bitcode in the rlibs so `lto = true` works in the release profile.
  (cd "$build" && env -u CARGO_BUILD_TARGET RUSTC="$rustc" RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Cembed-bitcode=yes" \
     "$cargo" build -q --release --offline --target wasm32-unknown-unknown -Zbuild-std=std,panic_abort)
  case $libdir in */lib/rustlib/wasm32-unknown-unknown/lib) ;; *) echo "unexpected libdir $libdir" >&2; exit 1 ;; esac
  rm -rf "$libdir.new"; mkdir -p "$libdir.new"
  find "$build/target/wasm32-unknown-unknown/release/deps" -name 'lib*.rlib' ! -name 'libwasm32_std-*' -exec cp {} "$libdir.new/" \;
  echo "$want" >"$libdir.new/.built-by-edge-chat"
  rm -rf "$libdir"; mv "$libdir.new" "$libdir"
  rm -rf "$build"
  echo "wasm32 std: $(find "$libdir" -name '*.rlib' | wc -l) rlibs in $libdir"
}

rust_step() {
  # EDGE_CHAT_RUST_ROUTE=debian forces the Debian route (to test it on a machine where rustup works).
  if [ "${EDGE_CHAT_RUST_ROUTE:-}" = debian ]; then
    debian_std_step; echo debian >"$STATE_DIR/route"; return
  fi
  if [ -f "$STATE_DIR/route" ] && [ "$(cat "$STATE_DIR/route")" = rustup ] && rustup_route_works; then
    echo "rust: rustup with wasm32-unknown-unknown"; return
  fi
  if [ "$(cat "$STATE_DIR/route" 2>/dev/null)" != debian ] && rustup_route_works; then
    echo rustup >"$STATE_DIR/route"; echo "rust: rustup target add wasm32-unknown-unknown worked"; return
  fi
  debian_std_step
  echo debian >"$STATE_DIR/route"
}
timed rust-wasm32 rust_step

# shellcheck source=scripts/env.sh
. "$ROOT/scripts/env.sh"

# ------------------------------------------------------------------ 2. cargo-installed build tools
wasm_bindgen_step() {
  local v
  v=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
  [ -n "$v" ] || { echo "no wasm-bindgen in Cargo.lock" >&2; exit 1; }
  if [ "$("$CARGO_HOME/bin/wasm-bindgen" --version 2>/dev/null)" = "wasm-bindgen $v" ]; then
    echo "wasm-bindgen $v: already installed"; return
  fi
  # Not --locked: wasm-bindgen-cli's packaged lock pins a webpki-roots release the registry no longer serves.
  cargo install -q --force wasm-bindgen-cli --version "=$v"
}
timed wasm-bindgen-cli wasm_bindgen_step

worker_build_step() {
  if [ "$("$CARGO_HOME/bin/worker-build" --version 2>/dev/null)" = "$WORKER_BUILD_VERSION" ]; then
    echo "worker-build $WORKER_BUILD_VERSION: already installed"; return
  fi
  cargo install -q --force --locked worker-build --version "=$WORKER_BUILD_VERSION"
}
timed worker-build worker_build_step

# ------------------------------------------------------------------ 3. npm packages and Chromium
npm_step() {
  command -v npm >/dev/null || apt_install nodejs npm
  if [ -x node_modules/.bin/wrangler ] && [ node_modules/.package-lock.json -nt package-lock.json ]; then
    echo "npm: node_modules up to date"; return
  fi
  npm ci --no-audit --no-fund --loglevel=error
}
timed npm npm_step

chromium_step() {
  # The emoji font draws reactions (👍 🎉 …) in the browser tests and the README screenshot.
  apt_install chromium fonts-noto-color-emoji
  echo "chromium: $(/usr/bin/chromium --version 2>/dev/null)"
}
timed chromium chromium_step

printf 'TIMING %-18s %7.1f s\n' total "$(awk "BEGIN{print $(date +%s.%N) - $T_ALL}")"
