# vigichem: two commands on a fresh machine — `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ACCEL := $(VENV)/.accel
ACCEL_SOURCES := src/vigichem/ledger/hashid.py src/vigichem/ledger/digital_link.py src/vigichem/ledger/accel_build.py

.PHONY: demo test lint typecheck pytest bench clean accel

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The compiled copy of the CBV hash ID (mypyc; optional: without a C compiler vigichem runs pure Python,
# and a copy built from other sources is never used). Rebuilt when its sources change.
$(ACCEL): $(STAMP) $(ACCEL_SOURCES)
	$(BIN)/python -m vigichem.ledger.accel_build || true
	touch $(ACCEL)

accel: $(ACCEL)

demo: $(ACCEL)
	$(BIN)/vigichem demo

test: $(ACCEL) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy src/vigichem

pytest: $(ACCEL)
	$(BIN)/pytest -q

# The screening benchmark reads the MOSES molecule set shipped in the `molsets` package; its metadata pins
# torch and an old pomegranate that the benchmark never imports, hence --no-deps.
bench: $(ACCEL)
	$(BIN)/pip install --quiet --no-deps molsets==0.3.1
	$(BIN)/python benchmarks/bench_screen.py
	$(BIN)/python benchmarks/bench_ledger_core.py
	$(BIN)/python benchmarks/bench_ledger.py --events 100000
	$(BIN)/python benchmarks/bench_balance.py --events 1000000
	$(BIN)/python benchmarks/bench_api.py

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache .pytest_cache
