"""Dashboard figures over invented alerts (tests.cases.factories), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from tests.cases.factories import T0, alert
from vigichem.cases import close, record_alerts, tables
from vigichem.cases.dashboard import alerts_over_time, open_cases_clock, top_indicators
from vigichem.detect.models import Severity

NAIVE_T0 = T0.replace(tzinfo=None)


def _seed(engine: Engine) -> None:
    """Four invented subjects: alerts on three days, three indicators, one case closed."""
    day = dt.timedelta(days=1)
    record_alerts(
        engine,
        [
            alert(subject="pty-a", hashes=(1, 2), detected=T0),
            alert(
                subject="pty-a",
                hashes=(3,),
                detected=T0 + dt.timedelta(hours=2),
                rule="no_id",
                typology="no_id",
            ),
            alert(subject="pty-b", hashes=(4,), detected=T0 + 2 * day, severity=Severity.CRITICAL),
            alert(subject="pty-c", hashes=(5,), detected=T0 + 3 * day, rule="night", typology="night"),
            alert(subject="pty-d", hashes=(6,), detected=T0 + 3 * day),
        ],
    )


def test_alerts_per_day_fill_the_gaps_and_split_by_severity(engine: Engine) -> None:
    _seed(engine)
    days = alerts_over_time(engine)
    # Dated by the last event (one hour before detection): 2026-03-02, -04, -05; the 3rd is an empty day.
    assert [(d.day.isoformat(), d.total) for d in days] == [
        ("2026-03-02", 2),
        ("2026-03-03", 0),
        ("2026-03-04", 1),
        ("2026-03-05", 2),
    ]
    assert days[2].by_severity == {"critical": 1}
    assert [d.day.isoformat() for d in alerts_over_time(engine, days=2)] == ["2026-03-04", "2026-03-05"]
    only_a = alerts_over_time(engine, where=tables.cases.c.subject_id == "pty-a")
    assert [(d.day.isoformat(), d.total) for d in only_a] == [("2026-03-02", 2)]
    assert alerts_over_time(engine, where=tables.cases.c.subject_id == "nobody") == []


def test_top_indicators_count_alerts_and_cases(engine: Engine) -> None:
    _seed(engine)
    top = [(i.typology, i.rule, i.alerts, i.cases) for i in top_indicators(engine)]
    assert top == [
        ("split_purchase", "split_purchase", 3, 3),
        ("night", "night", 1, 1),
        ("no_id", "no_id", 1, 1),
    ]
    assert len(top_indicators(engine, limit=1)) == 1
    assert top_indicators(engine, where=tables.cases.c.subject_id == "pty-c")[0].typology == "night"


def test_open_cases_run_against_the_24_hour_clock(engine: Engine) -> None:
    _seed(engine)
    close(engine, 4, "false_positive", actor="analyst-1")  # pty-d: closed, off the clock
    as_of = NAIVE_T0 + dt.timedelta(days=2, hours=20)
    entries, counts = open_cases_clock(engine, as_of=as_of)
    assert [e.subject_id for e in entries] == ["pty-a", "pty-b", "pty-c"]  # most urgent first
    by_subject = {e.subject_id: e for e in entries}
    assert by_subject["pty-a"].overdue and by_subject["pty-a"].elapsed_fraction == 1.0
    assert by_subject["pty-b"].seconds_left == 4 * 3600  # deadline T0 + 3 days
    assert not by_subject["pty-c"].overdue
    assert counts == {"open": 3, "overdue": 1, "dueSoon": 1}
    limited, same_counts = open_cases_clock(engine, as_of=as_of, limit=1)
    assert len(limited) == 1 and same_counts == counts
    mine, mine_counts = open_cases_clock(engine, as_of=as_of, where=tables.cases.c.subject_id == "pty-c")
    assert [e.subject_id for e in mine] == ["pty-c"] and mine_counts["overdue"] == 0
    assert entries[0].to_dict()["deadline"].endswith("Z")
