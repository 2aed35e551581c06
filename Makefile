# hookserver: `make run` serves the example hooks locally; `make test` runs everything.

CARGO       ?= cargo
WASM_TARGET := wasm32-wasip1
HOOKS_DIR   := target/hooks
ADAPTERS_DIR := target/adapters
LISTEN      ?= 127.0.0.1:8080
# Every crate under examples/ builds hooks: each binary NAME becomes target/hooks/NAME.wasm.
EXAMPLES    := $(patsubst examples/%/Cargo.toml,%,$(wildcard examples/*/Cargo.toml))

.PHONY: all setup hooks adapters other-languages kube-apiserver conformance build run test lint doc bench soak fuzz clean

all: build hooks adapters

## setup: install what the build needs and is missing (Rust target and components).
setup:
	@rustup target list --installed | grep -qx '$(WASM_TARGET)' || rustup target add $(WASM_TARGET)
	@rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
	@rustup component list --installed | grep -q '^clippy' || rustup component add clippy

## hooks: build every example hook into target/hooks/NAME.wasm (size-tuned `hook` profile).
hooks: setup
	$(CARGO) build --profile hook --target $(WASM_TARGET) $(addprefix -p ,$(EXAMPLES))
	@mkdir -p $(HOOKS_DIR)
	@# Every binary of an example crate is a hook (a crate may ship several).
	@# Not the conformance fixtures, nor the script adapters (`make adapters` places those).
	@for wasm in $$(ls target/$(WASM_TARGET)/hook/*.wasm | grep -v -e '/fixture-' -e '/jsonnet.wasm' -e '/js.wasm'); do \
		cp $$wasm $(HOOKS_DIR)/; \
		printf '  %-40s %7d bytes\n' "$(HOOKS_DIR)/$$(basename $$wasm)" $$(wc -c < $$wasm); \
	done
	@# The example scripts are hooks too, run by the adapters.
	@cp examples/scripts/jsonnet/*.jsonnet examples/scripts/jsonnet/*.libsonnet \
		examples/scripts/js/*.js $(HOOKS_DIR)/

## adapters: build the script adapters (jsonnet.wasm, js.wasm) into target/adapters; the JS
## one embeds QuickJS, whose C build installs clang and wasi-libc when missing.
adapters: setup
	$(CARGO) build --profile hook --target $(WASM_TARGET) -p jsonnet-adapter
	@mkdir -p $(ADAPTERS_DIR)
	@cp target/$(WASM_TARGET)/hook/jsonnet.wasm $(ADAPTERS_DIR)/
	@printf '  %-40s %7d bytes\n' $(ADAPTERS_DIR)/jsonnet.wasm $$(wc -c < $(ADAPTERS_DIR)/jsonnet.wasm)
	adapters/js/build.sh $(ADAPTERS_DIR)

## other-languages: build the C, Go and AssemblyScript example hooks (installs their toolchains).
other-languages:
	examples/other-languages/install.sh
	@for lang in c go assemblyscript; do \
		examples/other-languages/$$lang/build.sh target/other-languages/$$lang || exit 1; \
	done

## kube-apiserver: build kube-apiserver and kubectl 1.20.2 from Debian's source package, once,
## into ~/.cache/hookserver-kube (installs Go 1.19, etcd and rsync with apt-get when missing).
kube-apiserver:
	hookserver/tests/kube/build-apiserver.sh >/dev/null

## conformance: run the conformance suite against hookserver and the reference webhook.
conformance: hooks adapters
	$(CARGO) build -p hookserver -p conformance
	$(CARGO) build --profile hook --target $(WASM_TARGET) -p conformance-fixtures
	conformance/run.sh

build:
	$(CARGO) build --release -p hookserver

## run: build the example hooks and script adapters, and serve them from target/hooks.
run: hooks adapters build
	@echo
	@echo "Try a sync request (from another terminal):"
	@echo "  curl -s -X POST -H 'Content-Type: application/json' \\"
	@echo "    --data @examples/hello-world/requests/sync.json http://$(LISTEN)/hooks/hello-world/sync"
	@echo "Hooks being served: curl -s http://$(LISTEN)/hooks"
	@echo
	./target/release/hookserver serve --modules $(HOOKS_DIR) --adapters $(ADAPTERS_DIR) \
		--listen $(LISTEN) --cache-dir target/hook-cache

## lint: formatting and clippy, warnings are errors.
lint: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## doc: API docs, warnings are errors.
doc:
	RUSTDOCFLAGS='-D warnings' $(CARGO) doc --workspace --no-deps

## test: install what is missing, build everything, run every test (Kubernetes tests included).
test: setup hooks adapters other-languages kube-apiserver lint doc
	$(CARGO) test --workspace
	$(MAKE) soak SOAK_DURATION=60s SOAK_JSON=target/soak/report-60s.json
	python3 -m unittest discover -s conformance/bench -p 'test_*.py'
	$(MAKE) conformance

## bench: run every benchmark and regenerate docs/performance.md from the results (slow: run
## it on a quiet machine). Not part of `make test`: no test asserts a time.
bench: hooks adapters
	$(CARGO) build --release -p hookserver -p native-baseline -p hookload
	$(CARGO) bench -p hookserver --bench runtime
	$(CARGO) bench -p hookserver --bench many_hooks
	$(CARGO) bench -p hookserver --bench script_hooks
	python3 conformance/bench/bench.py
	@# After bench.py, which rewrites target/bench/http.json: the storm run is added to it.
	python3 conformance/bench/storm.py
	python3 conformance/bench/performance.py

## fuzz: build the fuzz targets of hookserver/fuzz (stable Rust; installs a C++ compiler when
## missing) and run each for FUZZ_SECONDS (default 120); fails on a crash, printing the
## reproducer. New corpus inputs are kept in target/fuzz/corpus. Not part of `make test`, which
## replays the kept regression cases (hookserver/tests/fuzz_regressions.rs).
FUZZ_SECONDS ?= 120
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) hookserver/fuzz/run.sh

## soak: mixed traffic against the release server for SOAK_DURATION (default 10m) at
## SOAK_RATE requests per second (default 50): several hooks, 0 to 1000 Pods per request, a
## failing and a timing-out hook, modules and options replaced while it runs. Prints latency
## percentiles, RSS and CPU over time; fails on any unexpected answer or when RSS grows after
## the warm-up. The report is written to SOAK_JSON. `make test` runs it for 60s.
SOAK_DURATION ?= 10m
SOAK_RATE     ?= 50
SOAK_JSON     ?= target/soak/report.json
soak: hooks adapters
	$(CARGO) build --profile hook --target $(WASM_TARGET) -p conformance-fixtures
	$(CARGO) build --release -p hookserver -p hookload
	./target/release/hooksoak --hookserver target/release/hookserver \
		--duration $(SOAK_DURATION) --rate $(SOAK_RATE) --json $(SOAK_JSON)

clean:
	$(CARGO) clean
