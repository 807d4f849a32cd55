"""Property: any sequence of attempted moves follows the transition table, and the audit trail matches it."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from tests.cases.factories import alert
from vigichem.cases import TRANSITIONS, CaseStatus, get_case, record_alerts, transition, verify_audit
from vigichem.errors import InvalidInput

MOVES = st.lists(st.sampled_from([*CaseStatus, "archived"]), max_size=6)
_subjects = itertools.count()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moves=MOVES)
def test_moves_follow_the_table(engine: Engine, moves: list[CaseStatus | str]) -> None:
    # Each example works on a case of its own (invented subject), in the one database of the test.
    number = next(_subjects)
    case_id = record_alerts(engine, [alert(subject=f"pty-prop-{number}", hashes=(number,))]).cases_opened[0]
    expected = CaseStatus.NEW
    accepted: list[tuple[str, str]] = []
    for move in moves:
        legal = move in [str(status) for status in TRANSITIONS[expected]]
        resolution = "no_action" if move == CaseStatus.CLOSED else None
        try:
            transition(engine, case_id, move, actor="prop", resolution=resolution)
        except InvalidInput:
            assert not legal
            continue
        assert legal
        accepted.append((str(expected), str(move)))
        expected = CaseStatus(move)
    case = get_case(engine, case_id)
    assert case.status is expected
    assert [(e.old_value, e.new_value) for e in case.audit if e.action == "transition"] == accepted
    assert verify_audit(engine).ok
