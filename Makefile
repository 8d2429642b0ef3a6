# The two commands of the README: `make demo` and `make test`. Each sets up
# the virtual environment first when it is missing or out of date.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# Lambda's runtime is python3.13; pyenv keeps it out of PATH unless selected.
PYTHON ?= $(shell for p in "$$(pyenv root 2>/dev/null)"/versions/3.13*/bin/python3.13 "$$(command -v python3.13)"; do \
	[ -x "$$p" ] && "$$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null && { echo "$$p"; break; }; done)
# sam build looks for python3.13 on PATH: the venv's own comes first.
export PATH := $(CURDIR)/$(BIN):$(PATH)
export SAM_CLI_TELEMETRY := 0

.PHONY: demo console browser screenshots lint docs openapi fuzz test test-unit test-integration test-reliability test-template build validate bench clean coverage

$(BIN)/.installed: requirements-dev.txt layers/cloner/requirements.txt layers/cloner/constraints.txt
	@test -n "$(PYTHON)" || { echo "python3.13 not found (pyenv install 3.13, or make PYTHON=/path/to/python3.13)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

demo: $(BIN)/.installed
	$(BIN)/python -m local clone --source-store-id 1003 --merchant-email owner@example.com --merchant-name "Ann Owner" \
		--merchant-store-name "Ann's Bakery" --instant-site draft --show-mappings 3

# The operator console over the local stack, with a small demo campaign: open the address it prints.
console: $(BIN)/.installed
	$(BIN)/python -m local console

# The browser the console's test drives: Debian's chromium and chromedriver, installed when missing
# (as root, as CI runs; otherwise through sudo).
CHROMIUM_PACKAGES := chromium chromium-driver
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then exit 0; fi; \
	SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(CHROMIUM_PACKAGES)

# The console's screenshots in docs/, from its browser test.
screenshots: $(BIN)/.installed browser
	CONSOLE_SCREENSHOTS=1 $(BIN)/python -m pytest tests/console/test_console_browser.py -q

# ruff (lint and format) over everything, mypy over the code that ships and runs it.
lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy functions layers local console bench

# With the coverage of the code that ships, lines and branches ([tool.coverage] in pyproject.toml):
# every file with a line or branch missed, and which.
# The unit tests run under coverage and print it (lines and branches of the layer and the handlers);
# the rest runs without the tracer: it slows the timed burst and backlog tests past their bounds.
test: lint browser docs
	$(BIN)/python -m pytest tests/unit --cov --cov-report=term-missing:skip-covered
	$(BIN)/python -m pytest --ignore=tests/unit

# The whole suite under coverage, for its figure (the handlers as the local stack runs them too); not
# part of make test: under the tracer the timed burst tests may miss their bounds.
coverage: $(BIN)/.installed
	$(BIN)/python -m pytest --cov --cov-report=term-missing:skip-covered

# The documentation site (mkdocs.yml, docs/) into site/; a warning (a broken link or anchor) fails it.
docs: $(BIN)/.installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

test-unit: $(BIN)/.installed
	$(BIN)/python -m pytest tests/unit tests/sandbox

test-integration: $(BIN)/.installed
	$(BIN)/python -m pytest tests/integration

test-reliability: $(BIN)/.installed
	$(BIN)/python -m pytest tests/reliability

# The contract test with fresh random cases, ten times as many (make test runs a fixed set).
fuzz: $(BIN)/.installed
	CONTRACT_FUZZ=1 $(BIN)/python -m pytest tests/contract -p no:cacheprovider

openapi: $(BIN)/.installed
	$(BIN)/python -m local openapi > docs/openapi.json

test-template: $(BIN)/.installed
	$(BIN)/python -m pytest tests/template

build: $(BIN)/.installed
	sam build

validate: $(BIN)/.installed
	sam validate --lint && cfn-lint template.yaml

clean:
	rm -rf $(VENV) site .aws-sam .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.*

bench: $(BIN)/.installed
	$(BIN)/python bench/polling.py
	$(BIN)/python bench/cold_start.py --sam-build
	$(BIN)/python bench/mapping_write.py
	$(BIN)/python bench/large_clone.py
	$(BIN)/python bench/token_store.py
