"""Capture throughput of this tree against a baseline commit, measured alternately in the same run.

On a shared machine the load moves capture figures 2-4x within minutes, so a before/after comparison is
only fair when both run under the same load. This benchmark exports the baseline commit's ``src`` (``git
archive``, nothing else is touched), then for each figure runs the baseline and the current code one after
the other, ``--repeat`` times, alternating which goes first, each run in its own process on a fresh
database. It prints one JSON object with, per figure and side: the median events/s (wall clock, durable
commits, as :mod:`bench_ledger` measures them), the median CPU µs per event of the capturing process
(``time.process_time``: what load inflates least; PostgreSQL's server work is not in it), the ratio
new/old of both, and the load average seen around the runs.

Figures: durable ``capture`` with 1, 100 and 1,000 events per document, and ``capture_many`` (``--workers``
preparation processes, 1,000-event documents), on SQLite and PostgreSQL (``VIGICHEM_TEST_POSTGRES_URL``,
each run in its own schema). The events are :func:`bench_ledger.synthetic_document`'s (each side uses
the ``bench_ledger`` of its own commit).

Usage: ``python benchmarks/bench_capture_ab.py --baseline COMMIT [--events 10000] [--repeat 3]
[--backends sqlite,postgresql] [--per-document 1,100,1000] [--workers 2] [--output FILE]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def one_run(backend: str, per_document: int, total: int, workers: int, src: Path) -> dict[str, float]:
    """One measurement in this process (whichever ``vigichem`` is on the path): events/s and CPU µs/event.

    ``workers`` 0 is ``capture`` document by document; more is ``capture_many`` with that many workers.
    The documents and the fresh database come from the ``bench_ledger`` beside ``src`` (same commit).
    """
    sys.path.insert(0, str(src.parent / "benchmarks"))
    import bench_ledger
    from vigichem.ledger.pipeline import capture_many
    from vigichem.ledger.service import capture

    documents = bench_ledger._encoded_documents(total, per_document)
    with bench_ledger.fresh_node(backend) as node:
        started, cpu_started = time.perf_counter(), time.process_time()
        if workers == 0:
            for raw in documents:
                capture(node.store, raw, signer=node.signer)
        else:
            for result in capture_many(node.store, documents, signer=node.signer, workers=workers):
                if isinstance(result, Exception):
                    raise result
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return {"events_per_s": total / elapsed, "cpu_us_per_event": cpu / total * 1e6}


def _run_side(src: Path, backend: str, per_document: int, total: int, workers: int) -> dict[str, float]:
    environment = {**os.environ, "PYTHONPATH": str(src)}
    command = [
        sys.executable,
        __file__,
        "--one",
        json.dumps([backend, per_document, total, workers, str(src)]),
    ]
    done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"run failed ({src}, {backend}, {per_document}): {done.stderr[-2000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _export(commit: str, directory: Path) -> Path:
    directory.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit, "src", "benchmarks"], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(directory)], input=archive.stdout, check=True)
    return directory / "src"


def compare(
    baseline: Path, current: Path, backend: str, per_document: int, total: int, workers: int, repeat: int
) -> dict[str, Any]:
    """Alternate baseline and current runs ``repeat`` times; medians and ratios."""
    runs: dict[str, list[dict[str, float]]] = {"old": [], "new": []}
    loads = [os.getloadavg()[0]]
    for round_number in range(repeat):
        order = [("old", baseline), ("new", current)]
        if round_number % 2:
            order.reverse()
        for side, src in order:
            runs[side].append(_run_side(src, backend, per_document, total, workers))
            loads.append(os.getloadavg()[0])
    figure: dict[str, Any] = {"events": total, "events_per_document": per_document}
    if workers:
        figure["capture_many_workers"] = workers
    for side, results in runs.items():
        figure[side] = {
            "events_per_s": round(statistics.median(r["events_per_s"] for r in results)),
            "cpu_us_per_event": round(statistics.median(r["cpu_us_per_event"] for r in results), 1),
        }
    figure["ratio_events_per_s"] = round(figure["new"]["events_per_s"] / figure["old"]["events_per_s"], 2)
    figure["ratio_cpu"] = round(figure["old"]["cpu_us_per_event"] / figure["new"]["cpu_us_per_event"], 2)
    figure["load_average"] = [round(min(loads), 1), round(max(loads), 1)]
    return figure


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the comparison and print its JSON figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--baseline", help="the commit to compare with (git archive of its src)")
    parser.add_argument("--current", help="a commit to measure instead of the working tree's src")
    parser.add_argument("--events", type=int, default=10_000, help="events per measurement (1/doc: a tenth)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--per-document", default="1,100,1000")
    parser.add_argument("--workers", type=int, default=2, help="capture_many workers (0: not measured)")
    parser.add_argument("--output", type=Path)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        backend, per_document, total, workers, src = json.loads(args.one)
        import vigichem

        if not str(Path(vigichem.__file__).resolve()).startswith(str(Path(src).resolve())):
            raise RuntimeError(f"expected vigichem from {src}, got {vigichem.__file__}")
        print(json.dumps(one_run(backend, per_document, total, workers, Path(src))))
        return {}
    if not args.baseline:
        parser.error("--baseline COMMIT is required")
    figures: dict[str, Any] = {"baseline": args.baseline, "cpus": os.cpu_count()}
    figures["current"] = args.current or "working tree"
    with tempfile.TemporaryDirectory(prefix="vigichem-ab-") as directory:
        baseline = _export(args.baseline, Path(directory) / "baseline")
        current = _export(args.current, Path(directory) / "current") if args.current else ROOT / "src"
        for backend in args.backends.split(","):
            rows = []
            for per_document in (int(n) for n in args.per_document.split(",")):
                total = args.events if per_document > 1 else max(1, args.events // 10)
                rows.append(compare(baseline, current, backend, per_document, total, 0, args.repeat))
                print(f"{backend} {per_document}/doc: {rows[-1]}", file=sys.stderr)
            if args.workers:
                rows.append(compare(baseline, current, backend, 1000, args.events, args.workers, args.repeat))
                print(f"{backend} capture_many: {rows[-1]}", file=sys.stderr)
            figures[backend] = rows
    output = json.dumps(figures, indent=2)
    print(output)
    if args.output is not None:
        args.output.write_text(output + "\n", encoding="utf-8")
    return figures


if __name__ == "__main__":
    main()
