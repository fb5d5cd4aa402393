# ivs-chat-events: build, test, run locally, benchmark. SAM's build-<LogicalId> targets live in deploy.mk.
SHELL := /bin/bash
SWIFT ?= swift
HANDLER ?= streamStarted
EVENT ?= events/stream-start.json
BIN := .build/debug

# System packages the build needs (Debian/Ubuntu names) and the pkg-config modules that prove them.
APT_PACKAGES := libcurl4-openssl-dev libssl-dev pkg-config
.DEFAULT_GOAL := build

.PHONY: deps build test invoke demo bench clean

## deps: install libcurl/OpenSSL headers when missing (Debian/Ubuntu), or say what is needed.
deps:
	@if pkg-config --exists libcurl libcrypto 2>/dev/null && [ -f /usr/include/x86_64-linux-gnu/curl/curl.h -o -f /usr/include/curl/curl.h -o -f /usr/include/aarch64-linux-gnu/curl/curl.h ]; then :; \
	elif command -v apt-get >/dev/null; then \
		echo "Installing $(APT_PACKAGES)…"; \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	else \
		echo "error: libcurl and OpenSSL development files are missing; install libcurl (OpenSSL flavour), OpenSSL and pkg-config development packages with your system's package manager." >&2; exit 1; \
	fi

## build: debug build of every product.
build: deps
	$(SWIFT) build

## test: every test (unit, and integration through the real bootstrap binary).
test: deps
	$(SWIFT) test

## invoke: run a handler locally on a sample event (no Docker, no AWS account).
##   make invoke HANDLER=streamStarted EVENT=events/stream-start.json
##   make invoke HANDLER=multihostInvite EVENT="events/invite.json events/invites-list.json events/join.json"
invoke: build
	$(BIN)/local-invoke --handler $(HANDLER) $(foreach e,$(EVENT),--event $(e))

## demo: every sample event through its handler.
demo: build
	$(BIN)/local-invoke --handler streamStarted $(foreach e,$(wildcard events/stream-*.json),--event $(e))
	$(BIN)/local-invoke --handler multihostInvite --event events/invite.json --event events/invites-list.json --event events/join.json

## bench: release build (Swift stdlib linked statically, as deployed), then the A/B benchmarks against
##   the Python peer in .venv-bench (console table, BENCHMARKS.md, bench/latency.png). BENCH_ARGS=--quick: short run.
BENCH_VENV := .venv-bench
bench: deps $(BENCH_VENV)/.installed
	$(SWIFT) build -c release --static-swift-stdlib
	.build/release/bench $(BENCH_ARGS)

$(BENCH_VENV)/.installed: bench/requirements.txt bench/peer/requirements.txt
	python3 -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install -q -r bench/requirements.txt
	touch $@

clean:
	rm -rf .build build .aws-sam

include deploy.mk
