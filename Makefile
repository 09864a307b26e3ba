# Symphony Backbone. `make` lists the targets; `make run` and `make test` need only Python 3.11+.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --warn-undefined-variables --no-builtin-rules

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed
WORKSPACE := libs/common libs/client services/auth services/registry services/sync services/analytics gateway
MYPY_PATHS := libs/common/src/symphony_common libs/client/src/symphony_client \
	$(wildcard services/*/src/symphony_*) gateway/src/symphony_gateway
# pytest-xdist workers; each gets its own database. Extra pytest arguments go in PYTEST_ARGS.
TEST_WORKERS ?= 2
PYTEST_ARGS ?=
BENCH_ARGS ?=
DEVSTACK := $(PY) -m symphony_common.devstack
PYTEST_XDIST := -n $(TEST_WORKERS) --dist loadgroup

.PHONY: help
help: ## Show this help
	@echo "Usage: make <target>   (DATABASE_URL / REDIS_URL are used when set, else private servers under .data/)"
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# Reinstall only when the pinned requirements or a workspace member's metadata change.
$(STAMP): requirements/bootstrap.txt requirements/dev.txt pyproject.toml $(addsuffix /pyproject.toml,$(WORKSPACE))
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Python 3.11+ is required (set PYTHON=python3.x)"; exit 1; }
	[[ -x $(PY) ]] || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --require-hashes -r requirements/bootstrap.txt
	$(UV) pip install --python $(PY) --require-hashes -r requirements/dev.txt
	$(UV) pip install --python $(PY) --no-deps $(addprefix -e ,$(WORKSPACE))
	touch $@

# The analytics ingest fast path, a C extension built in place (the editable install imports
# it from the source tree; a wheel gets its own from the same hatch_build.py). Without a C
# compiler the service runs on its Python path, slower; SYMPHONY_REQUIRE_NATIVE=1 (CI) makes
# that an error.
NATIVE_SRC := services/analytics/src/symphony_analytics/_fastingest.c
NATIVE := $(NATIVE_SRC:.c=.so)
$(NATIVE): $(NATIVE_SRC) | $(STAMP)
	@$(PY) services/analytics/hatch_build.py $< $@

.PHONY: install
install: $(STAMP) $(NATIVE) ## Create .venv and install the pinned dependencies and the workspace

.PHONY: run
run: $(STAMP) $(NATIVE) ## Run every service and the gateway locally (Ctrl-C stops all)
	$(DEVSTACK) run

.PHONY: test
test: $(STAMP) $(NATIVE) ## Run the whole test suite (unit, contract, integration, e2e)
	$(DEVSTACK) test -- $(PYTEST_XDIST) $(PYTEST_ARGS)

.PHONY: test-fast
test-fast: $(STAMP) $(NATIVE) ## Run the tests that start no service processes (not e2e)
	$(DEVSTACK) test -- $(PYTEST_XDIST) -m "not e2e" $(PYTEST_ARGS)

.PHONY: lint
lint: $(STAMP) ## ruff, ruff format --check, mypy, buf lint/format, generated-code drift, chart
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy $(MYPY_PATHS)
	scripts/protos.sh lint
	scripts/protos.sh check
	@if [[ -f helm/symphony/Chart.yaml ]]; then $(MAKE) --no-print-directory chart; fi

.PHONY: chart
chart: $(STAMP) ## Render and validate the Helm chart offline (scripts/chart.sh)
	@if [[ -f scripts/chart.sh ]]; then bash scripts/chart.sh; \
	else echo "scripts/chart.sh not present yet; skipping chart checks"; fi

.PHONY: format
format: $(STAMP) ## Fix what ruff can and format the code and the protos
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
	scripts/protos.sh format

.PHONY: docs
docs: $(STAMP) ## Regenerate the README's table of environment variables from the settings classes
	$(PY) -m symphony_common.settings_doc --write README.md

.PHONY: protos
protos: $(STAMP) ## Regenerate the Python code from protos/
	scripts/protos.sh generate

.PHONY: migrate
migrate: $(STAMP) ## Migrate every service's schema (DATABASE_URL or the private server)
	$(DEVSTACK) migrate

.PHONY: bench
bench: $(STAMP) $(NATIVE) ## Run the benchmarks (BENCH_ARGS picks scenarios); prints the table, writes bench/results/*.json
	@command -v h2load >/dev/null || { echo "installing the load generator (nghttp2-client)"; apt-get install -y -qq nghttp2-client >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq nghttp2-client; }; }
	$(DEVSTACK) exec -- $(PY) -m bench $(BENCH_ARGS)

.PHONY: requirements
requirements: $(STAMP) ## Re-lock and re-export requirements/ (then `make install` picks them up)
	$(UV) lock
	$(UV) export --format requirements-txt --all-groups --no-emit-workspace --no-header \
		-o requirements/dev.txt
	$(UV) pip compile --generate-hashes --no-header requirements/bootstrap.in \
		-o requirements/bootstrap.txt

.PHONY: down
down: ## Stop private PostgreSQL/Redis that a killed `make run` left under .data/
	@if [[ -x $(PY) ]]; then $(DEVSTACK) down; fi

.PHONY: clean
clean: ## Remove caches and build output (keeps .venv and .data)
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist
	find . -path ./.venv -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

.PHONY: distclean
distclean: down clean ## Also remove .venv and the private data in .data/
	rm -rf $(VENV) .data
