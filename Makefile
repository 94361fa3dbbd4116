# capitulation: two commands for a newcomer.
#   make report   build .venv from the lock file, then report on the recorded real data (no network)
#   make test     ruff + pytest in the same venv
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DATA   ?= $(firstword $(wildcard ../shared/data))
STAMP  := $(VENV)/.installed

.PHONY: report test lint venv lock bench clean

$(STAMP): requirements/lock.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements/lock.txt
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip check
	touch $(STAMP)

venv: $(STAMP)

report: $(STAMP)
	$(BIN)/capitulation report $(if $(DATA),--data $(DATA),)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

test: lint
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

# Re-resolve the lock for the whole stack (needs uv: pip install uv).
lock:
	uv pip compile pyproject.toml --extra dev --extra bench --python-version 3.11 --generate-hashes -o requirements/lock.txt

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
