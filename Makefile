# edge-chat — every entry point. Each target bootstraps first (idempotent, < 1 s when done).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
ENV := source scripts/env.sh &&
WASM_SOURCES := $(shell find src -name '*.rs') Cargo.toml Cargo.lock scripts/build.sh
SDK_SOURCES := $(wildcard packages/client/src/*.js) packages/client/build.mjs packages/client/package.json
SDK_PAGE := public/sdk/edge-chat-client.js
EMOJI_PAGE := public/emoji/emoji.json
PORT ?= 8787

.PHONY: bootstrap build sdk example dev test test-host test-integration check fmt clippy deploy-check bench soak fuzz clean

bootstrap:
	bash scripts/bootstrap.sh

## build: the release Worker bundle in build/ (rebuilt only when the Rust sources change), and the SDK
build: bootstrap build/index.js sdk
build/index.js: $(WASM_SOURCES)
	$(ENV) bash scripts/build.sh
	@touch build/index.js

## sdk: the client SDK bundled into packages/client/dist/ and, for the demo page, $(SDK_PAGE) (and the
## page's emoji list, $(EMOJI_PAGE), from the emojibase-data package)
sdk: bootstrap $(SDK_PAGE) $(EMOJI_PAGE)
$(SDK_PAGE): $(SDK_SOURCES)
	$(ENV) node packages/client/build.mjs --page $(SDK_PAGE)
	@touch $(SDK_PAGE)
$(EMOJI_PAGE): scripts/emoji-data.mjs package-lock.json
	$(ENV) node scripts/emoji-data.mjs $(EMOJI_PAGE)
	@touch $(EMOJI_PAGE)

## example: the React example (examples/react-chat, built into public/example/ with the SDK) on
## http://127.0.0.1:$(PORT)/example/, served by wrangler dev beside the chat
example: build
	$(ENV) node examples/react-chat/build.mjs public/example
	@echo "The React example: http://127.0.0.1:$(PORT)/example/"
	$(ENV) EDGE_CHAT_PREBUILT=1 node_modules/.bin/wrangler dev --ip 127.0.0.1 --port $(PORT)

## dev: the chat on http://127.0.0.1:$(PORT) (wrangler dev, local workerd, no telemetry)
dev: build
	$(ENV) EDGE_CHAT_PREBUILT=1 node_modules/.bin/wrangler dev --ip 127.0.0.1 --port $(PORT)

## test: host unit tests, then integration and browser tests against wrangler dev
test: build
	$(MAKE) --no-print-directory test-host test-integration

test-host:
	$(ENV) cargo test --workspace --quiet

test-integration:
	ulimit -n 65536 2>/dev/null || true; $(ENV) EDGE_CHAT_PREBUILT=1 node --test --test-concurrency=1 tests/

## soak: the long reliability runs (restarts, hibernation cycles, 1000-socket crowd, flood, 2400 sockets over
## 12 shards with shard kills), ~15 min
soak: build
	bash scripts/soak.sh

## fuzz: libFuzzer on the frame decoder for FUZZ_SECONDS (default 60); installs cargo-fuzz if missing
fuzz: bootstrap
	bash scripts/fuzz.sh

## check: formatting and lints (host and wasm)
check: bootstrap fmt clippy

fmt:
	$(ENV) cargo fmt --all -- --check

clippy:
	$(ENV) cargo clippy --workspace --all-targets -- -D warnings
	$(ENV) cargo clippy --target wasm32-unknown-unknown --lib -- -D warnings

## deploy-check: `wrangler deploy --dry-run` into dist/, proving the bundle is deployable
deploy-check: build
	rm -rf dist
	$(ENV) EDGE_CHAT_PREBUILT=1 node_modules/.bin/wrangler deploy --dry-run --outdir dist
	@ls -l dist

## bench: edge-chat against the JS relays (raw, batched, durable) under wrangler dev, every scenario
## (scripts/bench.sh lists them and their knobs), into docs/PERFORMANCE.md (release build; ~30 minutes;
## not part of `make test`). BENCH_ONLY="rates joins" for some, into a file in $TMPDIR; BENCH_QUICK=1 small
bench: build
	$(ENV) EDGE_CHAT_PREBUILT=1 bash scripts/bench.sh

clean:
	rm -rf build dist target tests/.artifacts
