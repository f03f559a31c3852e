# One command sets up and runs the main job, one sets up and runs the whole test suite.
# Both create .venv on first use (Python 3.11+, pip) and reinstall when pyproject.toml changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test browser lint typecheck unit bench clean

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

# The report test opens the HTML report in headless Chromium (Debian's package); install it when we can.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium (Debian) for the report test"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium not found: run 'apt-get install -y chromium' for the report test"; fi; }

test: browser lint typecheck unit

bench: setup
	$(BIN)/python benchmarks/bench_evaluate.py

clean:
	rm -rf $(VENV) csm-out .mypy_cache .ruff_cache .pytest_cache .hypothesis
