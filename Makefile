# `make run` sets up and starts the app; `make test` sets up and runs the tests.
# Setup is idempotent: the virtualenv is rebuilt only when a requirements file changes.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.setup-stamp

.PHONY: setup system system-tests run test lint bench clean

$(STAMP): requirements.txt requirements-dev.txt requirements-weights.txt constraints.txt pyproject.toml
	bash setup/python-packages.sh
	touch $(STAMP)

system:
	@bash setup/system-packages.sh

system-tests:
	@bash setup/system-packages.sh --tests

setup: system $(STAMP)

run: setup
	$(PY) main.py

test: setup system-tests lint
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest

# ruff, and the layer table of DESIGN.md (import-linter: pyproject.toml [tool.importlinter])
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

bench: setup
	$(PY) -m bench.run_all

clean:
	rm -rf $(VENV) tests/artifacts bench/results
