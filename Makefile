# Two commands do everything on a fresh machine:
#   make run    set up .venv and run Groundswell on the embedded default (SQLite)
#   make test   set up .venv and run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two stamps: `make run` installs only what running needs; `make test` adds the dev tools
# (.installed, the full set, keeps its name so `make .venv/.installed` still gives everything).
STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed
# pip shows its own progress (no --quiet): what it collects and installs, step by step.
PIP := $(BIN)/pip --disable-pip-version-check

.PHONY: run test lint bench clean

$(BIN)/python:
	@echo "==> Creating the virtual environment in $(VENV)"
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	@echo "==> Installing Groundswell and what it needs to run (about a minute the first time)"
	$(PIP) install -e .
	@echo "==> Installed"
	touch $(STAMP)

$(DEV_STAMP): $(STAMP) pyproject.toml
	@echo "==> Adding the development tools (pytest, ruff, playwright ...)"
	$(PIP) install -e '.[dev]'
	touch $(DEV_STAMP)

run: $(STAMP)
	$(BIN)/groundswell demo --if-empty
	$(BIN)/groundswell run

# The browser tests drive Debian's Chromium through Playwright (no browser downloads).
CHROMIUM := /usr/bin/chromium

$(CHROMIUM):
	@echo "Installing Chromium from Debian's packages for the browser tests"
	apt-get update -qq && apt-get install -y -qq chromium

test: $(DEV_STAMP) $(CHROMIUM)
	$(BIN)/ruff check .
	$(BIN)/groundswell flows check
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python bench/engine_steps.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache .hypothesis .mypy_cache
