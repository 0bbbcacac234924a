# Hadar: the two commands are `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test setup fonts services services-stop lint unit test-sqlite test-postgres bench clean

$(VENV)/.installed: pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

setup: $(VENV)/.installed fonts

# The invoice PDF draws Arabic with DejaVu Sans (Debian's fonts-dejavu-core); nothing is
# downloaded at run time, so the font is installed here when it is missing.
FONT := /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
fonts:
	@test -f $(FONT) || \
	  { command -v apt-get >/dev/null && apt-get update -q >/dev/null && \
	    apt-get install -y -q --no-install-recommends fonts-dejavu-core >/dev/null; } || \
	  echo "warning: install fonts-dejavu-core for invoice PDFs"

# Set up, migrate, create the demo workspace, print a test key, serve on SQLite.
run: setup
	$(BIN)/hadar migrate
	@TOKEN=$$($(BIN)/hadar demo) && \
	  echo "" && \
	  echo "Demo workspace ready. Test key (role admin, environment test):" && \
	  echo "" && echo "    $$TOKEN" && echo "" && \
	  echo "Try:  curl -H \"Authorization: Bearer $$TOKEN\" http://$(HOST):$(PORT)/api/v1/leads" && \
	  echo "GraphiQL: http://$(HOST):$(PORT)/graphql    API docs: http://$(HOST):$(PORT)/developers/api-docs" && \
	  echo ""
	$(BIN)/hadar serve --host $(HOST) --port $(PORT)

services: setup
	scripts/services.sh start
	scripts/ensure-chromium.sh

services-stop:
	scripts/services.sh stop

lint: setup
	$(BIN)/ruff check hadar tests bench migrations
	$(BIN)/ruff format --check hadar tests bench
	$(BIN)/mypy hadar
	$(BIN)/lint-imports --no-cache

test-sqlite: services
	eval "$$(scripts/services.sh env)" && unset HADAR_TEST_DATABASE_URL && $(BIN)/pytest -q

test-postgres: services
	eval "$$(scripts/services.sh env)" && $(BIN)/pytest -q

# Set up, start Redis and PostgreSQL, run everything: lint, the suite on SQLite, then on PostgreSQL.
# The first pass runs on SQLite (HADAR_TEST_DATABASE_URL unset; tests that need PostgreSQL's
# concurrency say so and skip there), the second on PostgreSQL; both use the real Redis.
test: setup services lint
	eval "$$(scripts/services.sh env)" && unset HADAR_TEST_DATABASE_URL && $(BIN)/pytest -q
	eval "$$(scripts/services.sh env)" && $(BIN)/pytest -q

# Every benchmark in bench/ in turn (bench/run.py), on SQLite and on the services' PostgreSQL.
bench: setup services
	eval "$$(scripts/services.sh env)" && $(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .services hadar.db hadar.db-wal hadar.db-shm
