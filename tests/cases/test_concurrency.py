"""Concurrent writers: one open case per subject and an unbroken audit chain (SQLite and PostgreSQL)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine

from tests.cases.factories import alert
from vigichem.cases import comment, list_cases, record_alerts, verify_audit


def test_parallel_recorders_and_commenters_keep_one_case_and_one_chain(engine: Engine) -> None:
    # Eight detection runs at once, each with its own evidence on the same two invented subjects.
    batches = [
        [
            alert(subject="pty-shared", hashes=(run * 10 + 1,)),
            alert(subject="pty-other", hashes=(run * 10 + 2,)),
        ]
        for run in range(8)
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda batch: record_alerts(engine, batch), batches))
    assert sum(result.new_alerts for result in results) == 16
    cases = list_cases(engine)
    assert sorted(case.subject_id for case in cases) == ["pty-other", "pty-shared"]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(
            pool.map(lambda n: comment(engine, cases[n % 2].id, f"note {n}", actor=f"analyst-{n}"), range(12))
        )
    report = verify_audit(engine)
    assert report.ok, report
