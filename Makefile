# Rill — the two commands every user needs: `make bench` and `make test`.
# Both install what they need first (`make deps`: Debian and PyPI packages only).

SHELL := /bin/bash
SWIFT ?= swift
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := zlib1g-dev liblz4-dev libzstd-dev libsnappy-dev kcat librdkafka-dev fio chromium libsqlite3-dev
PIP_PACKAGES := confluent-kafka kafka-python lz4 python-snappy zstandard

.PHONY: all build release deps test bench bench-storage bench-clients bench-groups jepsen stress fixtures fuzz fuzz-smoke fuzz-build clean

all: build

## deps: install system libraries and the real Kafka clients used as oracles (idempotent)
deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "make deps: installing $$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi
	@python3 -c "import confluent_kafka, kafka, lz4, snappy, zstandard" 2>/dev/null || \
		python3 -m pip install --quiet --disable-pip-version-check $(PIP_PACKAGES)

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

## test: every test (unit, property, interop), with swift test's summary at the end
test: deps
	$(SWIFT) test

## bench: the main job: workloads/default.yaml on the embedded target (a broker started by the
## harness), release build; prints the summary table, results in results/default/<time>/.
## WORKLOAD=workloads/x.yaml runs another workload the same way.
WORKLOAD ?= workloads/default.yaml
bench: release
	.build/release/rill run $(WORKLOAD)

## jepsen: the fault tests, workloads/jepsen-*.yaml (kill, pause, partition, power loss; about a
## minute each) and workloads/exactly-once.yaml (consumers killed mid-transaction) on the embedded target: every client operation recorded in history.jsonl,
## checked by RillChecker; fails when any verdict is invalid. Each run gets a fresh random seed,
## printed with the command that reruns it; SEED=N fixes it, JEPSEN_WORKLOADS picks the files.
JEPSEN_WORKLOADS ?= workloads/jepsen-kill.yaml workloads/jepsen-pause.yaml workloads/jepsen-partition.yaml workloads/jepsen-power-loss.yaml workloads/exactly-once.yaml
jepsen: build
	@failed=""; \
	for workload in $(JEPSEN_WORKLOADS); do \
		seed=$${SEED:-$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}; \
		echo "== $$workload (seed $$seed): rill run $$workload --set seed=$$seed"; \
		if ! SWIFT_BACKTRACE=enable=no .build/debug/rill run $$workload --set seed=$$seed; then \
			failed="$$failed\n  .build/debug/rill run $$workload --set seed=$$seed"; \
		fi; \
	done; \
	if [ -n "$$failed" ]; then echo -e "\nmake jepsen: FAILED; rerun with:$$failed"; exit 1; fi; \
	echo "make jepsen: every verdict valid"

## bench-storage: the storage engine against fio (sequential append, read, recovery, CRC-32C)
bench-storage: release
	scripts/bench-storage.sh

## bench-clients: broker and client throughput beside librdkafka's rdkafka_performance (100 B and
## 1 KiB produce, 1 KiB consume, broker CPU per GB appended); ROUNDS=3 by default
bench-clients: release
	scripts/bench-clients.sh

## bench-groups: rebalance time of a group of 3 (clean leave, SIGKILL) and commits/s, with
## confluent-kafka members, against a broker started for the run
bench-groups: release
	@rm -rf /tmp/rill-bench-groups; exec 3< <(exec sleep infinity 2>/dev/null); holder=$$!; \
	.build/release/rill broker --data-dir /tmp/rill-bench-groups --listen 127.0.0.1:19492 \
		--stop-when-stdin-closes <&3 > /tmp/rill-bench-groups.log 2>&1 & broker=$$!; exec 3<&-; \
	for _ in $$(seq 50); do grep -q listening /tmp/rill-bench-groups.log && break; sleep 0.1; done; \
	if grep -q listening /tmp/rill-bench-groups.log; then \
		python3 scripts/bench-groups.py --bootstrap 127.0.0.1:19492 --runs $${RUNS:-5}; status=$$?; \
	else cat /tmp/rill-bench-groups.log >&2; status=1; fi; \
	kill $$broker $$holder 2>/dev/null; wait $$broker; rm -rf /tmp/rill-bench-groups; exit $$status

## stress: the storage model test at depth (200 seeds x 1,500 operations, a few minutes)
stress: deps
	RILL_STRESS_SEEDS=$${SEEDS:-200} $(SWIFT) test --filter storageModelStress

## fixtures: regenerate the codec fixtures written by other implementations
fixtures: deps
	python3 scripts/make-format-fixtures.py

## fuzz: the libFuzzer target for the request decoder (Sources/RillFuzz) for FUZZ_RUNS inputs
## (default 10 million), under the address sanitizer; fails on any finding. The corpus grows in
## fuzz-corpus/ (seeded from Fuzz/Seeds/ and the generated seeds), findings land in fuzz-artifacts/
## (replay one with `.build-fuzz/release/RillFuzz FILE`, or without sanitizers with
## `swift run RillFuzz FILE`).
## fuzz-smoke: the same for 200,000 inputs.
FUZZ_RUNS ?= 10000000
FUZZ_SMOKE_RUNS ?= 200000
FUZZ_SCRATCH := .build-fuzz
FUZZ_BIN := $(FUZZ_SCRATCH)/release/RillFuzz
# `-sanitize=fuzzer,address` must reach swiftc as ONE flag: swiftc keeps only the last
# `-sanitize=`, so SwiftPM's `--sanitize fuzzer --sanitize address` alone leaves the Swift code
# without coverage. `--sanitize fuzzer` is there too because it tells SwiftPM to link the
# executable without a main of its own (libFuzzer's runs); RILL_LIBFUZZER drops the replay main.
FUZZ_BUILD_FLAGS := --scratch-path $(FUZZ_SCRATCH) -c release --product RillFuzz \
	--sanitize fuzzer -Xswiftc -sanitize=fuzzer,address -Xswiftc -DRILL_LIBFUZZER
# Inputs up to 64 KiB; a single allocation above 256 MB or 2 GB resident is a finding (inputs
# this small have no business claiming that much), as is an input running 10 s.
FUZZ_FLAGS := -max_len=65536 -rss_limit_mb=2048 -malloc_limit_mb=256 -timeout=10 \
	-print_final_stats=1 -artifact_prefix=fuzz-artifacts/
define run-fuzzer
	mkdir -p fuzz-corpus fuzz-artifacts Fuzz/Seeds
	SWIFT_BACKTRACE=enable=no $(FUZZ_BIN) --write-seeds $(FUZZ_SCRATCH)/seeds
	SWIFT_BACKTRACE=enable=no $(FUZZ_BIN) -runs=$(1) $(FUZZ_FLAGS) fuzz-corpus Fuzz/Seeds $(FUZZ_SCRATCH)/seeds
endef

fuzz-build: deps
	$(SWIFT) build $(FUZZ_BUILD_FLAGS)

fuzz: fuzz-build
	$(call run-fuzzer,$(FUZZ_RUNS))

fuzz-smoke: fuzz-build
	$(call run-fuzzer,$(FUZZ_SMOKE_RUNS))

clean:
	rm -rf .build $(FUZZ_SCRATCH)
