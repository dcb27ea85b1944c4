# The project's vocabulary. Every target installs what it needs into .venv itself.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TOOLS_STAMP := $(VENV)/.tools-installed
PORT ?= 3000
FUNCTION ?= HealthFunction
EVENT ?= events/health.json
REPO ?=
TIMEFRAME ?= last_week
PYTEST_ARGS ?=
FUZZ_EXAMPLES ?= 300
SAM_PYENV := 3.11.7:3.12.1:3.13.0

export PYTHONPATH := $(CURDIR)
export SAM_CLI_TELEMETRY := 0

.PHONY: help install dev test fuzz lint format validate build deploy invoke report bench migrate openapi clean

help:
	@echo "make dev       - local API on http://127.0.0.1:$(PORT) (embedded Postgres, migrations applied)"
	@echo "make test      - the whole test suite against a real (embedded) Postgres"
	@echo "make fuzz      - schemathesis against the local API, FUZZ_EXAMPLES (300) cases per operation and phase"
	@echo "make report REPO=owner/repo TIMEFRAME=last_week - a report in the terminal"
	@echo "make invoke FUNCTION=<LogicalId> EVENT=events/<file>.json - one handler, one event"
	@echo "make lint | validate | build | deploy | bench | migrate"

$(STAMP): requirements-dev.txt layers/common/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e layers/common -r requirements-dev.txt
	@touch $@

install: $(STAMP)

$(TOOLS_STAMP): requirements-tools.txt $(STAMP)
	$(BIN)/python -m pip install -q -r requirements-tools.txt
	@touch $@

migrate: $(STAMP)
	$(BIN)/python -m tools.migrate upgrade

dev: migrate
	$(BIN)/python -m tools.devserver --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The bounded schemathesis pass of `make test`, with many more (random) cases.
fuzz: $(STAMP)
	SCHEMATHESIS_MAX_EXAMPLES=$(FUZZ_EXAMPLES) SCHEMATHESIS_RANDOM=1 \
		$(BIN)/python -m pytest -q -p no:cacheprovider tests/contract/test_schemathesis.py $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy layers/common/oss_tldr

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

validate: $(TOOLS_STAMP)
	$(BIN)/sam validate --lint
	$(BIN)/cfn-lint template.yaml

build: $(TOOLS_STAMP)
	PYENV_VERSION=$(SAM_PYENV) PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/sam build

deploy: build
	$(BIN)/sam deploy --guided

invoke: migrate
	$(BIN)/python -m tools.invoke $(FUNCTION) $(EVENT)

report: migrate
	@test -n "$(REPO)" || { echo "usage: make report REPO=owner/repo TIMEFRAME=last_week"; exit 2; }
	$(BIN)/python -m tools.report $(REPO) --timeframe $(TIMEFRAME)

bench: migrate
	$(BIN)/python -m bench.run

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache

openapi: $(STAMP)
	$(BIN)/python -m tools.openapi

db-stop: $(STAMP)
	$(BIN)/python -m tools.migrate stop
