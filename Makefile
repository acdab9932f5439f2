# The two entry points of the README: `make run` and `make test`.
# Everything is installed into ./.venv from uv.lock; nothing is needed beyond python3.
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint typecheck pytest bench schema install clean-data

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

$(BIN)/spirit-tours: pyproject.toml uv.lock | $(UV)
	UV_PYTHON_DOWNLOADS=never $(UV) sync --locked --python $(PYTHON)
	touch $@

install: $(BIN)/spirit-tours

## Run the demo: development mode (generated secrets kept in .spirit-tours/, the offline payment
## gateway), demo data, embedded PostgreSQL and Redis unless SPIRIT_DATABASE_URL / SPIRIT_REDIS_URL are set.
run: install
	$(BIN)/spirit-tours serve --demo $(RUN_ARGS)

## Lint, type-check and run the whole test suite.
test: install lint typecheck pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest $(PYTEST_ARGS)

## Rewrite schema.graphql from the running schema.
schema: install
	$(BIN)/spirit-tours export-schema > schema.graphql

## Run the benchmarks (they print figures beside a baseline measured in the same run).
bench: install
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean-data:
	rm -rf .spirit-tours
