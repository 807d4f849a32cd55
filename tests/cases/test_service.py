"""Cases from alerts: grouping by subject, no duplicates on re-runs, workflow, assignee, comments, clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from tests.cases.factories import T0, alert, fake_hash
from vigichem.cases import (
    CaseStatus,
    Resolution,
    assign,
    close,
    comment,
    get_case,
    investigate,
    list_cases,
    mark_reported,
    record_alerts,
    transition,
    triage,
)
from vigichem.cases import tables as t
from vigichem.detect.models import Severity
from vigichem.errors import InvalidInput, NotFound


def test_alerts_are_grouped_by_subject_and_never_duplicated(engine: Engine) -> None:
    first = record_alerts(engine, [alert(subject="pty-a"), alert(subject="pty-b", hashes=(3,))])
    assert (first.new_alerts, first.duplicate_alerts, len(first.cases_opened)) == (2, 0, 2)

    again = record_alerts(engine, [alert(subject="pty-a"), alert(subject="pty-b", hashes=(3,))])
    assert (again.new_alerts, again.duplicate_alerts, again.cases_opened, again.cases_updated) == (
        0,
        2,
        (),
        (),
    )

    # Same subject, new evidence, another rule: joins the open case and adds its evidence there.
    grown = record_alerts(
        engine,
        [
            alert(
                subject="pty-a",
                rule="quantity_spike",
                typology="quantity_spike",
                hashes=(2, 4),
                severity=Severity.CRITICAL,
            )
        ],
    )
    assert grown.cases_opened == () and grown.cases_updated == first.cases_opened[:1]
    case = get_case(engine, first.cases_opened[0])
    assert case.typologies == ("quantity_spike", "split_purchase")
    assert case.evidence == tuple(fake_hash(i) for i in (1, 2, 4))
    assert case.severity == "critical"
    assert len(case.alerts) == 2
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(t.cases)) == 2
        assert connection.scalar(select(func.count()).select_from(t.case_alerts)) == 3
    assert "1 new alerts" in str(grown)


def test_a_closed_case_does_not_absorb_new_alerts(engine: Engine) -> None:
    opened = record_alerts(engine, [alert(subject="pty-c")]).cases_opened[0]
    close(engine, opened, "false_positive", actor="analyst-1")
    later = record_alerts(engine, [alert(subject="pty-c", hashes=(9,), detected=T0 + timedelta(days=3))])
    assert later.cases_opened and later.cases_opened[0] != opened


def test_workflow_moves_and_refusals(engine: Engine) -> None:
    case_id = record_alerts(engine, [alert()]).cases_opened[0]
    with pytest.raises(InvalidInput, match=r"cannot move from new to reported \(allowed: closed, triage\)"):
        mark_reported(engine, case_id, actor="analyst-1")
    triage(engine, case_id, actor="analyst-1")
    with pytest.raises(InvalidInput, match="cannot move from triage to triage"):
        triage(engine, case_id, actor="analyst-1")
    investigate(engine, case_id, actor="analyst-1")
    with pytest.raises(InvalidInput, match="closing a case needs a resolution"):
        transition(engine, case_id, "closed", actor="analyst-1")
    with pytest.raises(InvalidInput, match="not a case status"):
        transition(engine, case_id, "archived", actor="analyst-1")
    with pytest.raises(InvalidInput, match="not a resolution"):
        close(engine, case_id, "bored", actor="analyst-1")
    reported = mark_reported(engine, case_id, actor="analyst-1", at=T0 + timedelta(hours=5))
    assert reported.status is CaseStatus.REPORTED and reported.reported_at is not None
    with pytest.raises(InvalidInput, match="none: reported is final"):
        close(engine, case_id, Resolution.NO_ACTION, actor="analyst-1")
    moves = [(e.old_value, e.new_value) for e in reported.audit if e.action == "transition"]
    assert moves == [("new", "triage"), ("triage", "investigating"), ("investigating", "reported")]


def test_close_records_the_resolution(engine: Engine) -> None:
    case_id = record_alerts(engine, [alert()]).cases_opened[0]
    closed = close(engine, case_id, "no_action", actor="analyst-2")
    assert closed.status is CaseStatus.CLOSED and closed.resolution is Resolution.NO_ACTION
    assert closed.audit[-1].action == "resolve" and closed.audit[-1].new_value == "no_action"


def test_assignee_and_comments_are_audited(engine: Engine) -> None:
    case_id = record_alerts(engine, [alert()]).cases_opened[0]
    assign(engine, case_id, "analyst-1", actor="lead")
    case = assign(engine, case_id, "analyst-2", actor="lead")
    assert case.assignee == "analyst-2"
    last = case.audit[-1]
    assert (last.actor, last.action, last.old_value, last.new_value) == (
        "lead",
        "assign",
        "analyst-1",
        "analyst-2",
    )
    case = comment(engine, case_id, "Buyer called back; says it is for a pool.", actor="analyst-2")
    assert [c.new_value for c in case.comments] == ["Buyer called back; says it is for a pool."]
    assert list_cases(engine, assignee="analyst-2")[0].id == case_id
    with pytest.raises(InvalidInput, match="comment must be a non-empty text"):
        comment(engine, case_id, "   ", actor="analyst-2")
    with pytest.raises(NotFound, match="no case 999"):
        assign(engine, 999, "x", actor="lead")


def test_reporting_clock_and_overdue_flag(engine: Engine) -> None:
    case_id = record_alerts(engine, [alert(detected=T0)]).cases_opened[0]
    case = get_case(engine, case_id)
    naive_t0 = T0.replace(tzinfo=None)
    assert case.deadline == naive_t0 + timedelta(hours=24)
    assert not case.overdue(naive_t0 + timedelta(hours=23, minutes=59))
    assert case.overdue(naive_t0 + timedelta(hours=24, seconds=1))
    assert [c.id for c in list_cases(engine, overdue_at=T0 + timedelta(hours=25))] == [case_id]
    assert list_cases(engine, overdue_at=T0 + timedelta(hours=1)) == []
    # A later alert on the same subject does not move the deadline (it runs from the first alert).
    record_alerts(engine, [alert(hashes=(7,), detected=T0 + timedelta(hours=20))])
    assert get_case(engine, case_id).deadline == case.deadline
    # Reported late stays overdue; closed is never overdue.
    triage(engine, case_id, actor="a")
    investigate(engine, case_id, actor="a")
    late = mark_reported(engine, case_id, actor="a", at=T0 + timedelta(hours=30))
    assert late.overdue(naive_t0 + timedelta(days=10))


def test_a_malformed_alert_rejects_the_batch(engine: Engine) -> None:
    bad = alert(subject="  ")
    with pytest.raises(InvalidInput, match="subject_id must be a non-empty text"):
        record_alerts(engine, [alert(subject="pty-ok"), bad])
    no_evidence = alert(hashes=())
    with pytest.raises(InvalidInput, match="at least one evidence event"):
        record_alerts(engine, [no_evidence])
    assert list_cases(engine) == []


def test_list_filters(engine: Engine) -> None:
    record_alerts(engine, [alert(subject="pty-x"), alert(subject="pty-y", hashes=(5,))])
    by_subject = {case.subject_id: case.id for case in list_cases(engine)}
    triage(engine, by_subject["pty-y"], actor="a")
    assert [c.id for c in list_cases(engine, statuses=["triage"])] == [by_subject["pty-y"]]
    assert [c.id for c in list_cases(engine, subject_id="pty-x")] == [by_subject["pty-x"]]
    with pytest.raises(InvalidInput, match="statuses are"):
        list_cases(engine, statuses=["nope"])
