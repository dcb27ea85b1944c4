# The project's vocabulary. Every target installs what it needs into $(VENV) (.venv) itself, from the lock.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Deployment tooling (SAM CLI, cfn-lint) has its own venv: its pins (click, ...) must not change the dev
# venv's, which the tests and linters run on.
TOOLS_VENV := .venv-tools
TOOLS_BIN := $(TOOLS_VENV)/bin
TOOLS_STAMP := $(TOOLS_VENV)/.installed
PORT ?= 3000
FUNCTION ?=
EVENT ?= events/health.json
REPO ?=
LOGIN ?=
TIMEFRAME ?= last_week
DEPLOY_ENV ?=
# One pytest-xdist worker per core (each with its own embedded Postgres): the suite is ~1,650 tests, about
# 4 minutes on 2 cores instead of 10+ in one process. PYTEST_ARGS=-n0 runs it in one process.
PYTEST_ARGS ?= -n auto
FUZZ_EXAMPLES ?= 300
SAM_PYENV := 3.11.7:3.12.1:3.13.0
# The lock (make lock): every package of the dev venv with its hashes, for any Python >= 3.11, and the
# layer's requirements (Lambda: Python 3.13, arm64) pinned to the same versions.
LOCK := requirements/dev.lock
LAYER_REQUIREMENTS := layers/common/requirements.txt
# The migration function's alembic (the layer has none), pinned to the lock's versions likewise.
MIGRATE_REQUIREMENTS := functions/migrate/requirements.txt
UV_COMPILE = $(BIN)/uv pip compile --quiet --generate-hashes --custom-compile-command "make lock"

export PYTHONPATH := $(CURDIR)
export SAM_CLI_TELEMETRY := 0

.PHONY: help install lock dev demo token test fuzz lint format validate build deploy invoke report bench migrate openapi clean db-stop

help:
	@echo "Start here:"
	@echo "  make dev        local API on http://127.0.0.1:\$$PORT ($(PORT)): embedded Postgres, migrations applied"
	@echo "  make test       the whole test suite against a real (embedded) Postgres"
	@echo "  make demo       make dev offline: GitHub/OpenAI fakes, seeded; prints DEMO_TOKEN, DEMO_REPO, a curl line"
	@echo "Try things:"
	@echo "  make report     REPO=owner/repo [TIMEFRAME=last_week] [JSON=1] [OUTPUT=file] [V=1]: a report in the terminal"
	@echo "  make token      LOGIN=<login>: a session token for a local user (local environments only)"
	@echo "  make invoke     EVENT=events/<file>.json [FUNCTION=<LogicalId>] [LOGIN=<login>]: one handler, one event"
	@echo "  make fuzz       schemathesis against the local API, FUZZ_EXAMPLES ($(FUZZ_EXAMPLES)) cases per operation and phase"
	@echo "  make bench      the benchmarks (bench/results/, docs/performance.md)"
	@echo "Keep it tidy:"
	@echo "  make lint       ruff, ruff format --check, mypy on the layer, lint-imports (the layers contract)"
	@echo "  make format     ruff format and ruff check --fix"
	@echo "  make openapi    regenerate docs/openapi.json from the handlers"
	@echo "  make lock       re-resolve requirements/dev.lock, layers/common/requirements.txt and functions/migrate/requirements.txt (UPGRADE=--upgrade)"
	@echo "  make install    the dev venv ($(VENV)) from the lock (every target does it when needed)"
	@echo "  make migrate    apply the Alembic migrations to the configured database"
	@echo "  make db-stop    stop the local embedded Postgres (started again on demand)"
	@echo "  make clean      remove build and tool caches"
	@echo "Deploy:"
	@echo "  make validate   sam validate --lint and cfn-lint on template.yaml"
	@echo "  make build      sam build"
	@echo "  make deploy     sam build, then sam deploy --guided [DEPLOY_ENV=dev|prod: samconfig.toml's environment]"
	@echo "  make help       this list"

# Only what the lock names, each file checked against its hash; then the layer package itself, editable.
$(STAMP): $(LOCK) layers/common/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install -q --no-deps -e layers/common
	@touch $@

install: $(STAMP)

# Keeps the versions already locked where the sources still allow them (`make lock UPGRADE=--upgrade`
# re-resolves everything); tests/tools/test_lock.py fails when the lock and its sources disagree.
lock: $(STAMP)
	$(UV_COMPILE) $(UPGRADE) --universal --python-version 3.11 \
		layers/common/pyproject.toml --extra migrations --extra local requirements-dev.txt -o $(LOCK)
	$(UV_COMPILE) --python-version 3.13 --python-platform aarch64-manylinux_2_34 \
		layers/common/pyproject.toml -c $(LOCK) -o $(LAYER_REQUIREMENTS)
	$(UV_COMPILE) --python-version 3.13 --python-platform aarch64-manylinux_2_34 \
		$(MIGRATE_REQUIREMENTS:.txt=.in) -c $(LOCK) -o $(MIGRATE_REQUIREMENTS)

$(TOOLS_STAMP): requirements-tools.txt
	@test -x $(TOOLS_BIN)/python || $(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_BIN)/python -m pip install -q --upgrade pip
	$(TOOLS_BIN)/python -m pip install -q -r requirements-tools.txt
	@touch $@

migrate: $(STAMP)
	@$(BIN)/python -m tools.migrate upgrade

dev: migrate
	$(BIN)/python -m tools.devserver --port $(PORT)

# make dev against the GitHub/OpenAI fakes, seeded, on its own database (oss_tldr_demo): no network needed.
demo: $(STAMP)
	@$(BIN)/python -m tools.demo --port $(PORT)

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
	PYTHONPATH=$(CURDIR)/layers/common $(BIN)/lint-imports  # the layers contract, pyproject.toml

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

validate: $(TOOLS_STAMP)
	$(TOOLS_BIN)/sam validate --lint
	$(TOOLS_BIN)/cfn-lint template.yaml

build: $(TOOLS_STAMP)
	PYENV_VERSION=$(SAM_PYENV) PATH="$(CURDIR)/$(TOOLS_BIN):$$PATH" $(TOOLS_BIN)/sam build

# DEPLOY_ENV=dev|prod: the samconfig.toml environment (default: the default one, which is prod). The
# guided answers (VPC, subnets, secrets' ARNs: account-specific) are saved in the git-ignored
# samconfig.local.toml, a copy of samconfig.toml made on the first deploy, never in the committed file.
deploy: build
	test -f samconfig.local.toml || cp samconfig.toml samconfig.local.toml
	$(TOOLS_BIN)/sam deploy --guided --config-file samconfig.local.toml $(if $(DEPLOY_ENV),--config-env $(DEPLOY_ENV))

# FUNCTION defaults to the one the event's routeKey (or source) names; <session-token> in the event's
# headers becomes a session of LOGIN (default local-dev), as `make token` issues it.
invoke: migrate
	@$(BIN)/python -m tools.invoke $(if $(FUNCTION),--function $(FUNCTION)) $(if $(LOGIN),--login $(LOGIN)) $(EVENT)

# Local sign-in without GitHub (issue 12): a session token for LOGIN, local environments only.
token: migrate
	@test -n "$(LOGIN)" || { echo "usage: make token LOGIN=<login>" >&2; exit 2; }
	@$(BIN)/python -m tools.local_token -- "$(LOGIN)"

# JSON=1: the API's Report JSON; OUTPUT=file: written there; V=1: the service's logs on stderr (else in
# .oss-tldr/report.log). Recipes are silent (@) so that stdout holds the report alone.
report: migrate
	@test -n "$(REPO)" || { echo "usage: make report REPO=owner/repo TIMEFRAME=last_week [JSON=1] [OUTPUT=file] [V=1]" >&2; exit 2; }
	@$(BIN)/python -m tools.report $(REPO) --timeframe $(TIMEFRAME) $(if $(JSON),--json) $(if $(OUTPUT),--output $(OUTPUT)) $(if $(V),-v)

bench: migrate
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.deepdive

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache

openapi: $(STAMP)
	$(BIN)/python -m tools.openapi

db-stop: $(STAMP)
	$(BIN)/python -m tools.migrate stop
