# The two commands of the README: `make run` and `make test`. Everything else is set-up.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PORT ?= 8000

.PHONY: run run-sso test lint chromium bench fuzz chaos soak screenshots clean

# requirements.lock pins what the console runs on (the Dockerfile installs exactly it);
# requirements-test.lock pins the test tools on top.
$(STAMP): pyproject.toml requirements.lock requirements-test.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements.lock -c requirements-test.lock -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	PORT=$(PORT) $(PY) manage.py console_run

# `make run` with sign-in through a local OpenID provider (the one the tests use).
run-sso: $(STAMP)
	PORT=$(PORT) $(PY) -m tests.oidc_provider.run_sso

chromium:
	@test -x /usr/bin/chromium || { \
	  echo "Installing Chromium from Debian's packages for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium; }

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy --strict drgero_client
	$(VENV)/bin/mypy console
	$(VENV)/bin/hadolint --failure-threshold warning Dockerfile

test: $(STAMP) chromium lint
	$(VENV)/bin/pytest

wrk:
	@command -v wrk >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq wrk; }

bench: $(STAMP) wrk
	$(PY) -m bench.run

# 10,000 examples per property-based target, and 1,000 chaos operations; each writes its
# section of docs/benchmarks.md. `make test` runs both with a budget that fits.
fuzz: $(STAMP)
	$(PY) -m bench.fuzz

chaos: $(STAMP)
	$(PY) -m bench.chaos

# The deployment a team runs (PostgreSQL, Redis, two web replicas behind a proxy, two workers)
# under faults for SOAK_MINUTES (10), with kills; its figures go into docs/benchmarks.md.
# Needs PostgreSQL on 127.0.0.1 (SOAK_DATABASE_URL) and redis-server on the PATH.
soak: $(STAMP)
	$(PY) -m bench.soak

screenshots: $(STAMP) chromium
	$(PY) docs/make_screenshots.py

clean:
	rm -rf $(VENV) var/test-* staticfiles
