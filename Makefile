# Rill — the two commands every user needs: `make bench` and `make test`.
# Both install what they need first (`make deps`: Debian and PyPI packages only).

SHELL := /bin/bash
SWIFT ?= swift
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := zlib1g-dev liblz4-dev libzstd-dev libsnappy-dev kcat librdkafka-dev fio
PIP_PACKAGES := confluent-kafka kafka-python lz4 python-snappy zstandard

.PHONY: all build release deps test bench stress fixtures clean

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

## bench: the main job on the embedded default (today: the storage engine against fio)
bench: release
	scripts/bench-storage.sh

## stress: the storage model test at depth (200 seeds x 1,500 operations, a few minutes)
stress: deps
	RILL_STRESS_SEEDS=$${SEEDS:-200} $(SWIFT) test --filter storageModelStress

## fixtures: regenerate the codec fixtures written by other implementations
fixtures: deps
	python3 scripts/make-format-fixtures.py

clean:
	rm -rf .build
