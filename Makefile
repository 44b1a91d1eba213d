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

.PHONY: up down status test lint typecheck install install-test clean bench

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

up: $(STAMP)
	$(BIN)/runstream up

down:
	@if [ -x $(BIN)/runstream ]; then $(BIN)/runstream down; else echo "nothing to stop (.venv missing)"; fi

status: $(STAMP)
	$(BIN)/runstream status

test: $(TEST_STAMP)
	bash scripts/install-browser.sh
	$(BIN)/python -m pytest tests

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

bench: $(TEST_STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .runstream
