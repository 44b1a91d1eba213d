# Runstream: two commands do all set-up on a fresh machine.
#   make up    install what is missing into .venv and start the local stack (detached)
#   make test  install with test extras and run the whole suite
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
# pip on some machines warns about optional local indexes; keep real errors visible.
QUIET_PIP := 2>&1 | { grep -v "is ignored: it is neither" || true; }
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
# The web UI's bundle (esbuild over src/runstream/query/ui/web + uPlot from npm);
# rebuilt only when a source or the lockfile changed.
UI_DIST := src/runstream/query/ui/dist
UI_STAMP := $(UI_DIST)/.built
UI_SOURCES := $(wildcard src/runstream/query/ui/web/*)
NPM_STAMP := node_modules/.installed
NODE := bash scripts/node.sh

.PHONY: up down status test lint typecheck install install-test clean bench ui wheel

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip $(QUIET_PIP)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e . $(QUIET_PIP)
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]' $(QUIET_PIP)
	touch $(STAMP) $@

install: $(STAMP)
install-test: $(TEST_STAMP)

$(NPM_STAMP): package.json package-lock.json | $(BIN)/python
	$(NODE) npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(UI_STAMP): $(NPM_STAMP) $(UI_SOURCES)
	$(NODE) npm run --silent build
	touch $@

ui: $(UI_STAMP)

# A wheel with the UI bundle inside (pip install users need no node).
wheel: $(UI_STAMP) | $(BIN)/python
	$(BIN)/python -m pip wheel --quiet --no-deps -w dist . $(QUIET_PIP)

up: $(STAMP) $(UI_STAMP)
	$(BIN)/runstream up

down:
	@if [ -x $(BIN)/runstream ]; then $(BIN)/runstream down; else echo "nothing to stop (.venv missing)"; fi

status: $(STAMP)
	$(BIN)/runstream status

test: $(TEST_STAMP) $(UI_STAMP)
	bash scripts/install-browser.sh
	$(BIN)/python -m pytest tests --durations=40

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

bench: $(TEST_STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .runstream node_modules $(UI_DIST)
