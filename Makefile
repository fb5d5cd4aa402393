# ivs-chat-events: build, test, run locally, benchmark. SAM's build-<LogicalId> targets live in deploy.mk.
SHELL := /bin/bash
SWIFT ?= swift
HANDLER ?= streamStarted
EVENT ?= events/stream-start.json
BIN := .build/debug

# System packages the build needs (Debian/Ubuntu names); the tests need a few more: patchelf and
# dpkg-dev and zlib1g-dev (packaging, minimal libcurl), bubblewrap (empty-root run), python3-venv (tool
# virtualenvs), chromium and chromium-driver (the viewer page's browser test), curl (make viewer's printed commands, tested).
APT_PACKAGES := libcurl4-openssl-dev libssl-dev pkg-config
TEST_APT_PACKAGES := patchelf bubblewrap dpkg-dev python3-venv zlib1g-dev chromium chromium-driver curl
# Python tools of the tests (botocore cross-check, moto_server for DynamoDB, cfn-lint), taken from
# the machine when it has them, else installed into this virtualenv.
TEST_VENV := .venv-test
# The API contract test (openapi.yaml against the local API) runs schemathesis' `st`, from a virtualenv
# of its own (not on PATH: its python3 must not shadow the one with moto).
SCHEMATHESIS_VERSION := 4.32.5
ST_VENV := .venv-schemathesis
.DEFAULT_GOAL := build

.PHONY: deps test-deps build test invoke demo viewer bench bench-review crowd clean fuzz

# apt-get install, as root or through sudo, or a clear message where there is no apt-get.
define apt_install
	if command -v apt-get >/dev/null; then \
		echo "Installing $(1)…"; SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(1) >/dev/null; \
	else \
		echo "error: please install the equivalents of: $(1) (Debian package names)" >&2; exit 1; \
	fi
endef

## deps: install libcurl/OpenSSL headers when missing (Debian/Ubuntu), or say what is needed.
deps:
	@pkg-config --exists libcurl libcrypto 2>/dev/null || { $(call apt_install,$(APT_PACKAGES)); }

## test-deps: what the tests use besides the build: packaging tools and Python tools.
test-deps: deps
	@for tool in patchelf bwrap dpkg-source chromium chromedriver curl; do command -v $$tool >/dev/null || { $(call apt_install,$(TEST_APT_PACKAGES)); break; }; done
	@if ! python3 -c 'import botocore, moto, flask' 2>/dev/null || ! command -v cfn-lint >/dev/null; then \
		[ -x $(TEST_VENV)/bin/cfn-lint ] || { echo "Installing moto, boto3, cfn-lint into $(TEST_VENV)…"; \
			python3 -m venv $(TEST_VENV) && $(TEST_VENV)/bin/pip install -q 'moto[server]' boto3 cfn-lint; }; \
	fi
	@[ -x $(ST_VENV)/bin/st ] || { echo "Installing schemathesis into $(ST_VENV)…"; \
		python3 -m venv $(ST_VENV) && $(ST_VENV)/bin/pip install -q 'schemathesis==$(SCHEMATHESIS_VERSION)'; }

## build: debug build of every product.
build: deps
	$(SWIFT) build

## test: every test (unit, and integration through the real bootstrap binary).
test: test-deps
	PATH="$(CURDIR)/$(TEST_VENV)/bin:$$PATH" SCHEMATHESIS_BIN="$(CURDIR)/$(ST_VENV)/bin/st" $(SWIFT) test

## invoke: run a handler locally on a sample event (no Docker, no AWS account).
##   make invoke HANDLER=streamStarted EVENT=events/stream-start.json
##   make invoke HANDLER=api EVENT="events/invite.json events/invites-list.json events/join.json"
invoke: build
	$(BIN)/local-invoke --handler $(HANDLER) $(foreach e,$(EVENT),--event $(e))

## demo: every sample event through its handler.
demo: build
	$(BIN)/local-invoke --handler streamStarted $(foreach e,$(wildcard events/stream-*.json),--event $(e))
	$(BIN)/local-invoke --handler api --event events/invite.json --event events/invites-list.json --event events/join.json
	$(BIN)/local-invoke --handler stageUpdated $(foreach e,$(wildcard events/stage-*.json),--event $(e))
	$(BIN)/local-invoke --handler api --env ALLOW_GUESTS=true --event events/chat-token.json --event events/guest-chat-token.json

## viewer: the viewer page (web/) with everything behind it on localhost: the three functions (the real
##   bootstrap), the IVS stand-in with its chat WebSocket, DynamoDB (moto), a local API gateway. Prints
##   the page's URL and the commands that send Stream Start / Stream End / an invite; Ctrl-C stops it.
##   VIEWER_PORT=8080 by default.
VIEWER_PORT ?= 8080
viewer: build test-deps
	PATH="$(CURDIR)/$(TEST_VENV)/bin:$$PATH" $(BIN)/local-viewer --port $(VIEWER_PORT)

## fuzz: libFuzzer targets (Fuzz/) for every parser of untrusted input, FUZZ_SECONDS (default 60) each;
##   fails on any crash or property violation (scripts/fuzz.sh). FUZZ_TARGETS="fuzz-json …": some only.
FUZZ_SECONDS ?= 60
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) SWIFT=$(SWIFT) scripts/fuzz.sh

## bench: the A/B benchmarks of the deployable package (scripts/package-lambda.sh builds it, in .build-release)
##   against the Python peer in .venv-bench (console table, BENCHMARKS.md, bench/latency.png). BENCH_ARGS=--quick: short run.
BENCH_VENV := .venv-bench
bench: deps $(BENCH_VENV)/.installed
	$(SWIFT) build -c release --static-swift-stdlib --product bench
	.build/release/bench $(BENCH_ARGS)

## bench-review: only the message review bench (issue 19): cold start to the first review answered (plain and at
##   the 128 MB CPU share), the share within IVS Chat's 200 ms, warm CPU per review with 1,000 terms, against the
##   Python peer reviewer (bench/peer/message_review.py); writes its section of BENCHMARKS.md. BENCH_ARGS=--quick: short run.
bench-review: deps $(BENCH_VENV)/.installed
	$(SWIFT) build -c release --static-swift-stdlib --product bench
	.build/release/bench --review-only $(BENCH_ARGS)

$(BENCH_VENV)/.installed: bench/requirements.txt bench/peer/requirements.txt
	python3 -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install -q -r bench/requirements.txt
	touch $@

## crowd: a crowd of simulated viewers (the page's algorithm) against the real bootstrap, the IVS stand-in
##   enforcing AWS's account-wide API rates at CROWD_SCALE (default 0.05); four scenarios (waiting room, mass
##   reconnect, missed end, top of the hour); prints the table and writes it into BENCHMARKS.md.
CROWD_ARGS ?=
crowd: build test-deps
	PATH="$(CURDIR)/$(TEST_VENV)/bin:$$PATH" $(BIN)/crowd $(CROWD_ARGS)

clean:
	rm -rf .build build .aws-sam

include deploy.mk
