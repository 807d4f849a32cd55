"""Benchmark of ``vigichem balance`` over a large ledger: roll-up vs full SQL aggregation vs a naive loop.

The ledger is **synthetic** (invented sites, GTINs, lots and quantities; no real operator): ``--events``
events (default 1,000,000) written with bulk SQL straight into the storage engineer's tables
(``ledger_documents``, ``ledger_events``, ``ledger_quantities``, ``ledger_sources``) because going through
capture would take minutes; their hash IDs and leaf hashes are placeholders, so this ledger does not verify
(the capture and verify benchmarks are ``bench_ledger.py``'s). Event mix (about): 8 % production, 25 %
shipments with a destination, each followed by its receipt (97 % exact, 2 % short, 1 % never received),
20 % sales, 10 % transformations, 5 % disposals, 5 % stock counts, 1 % other steps; 40 sites, 25 products
× 8 lots.

Measured (wall-clock seconds, ``time.perf_counter``; "median" over ``--repeat`` runs):

* ``reference_lots_s`` (median of ``--reference-repeat`` runs, default ``--repeat``): the full SQL
  aggregation per site × epcClass × unit (with the last count and the book stock at the count) plus the
  mapping to products: what ``compute_balance(rollup=False)`` does without the transit pairing;
* ``reference_full_s`` (median, as many runs): ``compute_balance(rollup=False)`` (lots, substances,
  transit);
* ``rollup_initial_refresh_s`` and ``rollup_first_lots_s`` (one run each): the first balance after the bulk
  load, i.e. the roll-up of the whole ledger, then the lots read from the roll-up;
* ``rollup_lots_s`` (median): the lots from the roll-up when nothing new was captured (the refresh finds
  nothing to do);
* ``rollup_lots_after_1000_s`` (median): 1,000 more events are bulk-inserted before each run, which then
  rolls them up and reads the lots;
* ``rollup_full_s`` (median): the whole ``compute_balance`` (lots, substances, transit) from the roll-up
  when nothing new was captured;
* ``rollup_full_after_1000_s`` (median): 1,000 more events before each run, then the whole
  ``compute_balance`` (refresh, lots, substances, transit): what ``vigichem balance`` does;
  ``rollup_full_after_1000_cpu_s``: the benchmark process's CPU time of the same runs (``process_time``;
  PostgreSQL's server CPU is not in it); ``rollup_full_cpu_s`` the same with nothing new; every run of
  both (wall, CPU, load average after it) in ``rollup_full_runs`` and ``rollup_full_after_1000_runs``;
* ``final_reference_full_s`` (one run): ``compute_balance(rollup=False)`` again at the end, on the grown
  ledger, against which the last roll-up report is checked (``report_agrees``: same lots and substances to
  10⁻⁹ relative, the same transit issues exactly);
* ``naive_loop_s``: the baseline — fetch every (event, quantity) row and aggregate in a Python loop, as a
  straightforward implementation would; its figures are checked against the SQL ones
  (``naive_agrees``), and the roll-up's lots against the reference's (``rollup_agrees``).

Usage: ``python benchmarks/bench_balance.py [--events 1000000] [--repeat 3] [--reference-repeat N]
[--backend sqlite|postgresql] [--output FILE]``. PostgreSQL comes from ``VIGICHEM_TEST_POSTGRES_URL``
(its own schema, dropped after).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, insert, select, text

from vigichem.ledger.balance import _Catalogue as Catalogue
from vigichem.ledger.balance import compute_balance, lot_balances, withdrawn_hash_ids
from vigichem.ledger.balance_rollup import rollup_lot_rows
from vigichem.ledger.balance_sql import Filters, lot_rows
from vigichem.ledger.db import create_engine_from_url, documents, events, migrate, quantities, sources
from vigichem.ledger.gs1 import digital_link_class, gs1_check_digit
from vigichem.ledger.masterdata import MasterData
from vigichem.ledger.masterdata_models import Organisation, Product, Site
from vigichem.ledger.rollup import refresh_rollup

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SITES = 40
PRODUCTS = 25
LOTS = 8
START = dt.datetime(2025, 1, 1)
FAR_FUTURE = dt.datetime(2100, 1, 1)
APPENDED = 1_000
MIX = [
    ("production", 10),
    ("shipment", 33),  # each followed by its receipt (97 % exact, 2 % short, 1 % never received)
    ("sale", 26),
    ("use", 13),
    ("disposal", 7),
    ("count", 7),
    ("other", 1),
]


def _gtin(index: int) -> str:
    body = f"0952012{index:06d}"  # invented: GS1 example prefix 952
    return body + str(gs1_check_digit(body))


def _site(index: int) -> str:
    return f"urn:epc:id:sgln:9520123.{index:05d}.0"  # invented


def register_masterdata(engine: Engine) -> None:
    """Invented organisations, sites and products (composition given as benign water only: no screening)."""
    organisations = [Organisation(id=f"org{i}", name=f"Org {i} (synthetic)", country="FR") for i in range(4)]
    sites = [
        Site(id=f"site{i}", organisation=f"org{i % 4}", name=f"Site {i}", location=_site(i))
        for i in range(SITES)
    ]
    products = [Product(id=f"p{i}", name=f"Product {i} (synthetic)", gtin=_gtin(i)) for i in range(PRODUCTS)]
    MasterData(engine).register(organisations=organisations, sites=sites, products=products)


def generate(engine: Engine, count: int, seed: int = 7, first_seq: int = 0) -> dict[str, int]:
    """Bulk-insert ``count`` synthetic events, seqs from ``first_seq``; returns counts per step."""
    rng = random.Random(seed)
    steps = [name for name, weight in MIX for _ in range(weight)]
    classes = [digital_link_class(_gtin(p), f"LOT{lot}") for p in range(PRODUCTS) for lot in range(LOTS)]
    tally: dict[str, int] = defaultdict(int)
    batch = 50_000
    with engine.begin() as connection:
        document_id = connection.execute(
            insert(documents).returning(documents.c.id),
            {
                "epcis_document_id": f"synthetic-benchmark-{first_seq}",
                "received_at": START,
                "first_seq": first_seq,
                "event_count": count,
                "duplicate_count": 0,
                "context_json": "[]",
                "header_json": "{}",
            },
        ).scalar_one()
    event_rows: list[dict[str, Any]] = []
    quantity_rows: list[dict[str, Any]] = []
    source_rows: list[dict[str, Any]] = []

    def flush() -> None:
        with engine.begin() as connection:
            connection.execute(insert(events), event_rows)
            connection.execute(insert(quantities), quantity_rows)
            if source_rows:
                connection.execute(insert(sources), source_rows)
        event_rows.clear()
        quantity_rows.clear()
        source_rows.clear()

    seq = first_seq
    end = first_seq + count
    while seq < end:
        step = rng.choice(steps)
        site = _site(rng.randrange(SITES))
        epc_class = rng.choice(classes)
        qty = float(rng.randrange(2, 500))
        _emit(event_rows, quantity_rows, tally, seq, step, site, epc_class, qty, document_id)
        if step == "use":
            quantity_rows.append(_quantity(seq, "output", 0, rng.choice(classes), qty * 0.9))
        if step == "shipment":
            destination = _site(rng.randrange(SITES))
            source_rows.append(
                {"seq": seq, "kind": "destination", "ordinal": 0, "type": "location", "id": destination}
            )
            fate = rng.random()
            if fate < 0.99 and seq + 1 < end:
                seq += 1
                received = qty if fate < 0.97 else qty - 1
                _emit(
                    event_rows,
                    quantity_rows,
                    tally,
                    seq,
                    "receipt",
                    destination,
                    epc_class,
                    received,
                    document_id,
                )
        seq += 1
        if len(event_rows) >= batch:
            flush()
    if event_rows:
        flush()
    return dict(tally)


_STEPS = {
    "production": ("ObjectEvent", "ADD", "commissioning"),
    "shipment": ("ObjectEvent", "OBSERVE", "shipping"),
    "receipt": ("ObjectEvent", "OBSERVE", "receiving"),
    "sale": ("ObjectEvent", "OBSERVE", "retail_selling"),
    "use": ("TransformationEvent", None, None),
    "disposal": ("ObjectEvent", "DELETE", "destroying"),
    "count": ("ObjectEvent", "OBSERVE", "cycle_counting"),
    "other": ("ObjectEvent", "OBSERVE", "inspecting"),
}


def _emit(
    event_rows: list[dict[str, Any]],
    quantity_rows: list[dict[str, Any]],
    tally: dict[str, int],
    seq: int,
    step: str,
    site: str,
    epc_class: str,
    qty: float,
    document_id: int,
) -> None:
    tally[step] += 1
    event_type, action, biz_step = _STEPS[step]
    moment = START + dt.timedelta(seconds=seq * 30)
    event_rows.append(
        {
            "seq": seq,
            "hash_id": f"ni:///sha-256;synthetic-{seq:012d}?ver=CBV2.0",
            "event_type": event_type,
            "action": action,
            "event_time": moment,
            "event_time_offset": "+00:00",
            "record_time": moment,
            "biz_step": biz_step,
            "disposition": None,
            "read_point": site,
            "biz_location": site,
            "party_ref": None,
            "error_declaration": False,
            "document_id": document_id,
            "document_index": seq,
            "event_json": "{}",
            "leaf_hash": b"\0" * 32,
        }
    )
    quantity_rows.append(
        _quantity(seq, "quantity" if event_type == "ObjectEvent" else "input", 0, epc_class, qty)
    )


def _quantity(seq: int, role: str, ordinal: int, epc_class: str, qty: float) -> dict[str, Any]:
    return {
        "seq": seq,
        "role": role,
        "ordinal": ordinal,
        "epc_class": epc_class,
        "quantity": qty,
        "uom": "KGM",
        "base_quantity": qty,
        "base_unit": "kg",
    }


def naive_balance(engine: Engine) -> dict[tuple[str, str], float]:
    """Baseline: every (event, quantity) row to Python, book stock per (site, epcClass) in a loop."""
    stock: dict[tuple[str, str], float] = defaultdict(float)
    query = (
        select(
            events.c.event_type,
            events.c.action,
            events.c.biz_step,
            events.c.biz_location,
            events.c.error_declaration,
            quantities.c.role,
            quantities.c.epc_class,
            quantities.c.base_quantity,
        )
        .select_from(quantities.join(events, events.c.seq == quantities.c.seq))
        .execution_options(yield_per=50_000)
    )
    with engine.connect() as connection:
        for row in connection.execute(query):
            if row.error_declaration:
                continue
            key = (row.biz_location, row.epc_class)
            if row.event_type == "TransformationEvent":
                stock[key] += row.base_quantity if row.role == "output" else -row.base_quantity
            elif (row.action == "ADD" and row.biz_step == "commissioning") or row.biz_step == "receiving":
                stock[key] += row.base_quantity
            elif row.biz_step in ("shipping", "retail_selling", "dispensing") or (
                row.action == "DELETE" and row.biz_step == "destroying"
            ):
                stock[key] -= row.base_quantity
    return dict(stock)


def sql_lots(engine: Engine) -> list[Any]:
    """The reference: the full SQL aggregation and product mapping of the balance (no transit pairing)."""
    catalogue = Catalogue(MasterData(engine))
    with engine.connect() as connection:
        filters = Filters(excluded_hash_ids=withdrawn_hash_ids(connection))
        rows = lot_rows(connection, filters)
    return lot_balances(rows, catalogue)


def rollup_lots(engine: Engine) -> list[Any]:
    """The same lots through the roll-up: refresh (whatever is new), then read the grouped figures."""
    refresh_rollup(engine)
    catalogue = Catalogue(MasterData(engine))
    with engine.connect() as connection:
        filters = Filters(excluded_hash_ids=withdrawn_hash_ids(connection), as_of=FAR_FUTURE)
        rows = rollup_lot_rows(connection, filters)
    return lot_balances(rows, catalogue)


class Runs:
    """Wall and CPU seconds of each run of one measurement, with the 1-minute load average after it."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.load: list[float] = []

    def time(self, function: Callable[[], Any]) -> Any:
        """Run ``function`` once and record it; returns its result."""
        started, started_cpu = time.perf_counter(), time.process_time()
        result = function()
        self.wall.append(time.perf_counter() - started)
        self.cpu.append(time.process_time() - started_cpu)
        self.load.append(os.getloadavg()[0] if hasattr(os, "getloadavg") else -1.0)
        return result

    def as_dict(self) -> dict[str, list[float]]:
        """Every run, rounded (the medians alone hide a bimodal distribution)."""
        return {
            "wall_s": [round(x, 3) for x in self.wall],
            "cpu_s": [round(x, 3) for x in self.cpu],
            "load": [round(x, 2) for x in self.load],
        }


def _after_more_events(
    engine: Engine, function: Callable[[], Any], repeat: int, next_seq: list[int], runs: Runs | None = None
) -> tuple[float, Any, float]:
    """Median wall time of ``function`` run after each of ``repeat`` bulk loads of 1,000 more events, its
    result, and the median CPU time of this process in the same runs (each run kept in ``runs``)."""
    runs = runs if runs is not None else Runs()
    result = None
    for _ in range(repeat):
        generate(engine, APPENDED, seed=1000 + next_seq[0], first_seq=next_seq[0])
        next_seq[0] += APPENDED
        result = runs.time(function)
    return statistics.median(runs.wall), result, statistics.median(runs.cpu)


def _timed(function: Callable[[], Any], repeat: int, runs: Runs | None = None) -> tuple[float, Any]:
    runs = runs if runs is not None else Runs()
    result = None
    for _ in range(repeat):
        result = runs.time(function)
    return statistics.median(runs.wall), result


@contextmanager
def _database(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            yield f"sqlite:///{Path(directory) / 'bench.sqlite3'}"
        return
    url = os.environ.get("VIGICHEM_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    schema = f"vigichem_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        from sqlalchemy.engine import make_url

        yield make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _same_lots(first: list[Any], second: list[Any]) -> bool:
    """Same lots with the same figures, to 1e-9 relative: the synthetic transformations output 0.9 × the
    input, so sums of non-dyadic numbers taken in another order (roll-up totals, total minus what moved
    after a count) may differ in the last bits. The tests use exact quantities and compare exactly."""

    def close(a: Any, b: Any) -> bool:
        if isinstance(a, float) and isinstance(b, float):
            return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
        return bool(a == b)

    if len(first) != len(second):
        return False
    for one, other in zip(first, second, strict=True):
        a, b = one.as_dict(), other.as_dict()
        if a.keys() != b.keys() or not all(close(a[key], b[key]) for key in a):
            return False
    return True


def run(events_count: int, repeat: int, backend: str, reference_repeat: int | None = None) -> dict[str, Any]:
    """Build the synthetic ledger and time the reference, the roll-up and the naive loop.

    ``reference_repeat``: runs of the two reference measurements (default ``repeat``; each takes tens of
    seconds at 1M events, the roll-up's a second or two).
    """
    reference_repeat = repeat if reference_repeat is None else reference_repeat
    load_at_start = os.getloadavg() if hasattr(os, "getloadavg") else None
    with _database(backend) as url:
        engine = create_engine_from_url(url)
        migrate(engine)
        register_masterdata(engine)
        started = time.perf_counter()
        mix = generate(engine, events_count)
        setup = time.perf_counter() - started
        if backend == "postgresql":
            with engine.begin() as connection:
                connection.execute(text("ANALYZE"))
        reference_lots_s, lots = _timed(lambda: sql_lots(engine), reference_repeat)
        reference_full_s, report = _timed(
            lambda: compute_balance(engine, as_of=FAR_FUTURE, rollup=False), reference_repeat
        )
        first_refresh_s, _ = _timed(lambda: refresh_rollup(engine), 1)
        first_read_s, rolled = _timed(lambda: rollup_lots(engine), 1)
        rollup_agrees = _same_lots(rolled, lots)
        if backend == "postgresql":
            with engine.begin() as connection:
                connection.execute(text("ANALYZE"))
        rollup_lots_s, _ = _timed(lambda: rollup_lots(engine), repeat)
        next_seq = [events_count]
        after_lots_s, rolled, _ = _after_more_events(engine, lambda: rollup_lots(engine), repeat, next_seq)
        full_runs, after_full_runs = Runs(), Runs()
        rollup_full_s, _ = _timed(lambda: compute_balance(engine, as_of=FAR_FUTURE), repeat, full_runs)
        after_full_s, rolled_report, after_full_cpu_s = _after_more_events(
            engine, lambda: compute_balance(engine, as_of=FAR_FUTURE), repeat, next_seq, after_full_runs
        )
        final_reference = sql_lots(engine)
        rollup_agrees = rollup_agrees and _same_lots(rolled_report.lots, final_reference)
        final_reference_full_s, final_report = _timed(
            lambda: compute_balance(engine, as_of=FAR_FUTURE, rollup=False), 1
        )
        report_agrees = (
            _same_lots(rolled_report.lots, final_report.lots)
            and _same_lots(rolled_report.substances, final_report.substances)
            and rolled_report.transit == final_report.transit
        )
        naive_s, naive = _timed(lambda: naive_balance(engine), 1)
        sql_stock = {(lot.site, lot.epc_class): lot.movements.expected for lot in final_reference}
        agree = all(
            abs(sql_stock.get(key, 0.0) - value) < 1e-6 * max(1.0, abs(value)) for key, value in naive.items()
        )
        engine.dispose()
    first_lots_s = first_refresh_s + first_read_s
    return {
        "backend": backend,
        "events": events_count,
        "events_at_end": next_seq[0],
        "mix": mix,
        "setup_s": round(setup, 2),
        "reference_lots_s": round(reference_lots_s, 3),
        "reference_full_s": round(reference_full_s, 3),
        "rollup_initial_refresh_s": round(first_refresh_s, 3),
        "rollup_first_lots_s": round(first_lots_s, 3),
        "rollup_lots_s": round(rollup_lots_s, 3),
        "rollup_lots_after_1000_s": round(after_lots_s, 3),
        "rollup_full_s": round(rollup_full_s, 3),
        "rollup_full_after_1000_s": round(after_full_s, 3),
        "rollup_full_after_1000_cpu_s": round(after_full_cpu_s, 3),
        "rollup_full_cpu_s": round(statistics.median(full_runs.cpu), 3),
        "rollup_full_runs": full_runs.as_dict(),
        "rollup_full_after_1000_runs": after_full_runs.as_dict(),
        "final_reference_full_s": round(final_reference_full_s, 3),
        "lots_speedup_after_1000": round(reference_lots_s / after_lots_s, 1) if after_lots_s else None,
        "full_speedup_after_1000": round(reference_full_s / after_full_s, 1) if after_full_s else None,
        "naive_loop_s": round(naive_s, 3),
        "lot_rows": len(lots),
        "transit_issues": len(report.transit),
        "transit_issues_at_end": len(final_report.transit),
        "rollup_agrees": rollup_agrees,
        "report_agrees": report_agrees,
        "naive_agrees": agree,
        "target_s": 2.0,
        "repeat": repeat,
        "reference_repeat": reference_repeat,
        "python": sys.version.split()[0],
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_at_start": load_at_start,
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--reference-repeat", type=int, help="runs of the reference measurements (default: --repeat)"
    )
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    figures = run(args.events, args.repeat, args.backend, args.reference_repeat)
    payload = json.dumps(figures, indent=2)
    print(payload)
    if args.output:
        args.output.write_text(payload + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
