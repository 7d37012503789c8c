# ganglia-rs: the two commands of the README are `make run` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
FUZZ_SECONDS ?= 30

.PHONY: prereqs build run test bench fuzz soak fmt lint clean

prereqs:
	@bash scripts/prereqs.sh

build: prereqs
	$(CARGO) build --release --workspace --bins

## make run: build and start the local stack on loopback with built-in defaults (Ctrl-C stops it).
run: build
	@bash scripts/run-stack.sh

## make test: the whole test suite (unit, golden, property, interop with Debian's Ganglia 3.7.2).
test: prereqs
	$(CARGO) build --workspace --bins
	$(CARGO) test --workspace --no-fail-fast

## make bench: every benchmark, side by side with Debian's daemons; rewrites the results section
## of BENCHMARKS.md (BENCH_QUICK=1 for a short run).
bench:
	@PREREQS_EXTRA="gnuplot-nox $(PREREQS_EXTRA)" bash scripts/prereqs.sh
	@bash scripts/bench.sh

## make fuzz: every cargo-fuzz target for FUZZ_SECONDS each (on stable via RUSTC_BOOTSTRAP=1).
fuzz: prereqs
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	@for t in $$(cd fuzz && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz list); do \
	  echo "fuzz: $$t for $(FUZZ_SECONDS)s"; \
	  (cd fuzz && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run $$t -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048) || exit 1; \
	done

## make soak: the long reliability runs (RELIABILITY.md): the cluster fault tests at full size in
## network namespaces (root), then every fuzz target for FUZZ_SECONDS=600 each (~60 min in all).
soak: prereqs
	@FUZZ_SECONDS=$(if $(filter command line environment,$(origin FUZZ_SECONDS)),$(FUZZ_SECONDS),600) bash scripts/soak.sh

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

clean:
	$(CARGO) clean
