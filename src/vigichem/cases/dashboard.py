"""Figures for the dashboard: alerts over time, the most frequent indicators, open cases against the clock.

Pure reads over the case tables. Every function takes ``where``, an extra SQL condition on ``cases`` — the
caller's tenancy rule (:func:`vigichem.accounts.policy.case_condition`) — so each principal's dashboard
counts only the cases it may see. Times are naive UTC, as in the tables.

Alerts are dated by the **last event** that fired them (when the suspicious activity happened), not by when
detection ran: a history replayed in one go (a backtest, the demo) still shows its shape over time.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Engine, func, select, true

from vigichem.cases import tables as t
from vigichem.cases.models import FINAL_STATUSES, REPORTING_DEADLINE, CaseStatus
from vigichem.cases.recording import SEVERITY_ORDER

__all__ = [
    "AlertDay",
    "ClockEntry",
    "Indicator",
    "alerts_over_time",
    "open_cases_clock",
    "top_indicators",
]


@dataclass(frozen=True, slots=True)
class AlertDay:
    """How many alerts one day had, in all and per severity."""

    day: dt.date
    total: int
    by_severity: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"day": self.day.isoformat(), "total": self.total, "bySeverity": dict(self.by_severity)}


@dataclass(frozen=True, slots=True)
class Indicator:
    """An indicator (typology and rule) and how many alerts and cases it raised."""

    typology: str
    rule: str
    alerts: int
    cases: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"typology": self.typology, "rule": self.rule, "alerts": self.alerts, "cases": self.cases}


@dataclass(frozen=True, slots=True)
class ClockEntry:
    """An open case and its 24-hour reporting clock at ``as_of``: time left (negative: overdue)."""

    case_id: int
    subject_type: str
    subject_id: str
    status: CaseStatus
    severity: str
    assignee: str | None
    opened_at: dt.datetime
    deadline: dt.datetime
    seconds_left: float

    @property
    def overdue(self) -> bool:
        """Whether the deadline has passed."""
        return self.seconds_left < 0

    @property
    def elapsed_fraction(self) -> float:
        """How much of the 24 hours is used, from 0 to 1 (1 once overdue), for a progress bar."""
        total = REPORTING_DEADLINE.total_seconds()
        return min(1.0, max(0.0, 1.0 - self.seconds_left / total))

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "case": self.case_id,
            "subject": {"type": self.subject_type, "id": self.subject_id},
            "status": str(self.status),
            "severity": self.severity,
            "assignee": self.assignee,
            "openedAt": self.opened_at.isoformat() + "Z",
            "deadline": self.deadline.isoformat() + "Z",
            "secondsLeft": self.seconds_left,
            "overdue": self.overdue,
        }


def _where(where: ColumnElement[bool] | None) -> ColumnElement[bool]:
    return true() if where is None else where


def _naive(moment: dt.datetime | None) -> dt.datetime:
    if moment is None:
        return dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return moment if moment.tzinfo is None else moment.astimezone(dt.UTC).replace(tzinfo=None)


def alerts_over_time(
    engine: Engine, *, where: ColumnElement[bool] | None = None, days: int | None = 90
) -> list[AlertDay]:
    """Alerts per day (of their last event), oldest first, every day of the span listed (zeros included).

    ``days``: keep only the last ``days`` days up to the latest alert (None: the whole history).
    """
    joined = t.case_alerts.join(t.cases, t.cases.c.id == t.case_alerts.c.case_id)
    query = select(t.case_alerts.c.last_event_time, t.case_alerts.c.severity).select_from(joined)
    with engine.connect() as connection:
        rows = list(connection.execute(query.where(_where(where))))
    if not rows:
        return []
    counts: dict[dt.date, Counter[str]] = {}
    for moment, severity in rows:
        counts.setdefault(moment.date(), Counter())[severity] += 1
    last = max(counts)
    first = min(counts)
    if days is not None:
        first = max(first, last - dt.timedelta(days=max(days, 1) - 1))
    out: list[AlertDay] = []
    day = first
    while day <= last:
        found = counts.get(day, Counter())
        ordered = {severity: found[severity] for severity in SEVERITY_ORDER if found[severity]}
        out.append(AlertDay(day, sum(found.values()), ordered))
        day += dt.timedelta(days=1)
    return out


def top_indicators(
    engine: Engine, *, where: ColumnElement[bool] | None = None, limit: int = 10
) -> list[Indicator]:
    """The indicators (typology, rule) that raised the most alerts, with how many cases they touch."""
    alerts = t.case_alerts.c
    joined = t.case_alerts.join(t.cases, t.cases.c.id == alerts.case_id)
    query = (
        select(
            alerts.typology,
            alerts.rule,
            func.count().label("alerts"),
            func.count(alerts.case_id.distinct()).label("cases"),
        )
        .select_from(joined)
        .where(_where(where))
        .group_by(alerts.typology, alerts.rule)
        .order_by(func.count().desc(), alerts.typology, alerts.rule)
        .limit(limit)
    )
    with engine.connect() as connection:
        return [Indicator(row[0], row[1], int(row[2]), int(row[3])) for row in connection.execute(query)]


def open_cases_clock(
    engine: Engine,
    *,
    where: ColumnElement[bool] | None = None,
    as_of: dt.datetime | None = None,
    limit: int | None = 50,
) -> tuple[list[ClockEntry], dict[str, int]]:
    """Open cases (not reported, not closed), most urgent first, and counts: open, overdue, due within 6 h."""
    moment = _naive(as_of)
    finals = [str(status) for status in FINAL_STATUSES]
    cases = t.cases.c
    query = (
        select(t.cases).where(cases.status.not_in(finals), _where(where)).order_by(cases.deadline, cases.id)
    )
    with engine.connect() as connection:
        rows = list(connection.execute(query))
    entries = [
        ClockEntry(
            case_id=row.id,
            subject_type=row.subject_type,
            subject_id=row.subject_id,
            status=CaseStatus(row.status),
            severity=row.severity,
            assignee=row.assignee,
            opened_at=row.opened_at,
            deadline=row.deadline,
            seconds_left=(row.deadline - moment).total_seconds(),
        )
        for row in rows
    ]
    soon = dt.timedelta(hours=6).total_seconds()
    counts = {
        "open": len(entries),
        "overdue": sum(1 for entry in entries if entry.overdue),
        "dueSoon": sum(1 for entry in entries if 0 <= entry.seconds_left <= soon),
    }
    return (entries if limit is None else entries[:limit]), counts
