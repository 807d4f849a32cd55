# vigichem: two commands on a fresh machine — `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/vigichem demo

test: $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy src/vigichem

pytest: $(STAMP)
	$(BIN)/pytest -q

# The screening benchmark reads the MOSES molecule set shipped in the `molsets` package; its metadata pins
# torch and an old pomegranate that the benchmark never imports, hence --no-deps.
bench: $(STAMP)
	$(BIN)/pip install --quiet --no-deps molsets==0.3.1
	$(BIN)/python benchmarks/bench_screen.py
	$(BIN)/python benchmarks/bench_ledger_core.py
	$(BIN)/python benchmarks/bench_ledger.py --events 100000
	$(BIN)/python benchmarks/bench_balance.py --events 1000000
	$(BIN)/python benchmarks/bench_api.py

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache .pytest_cache
