# Prisma Workbench. `make run` serves the demo; `make test` runs every test.
# Needs only a Python >= 3.12 (found by scripts/find-python; override with PYTHON=...).

VENV    := .venv
PY      := $(VENV)/bin/python
INSTALL := scripts/install-requirements $(PY)
HOST    ?= 127.0.0.1
PORT    ?= 8000

.PHONY: run test bench lint venv deps dev-deps bench-deps clean

## Create the virtual environment with a Python >= 3.12 (recreated if it is older).
venv: $(VENV)/.python-ok
$(VENV)/.python-ok:
	@if [ -x $(PY) ] && ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then \
		echo "$(VENV) uses a Python older than 3.12: recreating it"; rm -rf $(VENV); fi
	@if [ ! -x $(PY) ]; then \
		interpreter=$$(PYTHON="$(PYTHON)" scripts/find-python) || exit 1; \
		echo "Creating $(VENV) with $$interpreter"; \
		"$$interpreter" -m venv $(VENV) || exit 1; \
	fi
	@touch $@

deps: $(VENV)/.deps
$(VENV)/.deps: $(VENV)/.python-ok requirements.txt
	@echo "==> Installing the Python packages into $(VENV)/ (first run only: seconds with uv, a minute with pip)"
	@$(INSTALL) requirements.txt
	@touch $@

dev-deps: $(VENV)/.dev-deps
$(VENV)/.dev-deps: $(VENV)/.deps requirements-dev.txt
	@$(INSTALL) requirements-dev.txt
	@touch $@

## Install, migrate, load the demo review and serve it on http://$(HOST):$(PORT) (SQLite, DEBUG on),
## with the background worker that runs large imports beside it (`run_worker --supervise`: it
## reconnects after a database restart and is started again if it dies).
run: deps
	@echo "==> Creating or updating the SQLite database (db.sqlite3), then loading the demo reviews"
	@DEBUG=true $(PY) manage.py load_demo --migrate
	@echo ""
	@echo "Open http://$(HOST):$(PORT)/ and log in with one of the accounts above."
	@echo ""
	@DEBUG=true nice -n 19 $(PY) manage.py run_worker --supervise --queue-name '*' --no-reload & worker=$$!; \
		trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
		DEBUG=true $(PY) manage.py runserver $(HOST):$(PORT)

## Run the whole test suite (SQLite by default; PostgreSQL when DATABASE_URL points there).
test: dev-deps
	$(PY) -m pytest $(PYTEST_ARGS)

bench-deps: $(VENV)/.bench-deps
$(VENV)/.bench-deps: $(VENV)/.dev-deps requirements-bench.txt
	@$(INSTALL) requirements-bench.txt
	@touch $@

## Run the benchmarks in bench/ and print their tables (BENCH="name ..." picks some).
bench: bench-deps
	DEBUG=true $(PY) -m bench $(BENCH)

lint: dev-deps
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
