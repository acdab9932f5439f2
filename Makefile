# The two entry points of the README: `make run` and `make test`.
# Everything is installed into ./.venv from uv.lock (nothing needed beyond python3), and for the
# tests the graphql-ws client and puppeteer-core into tests/js/node_modules from its
# package-lock.json (node, npm), and Debian's Chromium (as root: apt-get).
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint typecheck pytest pytest-embedded bench schema install browser promtool \
	clean-data vendor-graphiql

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

$(BIN)/spirit-tours: pyproject.toml uv.lock | $(UV)
	UV_PYTHON_DOWNLOADS=never $(UV) sync --locked --extra embedded --python $(PYTHON)
	touch $@

JS := tests/js

# The reference graphql-ws client (Apollo's and urql's), which tests/test_graphql_ws_client.py
# runs against the live server; `npm ci` installs exactly package-lock.json.
$(JS)/node_modules/.package-lock.json: $(JS)/package.json $(JS)/package-lock.json
	@command -v node >/dev/null && command -v npm >/dev/null || { \
		echo "make install: node (>= 20) and npm are needed for the tests' graphql-ws client" \
			"(tests/js); install Node.js 20 or later, e.g. apt-get install nodejs npm" >&2; exit 1; }
	@node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' || { \
		echo "make install: node $$(node --version) is too old; tests/js needs node >= 20" >&2; \
		exit 1; }
	cd $(JS) && npm ci --no-audit --no-fund
	touch $@

# The browser tests/test_graphiql_browser.py drives (puppeteer-core, from tests/js): Debian's
# package `chromium`, installed when missing and this runs as root (CI); otherwise say how.
# SPIRIT_TEST_CHROMIUM names another Chromium or Chrome binary instead.
browser:
	@command -v chromium >/dev/null || [ -n "$$SPIRIT_TEST_CHROMIUM" ] || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "make install: installing Debian's chromium (the GraphiQL browser test)"; \
			export DEBIAN_FRONTEND=noninteractive; \
			apt-get install -y -q chromium >/dev/null 2>&1 || \
				{ apt-get update -q && apt-get install -y -q chromium; }; \
		else \
			echo "make install: the GraphiQL browser test needs Chromium: sudo apt-get" \
				"install chromium (or set SPIRIT_TEST_CHROMIUM to a Chromium binary)" >&2; \
			exit 1; \
		fi; }

install: $(BIN)/spirit-tours $(JS)/node_modules/.package-lock.json browser

# promtool, which checks deploy/prometheus in the tests (tests/test_deploy_monitoring.py): from
# Debian's prometheus package, installed here when missing if we are root (CI is); otherwise
# this says what to install. Its own target: `make install` needs no root.
promtool:
	@command -v promtool >/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "make promtool: installing Debian's prometheus package (promtool)"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -qq --no-install-recommends prometheus >/dev/null; \
		else \
			echo "make promtool: promtool is missing; the tests of deploy/prometheus need it:" \
				"install Debian's prometheus package (sudo apt-get install prometheus)" >&2; \
			exit 1; \
		fi; }
	@promtool --version 2>&1 | head -1

## Run the demo: development mode (generated secrets kept in .spirit-tours/, the offline payment
## gateway), demo data, embedded PostgreSQL and Redis unless SPIRIT_DATABASE_URL / SPIRIT_REDIS_URL are set.
run: $(BIN)/spirit-tours
	$(BIN)/spirit-tours serve --demo $(RUN_ARGS)

## Lint (with the layer contract of docs/architecture.md), type-check, run the whole test suite
## and its embedded-server part: side by side (make -j),
## each one's output printed whole as it ends; `make test` fails if any of them fails.
test: install
	$(MAKE) --no-print-directory -j4 --output-sync=target lint typecheck pytest pytest-embedded

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports  # imports point down the layers, no cycles (docs/architecture.md)

typecheck: install
	$(BIN)/mypy

# The suite in parallel processes (pytest-xdist), each with a database and a Redis database of its
# own (tests/conftest.py); mostly waiting on servers, so more processes than the machine's 2 cores.
# The files with slow tests (marked `slow`: subprocesses, embedded servers, Redis restarts) come
# first and are handed out two tests at a time (--maxschedchunk 2; by default xdist gives the
# first quarter of the list to one worker in a block, which then ran every slow test alone).
PYTEST_WORKERS ?= 4
pytest: install promtool
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist load --maxschedchunk 2 $(PYTEST_ARGS)

# Sign-in and its throttle, live updates, e-mail delivery and the migrations, once more on the
# embedded servers `make run` uses (Valkey 8.1, PostgreSQL 18) in a temporary folder: the suite
# otherwise runs on the machine's servers, and the two must not drift apart.
# (The 5,000-message priority test is left to the main run: it measures throughput, not servers;
# test_embedded_redis too: it starts an embedded Valkey of its own in the main run already.)
EMBEDDED_TESTS := tests/test_auth.py tests/test_password_reset.py \
	tests/test_live.py tests/test_websocket.py tests/test_email_delivery.py tests/test_migrations.py \
	--deselect tests/test_email_delivery.py::test_5000_bulk_messages_never_delay_a_high_message

pytest-embedded: install
	SPIRIT_TEST_EMBEDDED=1 $(BIN)/pytest $(EMBEDDED_TESTS) $(PYTEST_ARGS)

## Rewrite schema.graphql (and docs/api/guarded-fields.md) from the running schema.
schema: install
	$(BIN)/spirit-tours export-schema > schema.graphql
	$(BIN)/spirit-tours export-schema --guards > docs/api/guarded-fields.md

## Run the benchmarks (they print figures beside a baseline measured in the same run).
bench: install
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

## Download GraphiQL's pinned npm files into spirit_tours/graphiql/vendor (committed; the server
## and the tests never download them) and record their SHA-384 in its manifest.json.
vendor-graphiql: $(BIN)/spirit-tours
	$(BIN)/python scripts/vendor_graphiql.py

clean-data:
	rm -rf .spirit-tours
