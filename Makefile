# Two commands a newcomer needs:
#   make run    install into .venv, migrate the embedded SQLite database, start the dialer with the
#               demo call centre (simulated carrier, virtual operators; `dialer serve` runs without it)
#   make test   install test tools and the Debian packages the integration tests use, then
#               ruff, mypy, the import contracts (lint-imports) and pytest (unit and integration)
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
CONFIG ?= config.toml
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check

.PHONY: help run test lint typecheck pytest system-deps clean

help:
	@echo "make run    install, migrate and start the dialer with its demo call centre on http://127.0.0.1:8080 (Ctrl-C stops it)"
	@echo "make test   install everything the tests need and run lint, type checks and all tests"

$(BIN)/python:
	./tools/venv.sh $(PYTHON) $(VENV)

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/dialer --config $(CONFIG) migrate
	exec $(BIN)/dialer --config $(CONFIG) demo

system-deps:
	./tools/apt-deps.sh

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy
	$(BIN)/lint-imports

pytest: $(VENV)/.installed-test system-deps
	$(BIN)/pytest

test: system-deps lint typecheck pytest

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache .hypothesis
