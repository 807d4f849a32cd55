"""Benchmark of the ledger's pure core: CBV 2.0 hash IDs, EPCIS validation, RFC 9162 Merkle roots.

Prints one JSON object. Events are invented (GS1 example company prefix 4012345), each with a unique
EPC, time, quantity and business transaction so that no cache makes them cheaper than real data.
Timings are CPU seconds of this process (``time.process_time``), best of ``--repeat`` runs, so that
other work on a shared machine disturbs them less; compare figures only from the same machine.

Usage: ``python benchmarks/bench_ledger_core.py [--events 20000] [--leaves 1000000] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import time
from collections.abc import Callable
from typing import Any

from vigichem.ledger import hashid, service, validation
from vigichem.ledger.extensions import namespace_prefixes
from vigichem.ledger.indexing import index_event
from vigichem.ledger.merkle import MerkleTree, leaf_hash, node_hash, root_hash


def invented_document(count: int) -> dict[str, Any]:
    """An EPCISDocument of ``count`` distinct invented shipping events."""
    events = []
    for i in range(count):
        events.append(
            {
                "type": "ObjectEvent",
                "eventTime": f"2024-05-01T{_clock(i)}.{i % 1000:03d}+02:00",
                "eventTimeZoneOffset": "+02:00",
                "epcList": [f"urn:epc:id:sgtin:4012345.011111.{i}"],
                "action": "OBSERVE",
                "bizStep": "shipping",
                "disposition": "in_transit",
                "readPoint": {"id": "urn:epc:id:sgln:4012345.00001.0"},
                "quantityList": [
                    {
                        "epcClass": "urn:epc:class:lgtin:4012345.012345.LOT7",
                        "quantity": 12.5 + i % 7,
                        "uom": "KGM",
                    }
                ],
                "bizTransactionList": [
                    {"type": "po", "bizTransaction": f"urn:epcglobal:cbv:bt:4012345000009:PO{i}"}
                ],
                "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:4012345.00000"}],
                "destinationList": [{"type": "owning_party", "destination": "urn:epc:id:pgln:4012345.00001"}],
                "vc:customerRef": f"cust-{i % 50}",
            }
        )
    return {
        "@context": [
            "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
            {"vc": "https://vigichem.org/epcis/ext/"},
        ],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-05-01T00:00:00Z",
        "epcisBody": {"eventList": events},
    }


def _clock(i: int) -> str:
    return f"{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}"


def best_cpu_seconds(
    task: Callable[[], object], repeat: int, before: Callable[[], None] | None = None
) -> float:
    """The smallest CPU time of ``repeat`` runs of ``task`` (``before`` runs untimed ahead of each)."""
    best = float("inf")
    for _ in range(repeat):
        if before is not None:
            before()
        start = time.process_time()
        task()
        best = min(best, time.process_time() - start)
    return best


def textbook_root(leaves: list[bytes]) -> bytes:
    """RFC 9162 section 2.1.1 written literally: recursive split at the largest power of two (baseline)."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(textbook_root(leaves[:k]), textbook_root(leaves[k:]))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    document = invented_document(args.events)
    raw = json.dumps(document).encode()
    validation.validate_document(document)  # compiles the schema once, outside the timings

    def clear_caches() -> None:
        hashid._canonical_text.cache_clear()

    hash_s = best_cpu_seconds(lambda: hashid.event_hash_ids(document), args.repeat, clear_caches)
    parse_s = best_cpu_seconds(lambda: validation.parse_document(raw, len(raw)), args.repeat)
    validate_s = best_cpu_seconds(lambda: validation.validate_document(document), args.repeat)
    schema_s = best_cpu_seconds(lambda: validation.schema_errors(document), args.repeat)
    semantic_s = best_cpu_seconds(lambda: validation.semantic_errors(document), args.repeat)
    hash_ids = service.ledger_hash_ids(document)
    prefixes = namespace_prefixes(document["@context"])
    pairs = list(zip(document["epcisBody"]["eventList"], hash_ids, strict=True))
    index_s = best_cpu_seconds(lambda: [index_event(e, h, prefixes, "") for e, h in pairs], args.repeat)
    # Everything capture does before the append: parse, validate, hash, index (what capture_many's
    # workers do).
    prepare_s = best_cpu_seconds(lambda: service.prepare(raw, len(raw)), args.repeat, clear_caches)

    leaves = [leaf_hash(i.to_bytes(8, "big")) for i in range(args.leaves)]
    root_s = best_cpu_seconds(lambda: root_hash(leaves), args.repeat)
    tree_s = best_cpu_seconds(lambda: MerkleTree(leaves), 1)
    tree = MerkleTree(leaves)
    proof_indexes = range(0, args.leaves, max(1, args.leaves // 1000))
    proofs_s = best_cpu_seconds(lambda: [tree.inclusion_proof(i) for i in proof_indexes], args.repeat)

    baseline_leaves = leaves[: 1 << 16]
    assert textbook_root(baseline_leaves) == root_hash(baseline_leaves)
    baseline_textbook_s = best_cpu_seconds(lambda: textbook_root(baseline_leaves), args.repeat)
    baseline_ours_s = best_cpu_seconds(lambda: root_hash(baseline_leaves), args.repeat)

    n = args.events
    report = {
        "machine": {"python": sys.version.split()[0], "platform": platform.platform()},
        "events": n,
        "hash_ids_per_s": round(n / hash_s),
        "hash_id_us_per_event": round(hash_s / n * 1e6, 1),
        "parse_us_per_event": round(parse_s / n * 1e6, 1),
        "validation_events_per_s": round(n / validate_s),
        "validation_us_per_event": round(validate_s / n * 1e6, 1),
        "schema_us_per_event": round(schema_s / n * 1e6, 1),
        "semantic_us_per_event": round(semantic_s / n * 1e6, 1),
        "schema_validator": _validator_name(),
        "parse_validate_hash_us_per_event": round((parse_s + validate_s + hash_s) / n * 1e6, 1),
        "index_us_per_event": round(index_s / n * 1e6, 1),
        "prepare_us_per_event": round(prepare_s / n * 1e6, 1),
        "leaves": args.leaves,
        "merkle_root_s": round(root_s, 3),
        "merkle_tree_build_s": round(tree_s, 3),
        "inclusion_proofs_per_s": round(len(proof_indexes) / proofs_s),
        "hash_ids_1m_estimate_s": round(hash_s / n * 1_000_000, 1),
        "baseline_2p16_leaves": {
            "textbook_recursive_s": round(baseline_textbook_s, 4),
            "ours_s": round(baseline_ours_s, 4),
            "speedup": round(baseline_textbook_s / baseline_ours_s, 2),
        },
    }
    print(json.dumps(report, indent=2))
    return 0


def _validator_name() -> str:
    try:
        import importlib

        importlib.import_module("jsonschema_rs")
    except ImportError:
        return "jsonschema (pure Python fallback)"
    return "jsonschema_rs"


if __name__ == "__main__":
    raise SystemExit(main())
