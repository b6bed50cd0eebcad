# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-shifted lint e2e fuzz fuzz-deep client-check integration bench bench-quick clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet ".[dev]"
	touch $(STAMP)

# The embedded default is a developer's machine: DEBUG on unless the environment says otherwise.
run: export DEBUG ?= 1
run: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py serve --host 127.0.0.1 --port 8000

test: $(STAMP)
	$(BIN)/pytest -q -m "not integration and not e2e and not fuzz and not client_check" --cov --cov-report=term:skip-covered --cov-fail-under=85

# The same suite started at another instant (tests/conftest.py reads IOP_TEST_NOW): by
# default 23:30 on 31 October in New York, already 1 November in UTC, the night the clocks
# go back. Anything that takes "today" from UTC instead of the patient's zone fails here.
TEST_NOW ?= 2026-11-01T03:30:00Z
test-shifted: $(STAMP)
	IOP_TEST_NOW=$(TEST_NOW) $(BIN)/pytest -q -m "not integration and not e2e and not fuzz and not client_check" -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	SECRET_KEY=$${SECRET_KEY:-lint-only-not-a-secret} $(BIN)/mypy .
	$(BIN)/lint-imports

e2e: $(STAMP)
	$(BIN)/pytest -q -m e2e tests/e2e

fuzz: $(STAMP)
	$(BIN)/pytest -q -m fuzz tests/fuzz

# The same run, deeper and strict: 50 cases per operation (each sent as every role), every
# schemathesis check (`--checks all`), valid and invalid data. Tens of minutes on a small
# machine; not part of .ci/run.
fuzz-deep: $(STAMP)
	IOP_FUZZ_EXAMPLES=50 IOP_FUZZ_CHECKS=all $(BIN)/pytest -q -m fuzz tests/fuzz

# The mobile developer's contract: generate a client from the served schema with
# openapi-python-client (no generator warning allowed) and walk a patient's day through it
# alone; an untyped field the walkthrough touches fails it.
CLIENT_DIR := .client
client-check: $(STAMP)
	$(BIN)/python -W ignore -m tests.contract.generate_client $(CLIENT_DIR)
	IOP_CLIENT_DIR=$(CLIENT_DIR) $(BIN)/pytest -q -m client_check tests/contract

integration: $(STAMP)
	$(BIN)/pytest -q -m integration tests/integration

bench: $(STAMP)
	$(BIN)/python -m bench

bench-quick: $(STAMP)
	$(BIN)/python -m bench --quick

clean:
	rm -rf $(VENV) db.sqlite3 $(CLIENT_DIR)
