# Two commands matter: `make demo` (the service on a demo fund, SQLite) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install lock lock-check migrations-check demo serve test test-fast lint typecheck pytest bench catalogs clean

# uv itself comes from a pinned, hashed requirement into its own small venv (.uv/); the project's
# venv then holds exactly what uv.lock says (`uv sync --frozen`: the lock as committed, never re-solved).
UV_VENV ?= .uv
UV := $(UV_VENV)/bin/uv
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))
export UV_PYTHON_DOWNLOADS := never

$(UV): tools/uv-requirements.txt
	$(PYTHON) -c 'import sys; sys.exit("fundledger needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(UV_VENV)
	$(UV_VENV)/bin/python -m pip install --quiet --require-hashes --no-deps -r tools/uv-requirements.txt
	touch $(UV)

$(STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --extra dev --python $(PYTHON) --quiet
	touch $(STAMP)

install: $(STAMP)

# Moves every locked package to its newest release allowed by pyproject.toml (README: Upgrading).
lock: $(UV)
	$(UV) lock --upgrade --python $(PYTHON)

# Fails when pyproject.toml and uv.lock disagree (a dependency added without `make lock`).
lock-check: $(UV)
	$(UV) lock --check --python $(PYTHON)

# The tables the code declares (ledger/store/tables.py) against what the migrations build:
# `alembic check` on a fresh database (SQLite here; .ci/run passes a PostgreSQL one too).
MIGRATIONS_DB ?= sqlite:///$(abspath .migrations-check.db)
migrations-check: install
	rm -f .migrations-check.db
	FUNDLEDGER_DATABASE_URL=$(MIGRATIONS_DB) $(BIN)/alembic upgrade head
	FUNDLEDGER_DATABASE_URL=$(MIGRATIONS_DB) $(BIN)/alembic check
	rm -f .migrations-check.db

demo: install
	$(BIN)/fundledger demo --serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

# One worker per core (pytest-xdist); each worker gets its own PostgreSQL database. The browser
# tests run in a pytest run of their own: Playwright keeps an event loop running in the process,
# which code that starts its own (pyHanko's signing, anyio.run) cannot share.
pytest: install
	$(BIN)/pytest -n auto --ignore=tests/e2e
	$(BIN)/pytest -n auto tests/e2e

test: lock-check lint typecheck migrations-check pytest

# A quick local check (docs/testing.md): unit and property tests on SQLite only, with the fast
# Hypothesis profile. Not a substitute for `make test`: no integration, API or PostgreSQL tests.
test-fast: install
	HYPOTHESIS_PROFILE=fast $(BIN)/pytest -n auto -q -m "not postgres" tests/unit tests/property

# Each document catalog's review state and completeness, then a check that fails on anything
# missing, stale or broken: the beneficiaries' documents, then the monthly report (staff only).
catalogs: install
	$(BIN)/python -m ledger.documents.catalogs status
	$(BIN)/python -m ledger.documents.catalogs --domain reminders status
	$(BIN)/python -m ledger.documents.catalogs --domain report status
	$(BIN)/python -m ledger.documents.catalogs check
	$(BIN)/python -m ledger.documents.catalogs --domain reminders check
	$(BIN)/python -m ledger.documents.catalogs --domain report check

bench: install
	$(BIN)/python -m bench.postings

clean:
	rm -rf $(VENV) $(UV_VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis demo
