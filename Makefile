# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test check lint types unit up down stage clean

$(STAMP): pyproject.toml scripts/bootstrap.sh
	PYTHON=$(PYTHON) scripts/bootstrap.sh
	@rm -f $(VENV)/.installed-* && touch $@

## demo: start the local stack, render the bundled story with live progress, write the reader, stop
demo: $(STAMP)
	$(BIN)/panelflow demo

## test: every tier, emulators and the whole local stack included
test: $(STAMP)
	$(BIN)/pytest

## check: fast feedback — lint, types, unit tests
check: lint types unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest tests/unit -q

up: $(STAMP)
	$(BIN)/panelflow up

down: $(STAMP)
	$(BIN)/panelflow down

stage:
	$(PYTHON) scripts/stage_functions.py

clean:
	rm -rf build .panelflow .pytest_cache .mypy_cache .ruff_cache
