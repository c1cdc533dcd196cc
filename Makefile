# Two commands for a newcomer: `make run` and `make test`.
# The virtual environment is (re)installed only when pyproject.toml changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run serve test lint check messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $(VENV)/.installed $@

# Links in emails follow the address served (`make run PORT=8201`), unless SITE_URL is set.
run: export SITE_URL ?= http://$(HOST):$(PORT)
run: $(VENV)/.installed
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py seed_demo --once
	@echo ""
	@echo "  Partage is running on http://$(HOST):$(PORT)/"
	@echo "  Demo logins: alice@example.com / partage-demo   bob@example.com / partage-demo"
	@echo "  Stop with Ctrl+C."
	@echo ""
	DEBUG=$${DEBUG:-true} $(BIN)/daphne -b $(HOST) -p $(PORT) config.asgi:application

# The production topology on this machine (deploy/serve.py): nginx on PORT (8080),
# gunicorn for HTTP, two daphne workers for websockets, against DATABASE_URL and
# REDIS_URL (both required). Ctrl+C stops everything.
# (PORT from the command line or the environment, else 8080: `make run` keeps 8000.)
SERVE_PORT = $(if $(filter command line environment,$(origin PORT)),$(PORT),8080)
serve: export SITE_URL ?= http://$(HOST):$(SERVE_PORT)
serve: $(VENV)/.installed
	$(BIN)/python deploy/serve.py --port $(SERVE_PORT)

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run

messages: $(VENV)/.installed-dev
	$(BIN)/python manage.py makemessages -l fr --no-obsolete --ignore=.venv --ignore=tests --ignore=bench --ignore=staticfiles --ignore=test-results
	$(BIN)/python manage.py makemessages -d djangojs -l fr --no-obsolete --ignore=.venv --ignore=staticfiles
	$(BIN)/python manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) staticfiles test-results
