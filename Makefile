# The two commands of the README: `make demo` (set up and run the main job) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SHARED ?= $(abspath ../shared)
UBL_SOURCE ?= $(SHARED)/standards/ubl-2.4
EN16931_SOURCE ?= $(SHARED)/standards/en16931
export EXCHANGE_HOME ?= $(CURDIR)/.exchange-home
export EXCHANGE_SHARED_DIR ?= $(SHARED)

.PHONY: demo test check setup system-deps schemas bench clean

$(BIN)/exchange: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(BIN)/exchange

setup: $(BIN)/exchange

system-deps:
	bash .ci/system-deps

schemas: setup
	$(BIN)/exchange schemas install ubl-2.4 --from $(UBL_SOURCE)
	$(BIN)/exchange schemas install iso20022-camt --from $(SHARED)/interop/iso20022-genkgo
	$(BIN)/exchange schemas install cii-d16b --from $(EN16931_SOURCE)
	$(BIN)/exchange rules install en16931 --from $(EN16931_SOURCE)

## The main job: the exchange with demo data (a corridor KZ -> UZ -> AF), until Ctrl-C.
demo: setup
	$(BIN)/exchange demo --standards $(UBL_SOURCE) $(DEMO_ARGS)

## Every check: system packages (xmlsec1, PostgreSQL), the project, the house plan (import
## contracts and types, see ARCHITECTURE.md), then the test suite.
test: system-deps setup check
	$(BIN)/pytest -q

check: setup
	$(BIN)/lint-imports
	$(BIN)/mypy

bench: schemas
	$(BIN)/python bench/validate.py

clean:
	rm -rf $(VENV) .exchange-home .pytest_cache
