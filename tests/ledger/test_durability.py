"""Durability and concurrency: acknowledged captures survive ``kill -9``; concurrent captures stay gap-free.

The worker processes load the node from the environment (``VIGICHEM_DATA_DIR``/``VIGICHEM_DATABASE_URL``)
exactly like the CLI does, capture invented documents (see ``make_document``) in a loop and print each
hash ID only after ``capture`` returned, i.e. after the commit was acknowledged.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from sqlalchemy import select

from tests.ledger.conftest import capturing_in_background, make_document
from vigichem.ledger.db import events
from vigichem.ledger.node import Node
from vigichem.ledger.service import capture, verify

REPO_ROOT = Path(__file__).resolve().parents[2]

WORKER = """
import sys
from tests.ledger.conftest import make_document
from vigichem.ledger.node import load_node
from vigichem.ledger.service import capture

worker, rounds, size = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
node = load_node()
for round_ in range(rounds):
    start = (worker * 100_000) + round_ * size
    result = capture(node.store, make_document(size, start), signer=node.signer)
    for hash_id in result.new:
        sys.stdout.write(hash_id + "\\n")
    sys.stdout.flush()
"""


def _worker(node: Node, database_url: str, worker: int, rounds: int, size: int) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "VIGICHEM_DATA_DIR": str(node.data_dir),
        "VIGICHEM_DATABASE_URL": database_url,
        "PYTHONPATH": str(REPO_ROOT),
    }
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, str(worker), str(rounds), str(size)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _assert_gap_free_and_verified(node: Node) -> set[str]:
    with node.engine.connect() as connection:
        rows = connection.execute(select(events.c.seq, events.c.hash_id).order_by(events.c.seq)).all()
    assert [row.seq for row in rows] == list(range(len(rows)))
    report = verify(node.store, node.identity.public_key)
    assert report.ok, report.discrepancy
    return {row.hash_id for row in rows}


def test_acknowledged_captures_survive_kill_9(node: Node, database_url: str) -> None:
    process = _worker(node, database_url, worker=0, rounds=100_000, size=3)
    assert process.stdout is not None
    acknowledged: list[str] = []
    try:
        while len(acknowledged) < 60:
            line = process.stdout.readline()
            if not line:
                _out, err = process.communicate()
                raise AssertionError(f"worker stopped early: {err}")
            acknowledged.append(line.strip())
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL
    # Lines the worker printed but we had not read yet were acknowledged too.
    acknowledged += [line.strip() for line in process.stdout.read().splitlines() if line.strip()]
    stored = _assert_gap_free_and_verified(node)
    assert set(acknowledged) <= stored
    # The node keeps working after the crash.
    assert capture(node.store, make_document(2, start=900_000), signer=node.signer).new


def test_concurrent_processes_capture_gap_free(node: Node, database_url: str) -> None:
    workers = [_worker(node, database_url, worker=w, rounds=15, size=4) for w in range(1, 5)]
    printed: set[str] = set()
    for process in workers:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        printed.update(line for line in out.splitlines() if line)
    assert len(printed) == 4 * 15 * 4
    assert _assert_gap_free_and_verified(node) == printed


def test_concurrent_threads_capture_gap_free_with_duplicates(node: Node) -> None:
    errors: list[BaseException] = []

    def run(worker: int) -> None:
        try:
            for round_ in range(10):
                # Workers overlap on purpose: each document shares events with its neighbour's.
                capture(node.store, make_document(6, start=worker * 30 + round_ * 3), signer=node.signer)
        except BaseException as exc:  # surfaced to the test below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    stored = _assert_gap_free_and_verified(node)
    expected = {i for w in range(4) for r in range(10) for i in range(w * 30 + r * 3, w * 30 + r * 3 + 6)}
    assert len(stored) == len(expected)


def test_verify_during_concurrent_captures_sees_a_consistent_snapshot(node: Node) -> None:
    capture(node.store, make_document(20), signer=node.signer)
    with capturing_in_background(node):
        reports = [verify(node.store, node.identity.public_key) for _ in range(5)]
    assert all(report.ok for report in reports), [r.discrepancy for r in reports if not r.ok]
