# Voltlane: the two commands a newcomer needs are `make run` and `make test`.
# Both bootstrap .venv from uv.lock first; nothing else has to be installed.

PYTHON ?= python3
UV_VERSION := 0.13.8
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.voltlane-synced

.PHONY: run test lint typecheck contracts unit e2e bench bench-ocpp messages lock clean venv

venv: $(STAMP)

$(STAMP): uv.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	@$(BIN)/uv sync --frozen --quiet
	@touch $@

## Start the whole platform with the demo brands (private PostgreSQL unless DATABASE_URL is set).
run: $(STAMP)
	@VOLTLANE_EXIT_WITH_PARENT=1 $(BIN)/voltlane run

## Everything CI checks: lint, types, layer contracts, unit + integration tests, e2e in Chromium.
test: lint typecheck contracts unit e2e

lint: $(STAMP)
	$(BIN)/ruff check src tests e2e bench migrations themes
	$(BIN)/ruff format --check src tests e2e bench migrations themes

typecheck: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports

unit: $(STAMP)
	$(BIN)/pytest tests

e2e: $(STAMP)
	$(BIN)/pytest e2e

bench: $(STAMP)
	$(BIN)/python -m bench

## One OCPP gateway process under N stations (boot storm, idle, sustained rate, lost rows).
## Full size: make bench-ocpp OCPP_BENCH="--stations 10000 --rate 2000 --duration 60"
bench-ocpp: $(STAMP)
	$(BIN)/python -m bench.ocpp_load $(OCPP_BENCH)

## Extract the web pages' strings into the German and French catalogs (translate, commit).
LOCALES := src/voltlane/web/locale
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k N_plural:1,2 --no-location --sort-output \
		--project Voltlane -o $(LOCALES)/messages.pot .
	for lang in de fr; do \
		if test -f $(LOCALES)/$$lang/LC_MESSAGES/messages.po; then \
			$(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete -w 100 -l $$lang -i $(LOCALES)/messages.pot -d $(LOCALES); \
		else $(BIN)/pybabel init -l $$lang -i $(LOCALES)/messages.pot -d $(LOCALES); fi; \
	done

lock: $(STAMP)
	$(BIN)/uv lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache test-artifacts
