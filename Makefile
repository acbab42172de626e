# Build, check and demo targets. `make test` is what CI runs (through .ci/run).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := test
MAKEFLAGS += --no-builtin-rules

# Debian packages the project needs at run and build time (pyscard builds from source).
# The kiosk: Noto Sans (Vietnamese), what PySide6 needs offscreen (GL, fontconfig, D-Bus,
# PulseAudio and libspeechd for QtTextToSpeech) and on an X display (the xcb libraries);
# its voice: speech-dispatcher with espeak-ng's Vietnamese voice (tests/kiosk/test_speech_audio.py).
# XML0 signatures: SoftHSM2 as the PKCS#11 token the tests sign with, xmlsec1 as the
# independent verifier (tests and the simulated gateway). Many kiosks: PostgreSQL (a private
# cluster the tests and `make run FLEET=N` start) and chromium for the queue board's tests.
APT_PACKAGES := pcscd vsmartcard-vpcd libpcsclite-dev swig pkg-config gcc python3-dev python3-venv \
	softhsm2 xmlsec1 postgresql chromium \
	fonts-noto-core libgl1 libegl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libglib2.0-0 libpulse0 \
	libx11-xcb1 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 \
	libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xkb1 libspeechd2 \
	speech-dispatcher speech-dispatcher-espeak-ng espeak-ng

# Optional dependency groups of pyproject.toml installed into .venv, space-separated.
EXTRAS := dev kiosk

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stamp
PYTEST_ARGS ?=

comma := ,
empty :=
space := $(empty) $(empty)
EXTRAS_SPEC := $(subst $(space),$(comma),$(strip $(EXTRAS)))
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: deps venv lint typecheck contracts pytest test run bench clean

## deps: install the missing Debian packages (apt-get only if something is missing)
deps:
	@command -v dpkg >/dev/null || { echo "make deps: needs Debian/Ubuntu (dpkg); install by hand: $(APT_PACKAGES)" >&2; exit 1; }
	@missing=""; \
	for pkg in $(APT_PACKAGES); do \
	  dpkg -s "$$pkg" 2>/dev/null | grep -x 'Status: install ok installed' >/dev/null || missing="$$missing $$pkg"; \
	done; \
	if [ -z "$$missing" ]; then \
	  echo "deps: all Debian packages installed"; \
	else \
	  echo "deps: installing$$missing"; \
	  $(SUDO) apt-get update; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi

## venv: create .venv and install the project editable with $(EXTRAS)
venv: $(STAMP)

$(STAMP): pyproject.toml Makefile | deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -e '.[$(EXTRAS_SPEC)]'
	touch $@

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports

# Exit code 5 (no tests collected) fails like any other non-zero code, with a word why.
pytest: $(STAMP)
	@rc=0; $(BIN)/pytest $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest: no tests were collected (exit 5)" >&2; fi; \
	exit $$rc

## test: everything CI checks
test: deps venv lint typecheck contracts pytest

## run: the simulated hospital (pcscd + virtual cards, BHXH gateway, HIS, scanner and
## printer on ptys) and the kiosk: its window with a display, else one scripted check-in
## offscreen that prints the result, the ticket PNG and a screenshot of every screen;
## FLEET=N: N kiosks on one private PostgreSQL and the queue board (simulators/demo_fleet.py)
RUN_OUT ?= $(or $(TMPDIR),/tmp)/cccd-kiosk-run
FLEET ?=
run: deps venv
	$(BIN)/python -m simulators hospital --out $(RUN_OUT)$(if $(FLEET), --fleet $(FLEET))

## bench: every bench/*.py script in one table (bench/report.py, about 3 minutes);
## BENCH_ARGS=--quick for fewer samples, BENCH_ARGS="--markdown docs/benchmarks.md" to keep it
BENCH_ARGS ?=
bench: deps $(STAMP)
	$(BIN)/python bench/report.py $(BENCH_ARGS)

## clean: remove the virtual environment and tool caches
clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
