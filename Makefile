# swr-sync: every target sets itself up from a clean clone, from requirements.lock only (hash-checked, no resolver).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements.lock
# Held to the lock before every target: a venv that drifted is an error, never a silently different environment.
CHECK := $(BIN)/python -m localdev.lockfile check >/dev/null

.PHONY: all setup check-lock lock test lint run bench package clean reliability soak scaleout fuzz-full atheris

all: test

# pip installs exactly the lock's pins (--no-deps: nothing is resolved), checking every file's hash; the project
# itself goes in editable, built by the locked setuptools without network (--no-build-isolation). `sync` then
# removes anything the lock does not name and fails unless the venv is exactly the lock.
define install
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(BIN)/python -m localdev.lockfile sync
	touch $(STAMP)
endef

$(STAMP): $(LOCK) pyproject.toml
	$(install)

# Puts an existing venv back to exactly the lock (removes what it does not name).
setup:
	$(install)

check-lock: $(STAMP)
	$(BIN)/python -m localdev.lockfile check

# The only way the lock changes. `make lock` upgrades everything; `make lock PACKAGE=name` upgrades that one
# package (and takes in pyproject.toml edits) while every other pin stays. Resolved for Python 3.10 and newer.
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.10 --generate-hashes \
	  --fork-strategy fewest --custom-compile-command 'make lock' --quiet \
	  $(if $(PACKAGE),--upgrade-package $(PACKAGE),--upgrade) -o $(LOCK)
	$(MAKE) setup

test: $(STAMP)
	@$(CHECK)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	@$(CHECK)
	$(BIN)/ruff check shared functions localdev tests bench
	$(BIN)/ruff format --check shared functions localdev tests bench
	$(BIN)/mypy
	$(BIN)/python -m localdev.tools.imports --summary

run: $(STAMP)
	@$(CHECK)
	$(BIN)/swr-sync local $(RUN_ARGS)

bench: $(STAMP)
	@$(CHECK)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

package: $(STAMP)
	@$(CHECK)
	$(BIN)/swr-sync package $(PACKAGE_ARGS)

# Reliability figures of the README (each prints its figures).
reliability: $(STAMP)
	@$(CHECK)
	$(BIN)/python -m pytest tests/reliability $(PYTEST_ARGS)

soak: $(STAMP)
	@$(CHECK)
	$(BIN)/python -m tests.reliability.soak --deliveries $(or $(DELIVERIES),1000) --seed $(or $(SEED),20261122)

# N push-sync processes sharing one real redis-server (needs redis-server): prints lost / duplicate / intents.
scaleout: $(STAMP)
	@$(CHECK)
	$(BIN)/python -m tests.reliability.scaleout --deliveries $(or $(DELIVERIES),1000) --workers $(or $(WORKERS),4) --seed $(or $(SEED),20261206)

fuzz-full: $(STAMP)
	@$(CHECK)
	HYPOTHESIS_PROFILE=full $(BIN)/python -m pytest tests/reliability/test_fuzz.py $(PYTEST_ARGS)

atheris: $(STAMP)
	@$(CHECK)
	$(BIN)/python tests/reliability/atheris_pushsync.py -runs=$(or $(RUNS),200000) -max_len=4096

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache
