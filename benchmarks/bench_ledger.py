"""Benchmark of the ledger's storage path: durable capture throughput and verification, SQLite and PostgreSQL.

Prints one JSON object (and writes it to ``--output`` if given). Everything goes through the real code:
``service.capture`` (parse, schema + semantic validation, CBV 2.0 hashing, indexing, one durable
transaction per document with a signed checkpoint) and ``service.verify`` (every hash ID, leaf, position and
signed root recomputed from storage).

* ``capture``: events/s with 1, 100 and 1,000 events per document, each document its own durable commit
  (SQLite WAL ``synchronous=FULL``; PostgreSQL default ``synchronous_commit=on``); the median of
  ``--repeat`` runs on a fresh database each. The 1-event figure is the naive baseline (one transaction per
  event); ``ratio_vs_per_event`` divides each figure by it. ``pipelined`` is ``capture_many`` (preparation
  in worker processes, one writer) on 1,000-event documents.
* ``verify``: seconds to verify a ledger of ``--events`` events (median of ``--verify-repeat`` runs, by
  default ``--repeat``, on the same ledger): the row-by-row reference walk (the baseline), the fast pass
  in one process and in ``--workers`` processes, run alternately (see ``bench_verify``). The ledger is
  filled through the real capture path in 1,000-event documents; its events are **synthetic** (invented
  GS1 example-prefix identifiers, one unique lot per event).

Wall-clock seconds (``time.perf_counter``): capture includes the disk flushes that make it durable. On a
shared machine other work disturbs the figures; compare figures from the same run. ``verify`` also reports
CPU seconds (``time.process_time`` plus the workers' ``RUSAGE_CHILDREN``), which other load inflates less,
and the load average before each run.

Usage: ``python benchmarks/bench_ledger.py [--events 1000000] [--capture-events 10000] [--repeat 3]
[--verify-repeat N] [--backends sqlite,postgresql] [--workers N] [--output FILE]``. PostgreSQL comes from
``VIGICHEM_TEST_POSTGRES_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``); each run uses
its own schema, dropped afterwards; an unreachable server is reported as skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from vigichem.ledger.accel import status as accel_status
from vigichem.ledger.models import VerifyReport
from vigichem.ledger.node import Node, init_node
from vigichem.ledger.pipeline import capture_many, default_workers
from vigichem.ledger.service import capture, ledger_hash_ids, verify
from vigichem.ledger.verification import reference_verify_store

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PER_DOCUMENT = (1, 100, 1000)


def synthetic_event(index: int) -> dict[str, Any]:
    """An invented shipment event (GS1 example company prefix 4012345); ``index`` makes it unique."""
    seconds = index % 86_400
    return {
        "type": "ObjectEvent",
        "action": "OBSERVE",
        "bizStep": "shipping",
        "disposition": "in_transit",
        "eventTime": f"2026-01-{1 + index // 86_400 % 28:02d}T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:"
        f"{seconds % 60:02d}.{index % 1000:03d}+01:00",
        "eventTimeZoneOffset": "+01:00",
        "readPoint": {"id": "urn:epc:id:sgln:4012345.00001.0"},
        "bizLocation": {"id": "urn:epc:id:sgln:4012345.00001.0"},
        "quantityList": [
            {
                "epcClass": f"urn:epc:class:lgtin:4012345.012345.L{index}",
                "quantity": 5 + index % 20,
                "uom": "KGM",
            }
        ],
        "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:4012345.00000"}],
        "destinationList": [
            {"type": "owning_party", "destination": f"urn:epc:id:pgln:4012345.{index % 90:05d}"}
        ],
        "vc:customerRef": f"pty-bench-{index % 500}",
    }


def synthetic_document(count: int, start: int) -> dict[str, Any]:
    """An invented EPCISDocument of ``count`` synthetic events starting at ``start``."""
    return {
        "@context": [
            "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
            {"vc": "https://vigichem.org/epcis/ext/"},
        ],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-01-01T00:00:00.000+01:00",
        "epcisBody": {"eventList": [synthetic_event(start + i) for i in range(count)]},
    }


def _postgres_url() -> str:
    return os.environ.get("VIGICHEM_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def postgres_unreachable() -> str | None:
    """None when the PostgreSQL server answers, else why not."""
    try:
        engine = create_engine(_postgres_url(), connect_args={"connect_timeout": 5})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return (
            f"PostgreSQL not reachable at {_postgres_url()}: {str(exc).splitlines()[0] if str(exc) else exc}"
        )
    return None


@contextmanager
def fresh_node(backend: str) -> Iterator[Node]:
    """A new node on a fresh SQLite file or a fresh PostgreSQL schema, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="vigichem-bench-") as directory:
        if backend == "sqlite":
            node = init_node(Path(directory) / "node", "bench", "FR")
            try:
                yield node
            finally:
                node.close()
            return
        schema = f"vigichem_bench_{uuid.uuid4().hex[:12]}"
        admin = create_engine(_postgres_url())
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(_postgres_url()).update_query_dict({"options": f"-csearch_path={schema}"})
        node = init_node(Path(directory) / "node", "bench", "FR", database_url=url.render_as_string(False))
        try:
            yield node
        finally:
            node.close()
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def _encoded_documents(total: int, per_document: int, start: int = 0) -> list[bytes]:
    return [
        json.dumps(synthetic_document(per_document, start + offset)).encode()
        for offset in range(0, total, per_document)
    ]


def bench_capture(backend: str, per_document: int, total: int, repeat: int) -> dict[str, Any]:
    """Median events/s of durable captures of ``total`` events in documents of ``per_document``."""
    documents = _encoded_documents(total, per_document)
    rates = []
    for _ in range(repeat):
        with fresh_node(backend) as node:
            started = time.perf_counter()
            for raw in documents:
                capture(node.store, raw, signer=node.signer)
            elapsed = time.perf_counter() - started
            rates.append(total / elapsed)
    return {
        "events": total,
        "events_per_document": per_document,
        "events_per_s": round(statistics.median(rates)),
    }


def bench_pipelined(backend: str, total: int, repeat: int, workers: int) -> dict[str, Any]:
    """Median events/s of ``capture_many`` over 1,000-event documents."""
    documents = _encoded_documents(total, 1000)
    rates = []
    for _ in range(repeat):
        with fresh_node(backend) as node:
            started = time.perf_counter()
            for result in capture_many(node.store, documents, signer=node.signer, workers=workers):
                if isinstance(result, Exception):
                    raise result
            rates.append(total / (time.perf_counter() - started))
    return {
        "events": total,
        "events_per_document": 1000,
        "workers": workers,
        "events_per_s": round(statistics.median(rates)),
    }


def _children_cpu() -> float:
    """CPU seconds of this process's finished children (the verify workers, once their pool is shut down)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_verify(backend: str, events: int, repeat: int, workers: int) -> dict[str, Any]:
    """Fill a ledger with ``events`` synthetic events, then time verification (median of ``repeat``).

    Three ways, run alternately in each repetition so that they see the same load: ``reference`` (the
    row-by-row walk in one process: the verifier as it was before the fast pass, the baseline),
    ``one_process`` (the chunked fast pass in this process) and ``<workers>_workers`` (the fast pass in
    ``workers`` processes, each reading its own seq range). For each: median wall seconds, median CPU
    seconds (this process and its workers), the load average before each run, and the ratio of the
    reference's median wall time to the mode's.
    """
    with fresh_node(backend) as node:
        started = time.perf_counter()
        documents = (synthetic_document(min(1000, events - start), start) for start in range(0, events, 1000))
        for result in capture_many(node.store, documents, signer=node.signer, workers=workers):
            if isinstance(result, Exception):
                raise result
        fill_seconds = time.perf_counter() - started
        timings: dict[str, Any] = {"events": events, "fill_seconds": round(fill_seconds, 1)}
        key = node.identity.public_key
        modes: list[tuple[str, Callable[[], VerifyReport]]] = [
            ("reference", lambda: reference_verify_store(node.store, key, ledger_hash_ids)),
            ("one_process", lambda: verify(node.store, key, workers=1)),
            (f"{workers}_workers", lambda: verify(node.store, key, workers=workers)),
        ]
        runs: dict[str, list[tuple[float, float, float]]] = {label: [] for label, _run in modes}
        for _ in range(repeat):
            for label, run in modes:
                load = os.getloadavg()[0]
                started, cpu_started, children_started = (
                    time.perf_counter(),
                    time.process_time(),
                    _children_cpu(),
                )
                report = run()
                seconds = time.perf_counter() - started
                cpu = time.process_time() - cpu_started + _children_cpu() - children_started
                if not report.ok:
                    raise RuntimeError(f"benchmark ledger does not verify: {report.discrepancy}")
                runs[label].append((seconds, cpu, load))
                print(
                    f"{backend} verify {label}: {seconds:.1f} s, {cpu:.1f} s CPU, load {load:.1f}",
                    file=sys.stderr,
                )
        reference_seconds = statistics.median(seconds for seconds, _cpu, _load in runs["reference"])
        for label, rows in runs.items():
            median_seconds = statistics.median(seconds for seconds, _cpu, _load in rows)
            timings[label] = {
                "seconds": round(median_seconds, 2),
                "cpu_seconds": round(statistics.median(cpu for _seconds, cpu, _load in rows), 2),
                "load_before": [round(load, 1) for _seconds, _cpu, load in rows],
                "ratio_vs_reference": round(reference_seconds / median_seconds, 2),
            }
        return timings


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark and print its JSON figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1_000_000, help="ledger size for verify")
    parser.add_argument("--capture-events", type=int, default=10_000, help="events per capture measurement")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--verify-repeat", type=int, help="verify runs per mode (default: --repeat)")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--workers", type=int, default=max(2, default_workers()))
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)

    figures: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "compiled_hash_id": accel_status().active,
        },
        "targets": {
            "sqlite_events_per_s": 20_000,
            "postgresql_events_per_s": 10_000,
            "verify_1m_seconds": 30,
        },
    }
    for backend in args.backends.split(","):
        if backend == "postgresql" and (reason := postgres_unreachable()):
            figures[backend] = {"skipped": reason}
            continue
        results: dict[str, Any] = {"capture": []}
        for per_document in PER_DOCUMENT:
            # One durable commit per event is slow by design: measure it on fewer events.
            total = args.capture_events if per_document > 1 else max(per_document, args.capture_events // 10)
            results["capture"].append(bench_capture(backend, per_document, total, args.repeat))
            print(f"{backend} capture {per_document}/doc: {results['capture'][-1]}", file=sys.stderr)
        baseline = results["capture"][0]["events_per_s"]
        for row in results["capture"]:
            row["ratio_vs_per_event"] = round(row["events_per_s"] / baseline, 1)
        results["pipelined"] = bench_pipelined(backend, args.capture_events, args.repeat, args.workers)
        results["pipelined"]["ratio_vs_per_event"] = round(results["pipelined"]["events_per_s"] / baseline, 1)
        print(f"{backend} pipelined: {results['pipelined']}", file=sys.stderr)
        verify_repeat = args.verify_repeat or args.repeat
        results["verify"] = bench_verify(backend, args.events, verify_repeat, args.workers)
        print(f"{backend} verify: {results['verify']}", file=sys.stderr)
        figures[backend] = results
    output = json.dumps(figures, indent=2)
    print(output)
    if args.output is not None:
        args.output.write_text(output + "\n", encoding="utf-8")
    return figures


if __name__ == "__main__":
    main()
