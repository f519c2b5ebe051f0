# The two commands: `make run` and `make test`. Everything else is what they need.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml setup.py | sha1sum | cut -c1-12)

.PHONY: run test lint format bench lock clean system-test-deps messages

$(STAMP): requirements.lock pyproject.toml setup.py
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed-*
	touch $@

run: $(STAMP)
	$(BIN)/slrt up

# System packages the tests need (Node.js for the oidc-provider test peer, Chromium for page
# tests, nginx/PgBouncer/shellcheck for tests/deploy, Debian 12's PostgreSQL 15 to check
# `slrt db create-roles` there; no cluster is created), installed with apt when missing; CI
# runs as root on Debian.
system-test-deps:
	@missing=""; \
	command -v node >/dev/null || missing="$$missing nodejs"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	for pkg in nginx pgbouncer shellcheck; do command -v $$pkg >/dev/null || test -x /usr/sbin/$$pkg || missing="$$missing $$pkg"; done; \
	command -v systemd-analyze >/dev/null || missing="$$missing systemd"; \
	if ! test -x /usr/lib/postgresql/15/bin/postgres && apt-cache show postgresql-15 >/dev/null 2>&1; then \
	  missing="$$missing postgresql-15"; \
	  mkdir -p /etc/postgresql-common/createcluster.d 2>/dev/null && \
	  echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/slrt-tests.conf 2>/dev/null || true; \
	fi; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "please install:$$missing"; exit 1; fi; \
	fi
	@if [ -f tests/peers/package.json ]; then \
	  cd tests/peers && { [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --silent --no-audit --no-fund; }; \
	fi

# Bring new page text into the catalogs (one per area; Indonesian is the message id, English the
# translation). It lists the entries still without English; a test fails while there are any.
messages: $(STAMP)
	$(BIN)/python -m slrt.platform.commands.messages

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: $(STAMP) system-test-deps lint
	$(BIN)/python -m pytest -n 2 --dist loadfile

bench: $(STAMP)
	$(BIN)/python -m slrt.platform.bench

# Re-pin every dependency (maintainers only; needs network access to the package index).
lock:
	$(BIN)/pip install --quiet uv==0.13.9
	$(BIN)/uv pip compile pyproject.toml --extra test --generate-hashes --python-version 3.11 \
	  --no-header -o requirements.lock

clean:
	rm -rf $(VENV)

# The runtime-only pins for deploy/Containerfile: the same versions as requirements.lock (used
# as constraints) without the test extra. Re-run after `make lock`; needs network access.
deploy-lock: $(STAMP)
	$(BIN)/pip install --quiet uv==0.13.9
	$(BIN)/uv pip compile pyproject.toml --constraint requirements.lock --generate-hashes \
	  --python-version 3.11 --no-header -o deploy/requirements-runtime.lock
