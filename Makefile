# One virtualenv, rebuilt when pyproject.toml changes; every target uses it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv test test-e2e check dev worker web migrate clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m tests.run -q

# Lint and format (ruff), types (mypy), and the dependency direction of [tool.importlinter] in pyproject.toml.
check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Real-browser tests (tests/e2e, Debian's Chromium: apt-get install chromium) and the 50-user load test (tests/load),
# each on the whole stack run as processes.
test-e2e: $(STAMP)
	$(BIN)/python -m tests.run tests/e2e tests/load

dev: $(STAMP)
	$(BIN)/mediation-dev

worker: $(STAMP)
	$(BIN)/mediation-worker

web: $(STAMP)
	$(BIN)/mediation-web

migrate: $(STAMP)
	$(BIN)/mediation-migrate

clean:
	rm -rf $(VENV) data test-artifacts .pytest_cache

# The benchmark of docs/performance.md on a throw-away embedded stack; options via BENCH_ARGS="--cases 10 ...".
# `--profile DIR` needs pyinstrument: .venv/bin/pip install -e '.[test,bench]'
.PHONY: bench
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)
