"""Screening benchmark: prints one JSON object with the figures.

Data set: the MOSES test set (176,074 real molecules from ZINC, MIT licence) shipped inside the PyPI
package ``molsets`` (``pip install --no-deps molsets``: the data file is all we read, so none of its heavy
dependencies are needed; the module is located, not imported). Without it, the 5,000 NCI structures that
RDKit ships are used and the output says so. To them are added every structure the knowledge base lists and
every chemical the family rules name (examples and exemptions).

Figures (one process, one core; CPU time of the process, so that other work on the machine does not
inflate them):

* ``full_screening``: :func:`vigichem.chem.screen` on every structure (SMILES in, findings out), one call
  per structure.
* ``full_screening_batch``: :func:`vigichem.chem.screen_batch` on the same structures, one call per chunk
  (``--chunk``); its results are compared with the one-by-one results (``results_unlike_one_by_one`` must
  be 0).
* ``naive_baseline``: parse with RDKit, then ``HasSubstructMatch`` against every pattern (each family
  rule's SMARTS and each listed structure), no prefilter, no standardisation, on the same structures.
  The three run interleaved, chunk by chunk (``--chunk``), so that all see the same machine load and the
  ratios ``speedup_vs_naive`` (one by one) and ``speedup_vs_naive_batch`` stay fair on a shared
  machine. ``naive_with_standardise`` adds vigichem's standardisation (what a naive screener needs to
  see salts), for reference, on a sample (``--naive-size``).
* ``single_query_ms``: p50/p99 CPU time of one first-time :func:`screen` call (cache emptied) over
  structures not screened before, every listed CAS number and 200 listed names.
* ``lookups``: exact CAS and InChIKey lookups at the index (canonical text, and CAS text that needs
  normalising), and whole :func:`screen` calls for CAS and InChIKey queries (first call, and repeated
  calls answered from the result cache).
* ``quick_path_check``: on a sample, the quick negative path and full standardisation are compared
  (disagreements must be 0).

Usage: ``python benchmarks/bench_screen.py [--size 20000] [--naive-size 2000] [--chunk 500]``.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import rdkit
from rdkit import Chem, RDConfig, RDLogger

from vigichem.chem import screen_batch, screen_safely
from vigichem.chem.cas import normalise_cas
from vigichem.chem.families import load_family_rules
from vigichem.chem.index import get_index
from vigichem.chem.matching import _from_structure, resolve
from vigichem.chem.structure import looks_like_inchikey, parse_smiles, standardise
from vigichem.errors import InvalidInput
from vigichem.settings import get_settings


def _moses_smiles() -> tuple[str, list[str]] | None:
    spec = importlib.util.find_spec("moses")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "dataset" / "data" / "test.csv.gz"
    if not path.exists():
        return None
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        lines = handle.read().split()
    return "MOSES test set (PyPI molsets 0.3.1, moses/dataset/data/test.csv.gz)", lines[1:]


def _nci_smiles() -> tuple[str, list[str]]:
    path = Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi"
    lines = path.read_text(encoding="utf-8").splitlines()
    return "NCI first_5K (shipped with RDKit; molsets not installed)", [line.split()[0] for line in lines]


def _listed_smiles() -> list[str]:
    index = get_index()
    listed = [ref.entry.smiles for ref in index.refs if ref.entry.smiles]
    for rule in load_family_rules():
        listed += [chemical.smiles for chemical in (*rule.positives, *rule.exemptions)]
    return list(dict.fromkeys(listed))


def _spread(real: Sequence[str], listed: Sequence[str]) -> list[str]:
    """The listed structures (the slow, matching ones) spread evenly through the real ones, so that every
    chunk of the alternating run holds its share of them."""
    step = max(1, len(real) // max(1, len(listed)))
    spread: list[str] = []
    for position, text in enumerate(real):
        slot, remainder = divmod(position, step)
        if remainder == 0 and slot < len(listed):
            spread.append(listed[slot])
        spread.append(text)
    spread += listed[len(real) // step + (len(real) % step > 0) :]
    return spread


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else float("inf")


def _timed(function: Callable[[], Any]) -> float:
    """CPU seconds of this process spent in ``function`` (steadier than wall time on a shared machine)."""
    start = time.process_time()
    function()
    return time.process_time() - start


def _patterns() -> list[Chem.Mol]:
    index = get_index()
    patterns = [Chem.MolFromSmarts(rule.smarts) for rule in index.family_matcher.rules]
    patterns += [ref.structure.mol for ref in index.refs if ref.structure is not None]
    return [pattern for pattern in patterns if pattern is not None]


def _naive_pass(smiles: Sequence[str], patterns: Sequence[Chem.Mol], with_standardise: bool) -> int:
    hits = 0
    for text in smiles:
        mol = Chem.MolFromSmiles(text)
        if mol is None:
            continue
        if with_standardise:
            try:
                mol = standardise(mol).mol
            except InvalidInput:
                continue
        hits += any([mol.HasSubstructMatch(pattern) for pattern in patterns])  # noqa: C419 (no short-circuit: naive)
    return hits


def _full_and_naive(
    smiles: Sequence[str], patterns: Sequence[Chem.Mol], chunk: int
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Full screening one call at a time, full screening in batches and the naive baseline on the same
    structures, alternating chunk by chunk (caches emptied before each screening run, so that neither
    run answers from what the other computed)."""
    index = get_index()
    full_seconds = batch_seconds = naive_seconds = 0.0
    findings = watches = errors = hits = disagreements = 0
    for start in range(0, len(smiles), chunk):
        part = smiles[start : start + chunk]
        index.resolutions.clear()
        index.results.clear()
        begin = time.process_time()
        results = [screen_safely(text) for text in part]
        full_seconds += time.process_time() - begin
        index.resolutions.clear()
        index.results.clear()
        begin = time.process_time()
        batch = screen_batch(part)
        batch_seconds += time.process_time() - begin
        begin = time.process_time()
        hits += _naive_pass(part, patterns, with_standardise=False)
        naive_seconds += time.process_time() - begin
        disagreements += sum(one != other for one, other in zip(results, batch, strict=True))
        errors += sum(bool(result.errors) for result in results)
        findings += sum(result.controlled for result in results)
        watches += sum(any(f.status == "watch" for f in result.findings) for result in results)
    full = {
        "structures": len(smiles),
        "seconds": round(full_seconds, 3),
        "structures_per_s": _rate(len(smiles), full_seconds),
        "with_legal_findings": findings,
        "with_watch_findings": watches,
        "unparsable": errors,
    }
    batched = {
        "structures": len(smiles),
        "seconds": round(batch_seconds, 3),
        "structures_per_s": _rate(len(smiles), batch_seconds),
        "results_unlike_one_by_one": disagreements,
    }
    naive = {
        "structures": len(smiles),
        "patterns": len(patterns),
        "seconds": round(naive_seconds, 3),
        "structures_per_s": _rate(len(smiles), naive_seconds),
        "structures_with_a_pattern_hit": hits,
    }
    return full, batched, naive


def _naive_with_standardise(smiles: Sequence[str], patterns: Sequence[Chem.Mol]) -> dict[str, Any]:
    hits = 0

    def run() -> None:
        nonlocal hits
        hits = _naive_pass(smiles, patterns, with_standardise=True)

    seconds = _timed(run)
    return {
        "structures": len(smiles),
        "patterns": len(patterns),
        "seconds": round(seconds, 3),
        "structures_per_s": _rate(len(smiles), seconds),
        "structures_with_a_pattern_hit": hits,
    }


def _latencies(queries: Sequence[str]) -> dict[str, Any]:
    timings: list[float] = []
    for query in queries:
        start = time.process_time()
        screen_safely(query)
        timings.append((time.process_time() - start) * 1000)
    timings.sort()
    return {
        "queries": len(queries),
        "p50_ms": round(statistics.median(timings), 3),
        "p99_ms": round(timings[int(0.99 * (len(timings) - 1))], 3),
        "max_ms": round(timings[-1], 3),
    }


def _lookups(repeat: int) -> dict[str, Any]:
    index = get_index()
    cas_numbers = sorted(index.by_cas)
    inchikeys = sorted({ref.structure.inchikey for ref in index.refs if ref.structure is not None})

    def cas_at_index() -> None:
        for _ in range(repeat):
            for cas in cas_numbers:
                index.by_cas.get(cas) or index.by_cas.get(normalise_cas(cas))

    def cas_normalised_at_index() -> None:
        for _ in range(repeat):
            for cas in cas_numbers:
                index.by_cas.get(normalise_cas(f" CAS {cas} "))

    def inchikey_at_index() -> None:
        for _ in range(repeat):
            for key in inchikeys:
                if looks_like_inchikey(key):
                    index.by_whole.get(key[:14])

    index.resolutions.clear()
    index.results.clear()
    cas_seconds = _timed(cas_at_index)
    cas_normalised_seconds = _timed(cas_normalised_at_index)
    key_seconds = _timed(inchikey_at_index)
    # First pass: each CAS / InChIKey screened for the first time; then repeated calls, answered from the
    # result cache.
    screen_cas_cold = _timed(lambda: [screen_safely(cas) for cas in cas_numbers])
    screen_keys_cold = _timed(lambda: [screen_safely(key) for key in inchikeys])
    screen_cas = _timed(lambda: [screen_safely(cas) for _ in range(5) for cas in cas_numbers])
    screen_keys = _timed(lambda: [screen_safely(key) for _ in range(5) for key in inchikeys])
    return {
        "cas_index_lookups_per_s": _rate(repeat * len(cas_numbers), cas_seconds),
        "cas_index_lookups_with_normalisation_per_s": _rate(
            repeat * len(cas_numbers), cas_normalised_seconds
        ),
        "inchikey_index_lookups_per_s": _rate(repeat * len(inchikeys), key_seconds),
        "cas_screen_calls_first_per_s": _rate(len(cas_numbers), screen_cas_cold),
        "inchikey_screen_calls_first_per_s": _rate(len(inchikeys), screen_keys_cold),
        "cas_screen_calls_repeated_per_s": _rate(5 * len(cas_numbers), screen_cas),
        "inchikey_screen_calls_repeated_per_s": _rate(5 * len(inchikeys), screen_keys),
        "distinct_cas": len(cas_numbers),
        "distinct_inchikeys": len(inchikeys),
    }


def _quick_path_check(smiles: Sequence[str]) -> dict[str, Any]:
    index = get_index()
    threshold = get_settings().watch_similarity
    quick = disagreements = 0
    for text in smiles:
        try:
            mol = parse_smiles(text)
            full = _from_structure(index, mol, standardise(mol))
            fast = resolve(index, text)
        except InvalidInput:
            continue
        assert full.structure is not None
        same = {id(m.ref) for m in fast.matches} == {id(m.ref) for m in full.matches}
        if fast.structure is None:
            quick += 1
            same = same and not full.matches and not index.nearest(full.structure, threshold)
        disagreements += not same
    return {"checked": len(smiles), "quick_path": quick, "disagreements": disagreements}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size", type=int, default=20_000, help="real structures taken from the data set")
    parser.add_argument(
        "--naive-size", type=int, default=2_000, help="structures for the naive baseline with standardisation"
    )
    parser.add_argument("--chunk", type=int, default=500, help="structures per alternation of full and naive")
    parser.add_argument("--latency-size", type=int, default=2_000, help="queries for the latency sample")
    args = parser.parse_args(argv)
    RDLogger.DisableLog("rdApp.*")  # the data set holds a few structures RDKit complains about

    found = _moses_smiles()
    name, all_real = found if found is not None else _nci_smiles()
    real = all_real[: args.size]
    listed = _listed_smiles()
    structures = _spread(real, listed)

    build = _timed(lambda: (get_index().family_matcher, get_index().similarity))
    patterns = _patterns()
    # Listed structures spread through the set, so that every chunk holds its share of them.
    full, batched, naive = _full_and_naive(structures, patterns, args.chunk)
    naive_std = _naive_with_standardise(structures[: args.naive_size], patterns)
    index = get_index()
    # Latency of first-time queries: structures not screened above, listed CAS numbers and names, with
    # the resolution cache emptied.
    fresh = all_real[args.size : args.size + args.latency_size]
    mixed = fresh + sorted(index.by_cas) + [r.entry.name for r in index.refs[:200]]
    index.resolutions.clear()
    index.results.clear()
    latencies = _latencies(mixed)
    index.resolutions.clear()
    index.results.clear()
    result = {
        "data_set": {"name": name, "real_structures": len(real), "listed_and_family_named": len(listed)},
        "index_build_s": round(build, 3),
        "full_screening": full,
        "full_screening_batch": batched,
        "naive_baseline": naive,
        "naive_with_standardise": naive_std,
        "speedup_vs_naive": round(full["structures_per_s"] / naive["structures_per_s"], 2),
        "speedup_vs_naive_batch": round(batched["structures_per_s"] / naive["structures_per_s"], 2),
        "speedup_vs_naive_with_standardise": round(
            full["structures_per_s"] / naive_std["structures_per_s"], 2
        ),
        "single_query_ms": latencies,
        "lookups": _lookups(repeat=200),
        "quick_path_check": _quick_path_check(structures[:2_000]),
        "machine": {
            "python": platform.python_version(),
            "rdkit": rdkit.__version__,
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        },
    }
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
