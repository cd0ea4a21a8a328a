# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test check lint types unit up down stage clean bench infra-check faults timeline

$(STAMP): pyproject.toml scripts/bootstrap.sh web/package-lock.json emulators/package-lock.json
	PYTHON=$(PYTHON) scripts/bootstrap.sh
	@rm -f $(VENV)/.installed-* && touch $@

## demo: start the local stack, render the bundled story with live progress, write the reader, stop
demo: $(STAMP)
	$(BIN)/panelflow demo

## test: every tier, emulators and the whole local stack included
test: $(STAMP)
	$(BIN)/pytest

## check: fast feedback — lint, types, unit tests, Terraform format and checkov (CI runs it first)
check: lint types unit infra-check

# The Google providers' generated types (npm, pinned in infra/tools), for the offline schema check.
TOOLS_STAMP := infra/tools/node_modules/.installed-$(shell cksum < infra/tools/package-lock.json | cut -d' ' -f1)

$(TOOLS_STAMP): infra/tools/package-lock.json
	cd infra/tools && npm ci --no-audit --no-fund --loglevel=error --ignore-scripts
	@rm -f infra/tools/node_modules/.installed-* && touch $@

## infra-check: terraform fmt, every argument checked against the provider schema, checkov (in a venv of its own: it ships a fork of hcl2)
infra-check: $(STAMP) $(TOOLS_STAMP)
	@# Terraform comes from no package registry this project installs from: checked where present.
	@if command -v terraform >/dev/null 2>&1; then terraform fmt -check -recursive infra/terraform; \
	else echo "infra-check: terraform not found, 'terraform fmt' skipped (install Terraform to run it)" >&2; fi
	$(BIN)/python scripts/check_terraform_schema.py
	test -x .venv-checkov/bin/checkov || ($(PYTHON) -m venv .venv-checkov && .venv-checkov/bin/pip install --quiet checkov==3.3.30)
	.venv-checkov/bin/checkov -d infra/terraform --quiet --compact --skip-download

## lint: ruff (rules, complexity limits, formatting); eslint and prettier on the web client
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	npm --prefix web run --silent lint

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

## bench: the fan-out benchmark on the local stack with sleeping providers (prints JSON last)
bench: $(STAMP)
	PYTHONPATH=tests $(BIN)/python benchmarks/bench.py

## timeline: where one 12-panel job's time goes on the benchmark's stack, hop by hop
timeline: $(STAMP)
	PYTHONPATH=tests $(BIN)/python benchmarks/timeline.py

## faults: fault drills on the local stack (duplicates, SIGKILLed workers, flaky and refusing providers, cancels)
faults: $(STAMP)
	$(BIN)/python benchmarks/faults.py
