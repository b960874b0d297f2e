# Sourced by the Makefile's recipes and scripts: selects the Rust toolchain the bootstrap prepared.
# On the Debian route, Debian's rustc-web (with the wasm32 std we built) must come before rustup's shims.
_edge_root=$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)
if [ "$(cat "$_edge_root/.tools/route" 2>/dev/null)" = debian ]; then
  export PATH="/usr/bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
  export RUSTC=/usr/bin/rustc
else
  export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi
export WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false
unset _edge_root
