# swr-sync: every target sets itself up from a clean clone (python3 -m venv + pip install -e .[dev]).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: all setup test lint run bench package clean

all: test

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check shared functions localdev tests bench
	$(BIN)/ruff format --check shared functions localdev tests bench
	$(BIN)/mypy

run: $(STAMP)
	$(BIN)/swr-sync local $(RUN_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

package: $(STAMP)
	$(BIN)/swr-sync package $(PACKAGE_ARGS)

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache
