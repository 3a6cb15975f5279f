# One virtualenv, rebuilt when pyproject.toml changes; every target uses it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv test dev worker web migrate clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m tests.run -q

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
