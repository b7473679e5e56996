# The two commands of the README: `make demo` (set up and run the main job) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SHARED ?= $(abspath ../shared)
UBL_SOURCE ?= $(SHARED)/standards/ubl-2.4
export EXCHANGE_HOME ?= $(CURDIR)/.exchange-home
export EXCHANGE_SHARED_DIR ?= $(SHARED)

.PHONY: demo test setup system-deps schemas bench clean

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

## The main job: validate the official UBL 2.4 examples with the exchange's engine.
demo: schemas
	$(BIN)/exchange validate $(UBL_SOURCE)/xml/UBL-Waybill-2.0-Example-International.xml \
		$(UBL_SOURCE)/xml/UBL-ExportCustomsDeclaration-2.3-Example.xml \
		$(UBL_SOURCE)/xml/UBL-Invoice-2.1-Example.xml

## Every check: system packages (xmlsec1, PostgreSQL), the project, then the test suite.
test: system-deps setup
	$(BIN)/pytest -q

bench: schemas
	$(BIN)/python bench/validate.py

clean:
	rm -rf $(VENV) .exchange-home .pytest_cache
