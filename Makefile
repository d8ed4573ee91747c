# Both targets do all set-up on a fresh machine: create .venv, install, then run.
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
SHARED_DATA := ../shared/data/aclImdb.tar.gz
# The shared copy of IMDB when present; otherwise the tool downloads the canonical archive.
DATA ?= $(wildcard $(SHARED_DATA))
PRESET ?=

# The browser tests drive Debian's Chromium (Playwright cannot download its own here).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint audit

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

run: $(INSTALLED)
	$(BIN)/gru-sentiment train $(if $(PRESET),--preset $(PRESET)) $(if $(DATA),--data $(DATA))

$(CHROMIUM):
	$(SUDO) apt-get install -y -q chromium || ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium)

test: $(INSTALLED) $(CHROMIUM)
	$(BIN)/lint-imports
	$(BIN)/bandit -q -r src
	# Two workers: most of a tiny test's time is single-threaded Python (tracing, imports,
	# servers); a file stays on one worker, so its module fixtures are made once.
	$(BIN)/python -m pytest -n 2 --dist loadfile
	# The `backend` subset again on Keras' JAX backend (train, resume, predict, explain, serve, LM)
	KERAS_BACKEND=jax $(BIN)/python -m pytest -m backend -q -n 2 --dist loadfile

lint: $(INSTALLED)
	$(BIN)/ruff check src tests bench notebooks
	$(BIN)/lint-imports
	$(BIN)/bandit -q -r src

# Known vulnerabilities in the installed dependencies; needs the network (PyPI's database).
audit: $(INSTALLED)
	$(BIN)/pip-audit --skip-editable
