"""Benchmark of the synthetic supply chain (``vigichem.sim``): events generated per second, and memory.

Each size runs in its own child process (so its peak resident memory is its own) and writes a full run
(documents, parties, labels, manifest) into a temporary directory that is deleted afterwards. The chain is
invented (fake parties, invented GTINs and GLNs); only the chemicals come from the knowledge base.

Measured per size: ``events`` (from the manifest), ``seconds`` (wall clock of :func:`vigichem.sim.simulate`,
``time.perf_counter``, without interpreter start-up), ``events_per_s``, ``peak_rss_mib``
(``resource.getrusage``, the child's maximum resident set) and ``bytes_written``. Memory should stay
roughly flat as the number of events grows (the writer streams; only the population and the stock are
held), which the ratio of the largest to the smallest run's peak RSS shows.

Usage: ``python benchmarks/bench_sim.py [--days 365] [--scales 1,4,16] [--million] [--output FILE]``;
``--million`` adds a run sized for at least 1,000,000 events (scale 55 over 365 days; a few minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MILLION_SCALE = 55.0
"""Scale at which 365 days give more than 1M events (measured: about 53 events per day per unit of scale)."""


def _child(days: int, scale: float, seed: int) -> dict[str, Any]:
    from vigichem.sim import SimConfig, simulate

    out = Path(tempfile.mkdtemp(prefix="vigichem-bench-sim-"))
    try:
        started = time.perf_counter()
        manifest, labels = simulate(SimConfig(seed=seed, days=days, scale=scale), out / "run")
        seconds = time.perf_counter() - started
        written = sum(p.stat().st_size for p in (out / "run").rglob("*") if p.is_file())
    finally:
        shutil.rmtree(out, ignore_errors=True)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "days": days,
        "scale": scale,
        "events": manifest.events,
        "documents": manifest.documents,
        "parties": manifest.parties,
        "cases": len(labels),
        "seconds": round(seconds, 2),
        "events_per_s": round(manifest.events / seconds),
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "bytes_written": written,
    }


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--scales", default="1,4,16")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--million", action="store_true")
    parser.add_argument("--output", type=Path)
    parser.add_argument("--child", nargs=2, metavar=("DAYS", "SCALE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(int(args.child[0]), float(args.child[1]), args.seed)))
        return
    scales = [float(s) for s in args.scales.split(",") if s]
    if args.million:
        scales.append(MILLION_SCALE)
    runs = []
    for scale in scales:
        command = [sys.executable, __file__, "--seed", str(args.seed), "--child", str(args.days), str(scale)]
        completed = subprocess.run(command, check=True, capture_output=True, text=True)
        runs.append(json.loads(completed.stdout.strip().splitlines()[-1]))
        print(json.dumps(runs[-1]), file=sys.stderr)
    result = {
        "benchmark": "sim",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "runs": runs,
        "rss_ratio_largest_to_smallest": round(runs[-1]["peak_rss_mib"] / runs[0]["peak_rss_mib"], 2),
        "events_ratio_largest_to_smallest": round(runs[-1]["events"] / runs[0]["events"], 1),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")


if __name__ == "__main__":
    main()
