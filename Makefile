# tdm-video: `make demo` runs the main job on the embedded default; `make test` runs the tests.
# Both install what is missing (Debian packages) and build in release mode.
SHELL := /bin/bash
SWIFT ?= swift
APT_PACKAGES := libopenblas-dev libavcodec-dev libavformat-dev libswscale-dev libavutil-dev libx264-dev pkg-config ffmpeg libopenmpi-dev openmpi-bin
BIN := .build/release/tdm-video

.PHONY: deps build test demo quality bench fuzz clean

deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null \
	    || { echo "error: could not install:$$missing" >&2; exit 1; }; \
	fi

build: deps
	$(SWIFT) build -c release

# One release build serves the tests and the CLI tests (swift test builds the executable too).
test: deps
	$(SWIFT) test -c release

# The quality-score regression gate on the shipped models (and the proof that it fails damaged ones).
quality: deps
	$(SWIFT) test -c release --filter QualityGateTests

# A long fuzz campaign against the CLI (Tests/CLITests/FuzzTests.swift): cases FROM..<COUNT of SEED's
# generated inputs (a long campaign can run as consecutive ranges, each case depends only on SEED and its
# index) over clips, model folders, YAML configs, prompts and suites, PARALLEL at once, TIMEOUT seconds each.
# The table goes to REPORT (progress to REPORT.progress); failing inputs are kept in KEEP.
COUNT ?= 100000
FROM ?= 0
SEED ?= 1
PARALLEL ?= 2
TIMEOUT ?= 60
REPORT ?= out/fuzz_report.md
KEEP ?= out/fuzz_findings
fuzz: deps
	@mkdir -p $(dir $(REPORT))
	FUZZ_COUNT=$(COUNT) FUZZ_FROM=$(FROM) FUZZ_SEED=$(SEED) FUZZ_PARALLEL=$(PARALLEL) FUZZ_TIMEOUT=$(TIMEOUT) \
	  FUZZ_REPORT=$(abspath $(REPORT)) FUZZ_KEEP=$(abspath $(KEEP)) $(SWIFT) test -c release --filter FuzzTests.longCampaign

demo: build
	$(BIN) demo --out out/demo

bench: build
	$(BIN) bench --preset small

clean:
	rm -rf .build out
