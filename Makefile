# One command sets up and runs the main job, one sets up and runs the whole test suite.
# Both create .venv on first use (Python 3.11+, pip) and reinstall when pyproject.toml changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/csm-rules scan

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy --strict csm_rules

unit: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider

test: lint typecheck unit

bench: setup
	$(BIN)/python benchmarks/bench_evaluate.py

clean:
	rm -rf $(VENV) csm-out .mypy_cache .ruff_cache .pytest_cache .hypothesis
