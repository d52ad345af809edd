# swr-sync: every target sets itself up from a clean clone (python3 -m venv + pip install -e .[dev]).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: all setup test lint run bench package clean reliability soak fuzz-full atheris

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

# Reliability figures of the README (each prints its figures).
reliability: $(STAMP)
	$(BIN)/python -m pytest tests/reliability $(PYTEST_ARGS)

soak: $(STAMP)
	$(BIN)/python -m tests.reliability.soak --deliveries $(or $(DELIVERIES),1000) --seed $(or $(SEED),20261122)

fuzz-full: $(STAMP)
	HYPOTHESIS_PROFILE=full $(BIN)/python -m pytest tests/reliability/test_fuzz.py $(PYTEST_ARGS)

atheris: $(STAMP)
	$(BIN)/pip install -q atheris
	$(BIN)/python tests/reliability/atheris_pushsync.py -runs=$(or $(RUNS),200000) -max_len=4096

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache
