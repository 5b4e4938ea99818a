# Two commands set everything up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
# The suite runs in this many processes (pytest-xdist), each with its own test database;
# TEST_WORKERS=0 runs it in one.
TEST_WORKERS ?= 2

.PHONY: run test lint install install-dev messages migrate seed clean serve bench check-deploy

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

## messages: compile the translations (locale/*/LC_MESSAGES/*.po) into the .mo files Django
## reads; they are built here, never committed. Needs GNU gettext (msgfmt). Without a settings
## module compilemessages finds locale/ from here; hidden folders (.venv, .git) are skipped.
PO_FILES := $(wildcard locale/*/LC_MESSAGES/*.po)
## Without gettext, `make run` still serves, in English only, and says so.
locale/.compiled: $(PO_FILES) | $(VENV)/.installed
	@if command -v msgfmt >/dev/null 2>&1; then \
		DJANGO_SETTINGS_MODULE= $(BIN)/django-admin compilemessages --ignore='.*' --ignore=staticfiles --verbosity 0 && touch $@; \
	else \
		echo "GNU gettext (msgfmt) is missing: the pages speak English only until it is installed (apt-get install gettext) and 'make messages' runs." >&2; \
	fi
## DRF's Korean messages, which DRF ships as ko_KR, rebuilt as the site's ko (no gettext needed).
VENDORED_MO := build/locale/ko/LC_MESSAGES/django.mo
$(VENDORED_MO): tracker/vendored_locale.py | $(VENV)/.installed
	$(BIN)/python -m tracker.vendored_locale >/dev/null
messages: locale/.compiled $(VENDORED_MO)

install: $(VENV)/.installed locale/.compiled $(VENDORED_MO)
install-dev: $(VENV)/.installed-dev locale/.compiled $(VENDORED_MO)

## run: install, migrate the embedded SQLite database, load the seed data, create a login, serve
## with one webhook worker beside the server (it stops with the server)
run: export DJANGO_DEBUG ?= 1
run: install
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py load_seed
	$(BIN)/python manage.py bootstrap_login
	@echo "Serving on http://$(HOST):$(PORT)/ (admin: http://$(HOST):$(PORT)/admin/), with a webhook worker"
	$(BIN)/python manage.py deliver_webhooks & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

## test: the whole suite; SQLite by default, PostgreSQL when DATABASE_URL is set
test: install-dev
	$(BIN)/pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

## lint: ruff, Django's system checks, and no missing migrations
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DJANGO_SETTINGS_MODULE=tracker.settings_test $(BIN)/python manage.py check
	DJANGO_SETTINGS_MODULE=tracker.settings_test $(BIN)/python manage.py makemigrations --check --dry-run

## serve: production server: collectstatic, migrate, then gunicorn (gunicorn.conf.py) with
## WhiteNoise; needs DJANGO_SECRET_KEY and DATABASE_URL. With DATABASE_APP_URL (the application's
## role, docs/deploy.md) it migrates and grants as DATABASE_URL's role (the tables' owner), then
## serves as the application's role; without it, it migrates and serves as DATABASE_URL's role.
serve: install
	@test -n "$$DJANGO_SECRET_KEY" || { echo "make serve: set DJANGO_SECRET_KEY (a long random string) in the environment." >&2; exit 2; }
	@test -n "$$DATABASE_URL" || { echo "make serve: set DATABASE_URL, e.g. postgres://USER@HOST:5432/NAME." >&2; exit 2; }
	$(BIN)/python manage.py collectstatic --no-input --verbosity 0
	$(BIN)/python manage.py migrate --no-input
	@if [ -n "$$DATABASE_APP_URL" ]; then \
		$(BIN)/python manage.py grant_app_role && \
		DATABASE_URL="$$DATABASE_APP_URL" exec $(BIN)/gunicorn --config gunicorn.conf.py; \
	else \
		echo "make serve: serving as DATABASE_URL's role; set DATABASE_APP_URL to serve as a role that cannot rewrite history (docs/deploy.md)." >&2; \
		exec $(BIN)/gunicorn --config gunicorn.conf.py; \
	fi

## migrate: migrate the database (DATABASE_URL, else SQLite), the API's rate-limit counters' table
## included
migrate: install
	$(BIN)/python manage.py migrate --no-input

## bench: every benchmark against DATABASE_URL (PostgreSQL), seeded with BENCH_CASES cases;
## BENCH_ARGS passes more options to bench/run_all.py (e.g. --runs 5 --load-seconds 10)
BENCH_CASES ?= 1000
BENCH_ARGS ?=
bench: install-dev
	@test -n "$$DATABASE_URL" || { echo "make bench: set DATABASE_URL to a throwaway PostgreSQL database." >&2; exit 2; }
	$(BIN)/python bench/run_all.py --cases $(BENCH_CASES) $(BENCH_ARGS)

## check-deploy: Django's deployment checks with production variables; any warning fails
check-deploy: install
	DJANGO_DEBUG=0 DJANGO_SECRET_KEY="$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(60))')" \
	DJANGO_ALLOWED_HOSTS=tracker.example.org DJANGO_CSRF_TRUSTED_ORIGINS=https://tracker.example.org \
	DJANGO_LOG_LEVEL=WARNING DATABASE_URL=sqlite:////tmp/tracker-check-deploy.sqlite3 \
	$(BIN)/python manage.py check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* staticfiles .pytest_cache .ruff_cache locale/.compiled build
	find locale -name '*.mo' -delete
