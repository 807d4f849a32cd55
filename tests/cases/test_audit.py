"""The audit trail is append-only: raw SQL edits are refused by triggers, and forgeries are detected."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from tests.cases.factories import alert
from vigichem.cases import assign, audit_trail, comment, record_alerts, triage, verify_audit


def _case_with_history(engine: Engine) -> int:
    case_id = record_alerts(engine, [alert()]).cases_opened[0]
    assign(engine, case_id, "analyst-1", actor="lead")
    triage(engine, case_id, actor="analyst-1")
    comment(engine, case_id, "First look: two purchases one hour apart.", actor="analyst-1")
    return case_id


def test_every_action_is_in_the_trail_with_who_what_old_and_new(engine: Engine) -> None:
    case_id = _case_with_history(engine)
    trail = audit_trail(engine, case_id)
    actions = [(e.actor, e.action, e.field, e.old_value, e.new_value) for e in trail]
    assert actions[0] == ("detect", "open", "status", None, "new")
    assert ("lead", "assign", "assignee", None, "analyst-1") in actions
    assert ("analyst-1", "transition", "status", "new", "triage") in actions
    assert len([a for a in actions if a[1] == "add_evidence"]) == 2
    assert all(entry.at is not None for entry in trail)
    report = verify_audit(engine)
    assert report.ok and report.entries == len(trail)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE case_audit SET actor = 'someone-else' WHERE id = 1",
        "DELETE FROM case_audit WHERE id = 2",
        "DELETE FROM case_audit",
    ],
)
def test_raw_updates_and_deletes_are_refused(engine: Engine, statement: str) -> None:
    _case_with_history(engine)
    before = audit_trail(engine)
    with pytest.raises(DBAPIError, match="case_audit is append-only"), engine.begin() as connection:
        connection.execute(text(statement))
    assert audit_trail(engine) == before


def test_a_forged_row_is_detected(engine: Engine) -> None:
    case_id = _case_with_history(engine)
    # Inserts pass the triggers (the trail grows), but a row not written by vigichem breaks the chain.
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO case_audit (case_id, at, actor, action, field, old_value, new_value, prev_hash,"
                " entry_hash) VALUES (:case, '2026-03-02 10:00:00', 'intruder', 'assign', 'assignee',"
                " 'analyst-1', 'intruder', :prev, :fake)"
            ),
            {"case": case_id, "prev": "0" * 64, "fake": "f" * 64},
        )
    report = verify_audit(engine)
    assert not report.ok
    assert report.broken_at == audit_trail(engine)[-1].id
    assert report.reason is not None and "previous-hash" in report.reason


def test_edits_behind_disabled_triggers_are_detected(engine: Engine) -> None:
    _case_with_history(engine)
    # Someone with DDL rights drops the protection and edits a row: the hash chain still shows it.
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE case_audit DISABLE TRIGGER case_audit_no_change"))
        else:
            connection.execute(text("DROP TRIGGER case_audit_no_update"))
        connection.execute(text("UPDATE case_audit SET new_value = 'analyst-9' WHERE action = 'assign'"))
    report = verify_audit(engine)
    assert not report.ok and report.reason == "its content does not match its hash"
