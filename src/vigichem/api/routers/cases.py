"""Alert and case routes: the alert queue, cases with their 24-hour clock, case actions and the audit trail.

* ``GET /alerts`` (``alerts:read``) — the queue, newest first, filtered by ``severity``, ``typology``,
  ``rule``, ``status`` and ``assignee``;
* ``GET /cases``, ``GET /cases/{id}``, ``GET /cases/{id}/audit`` (``cases:read``);
* ``POST /cases/{id}/assign|comment|transition|evidence`` (``cases:act``), recorded in the audit trail under
  the caller's username.

Every read applies :func:`vigichem.accounts.policy.case_condition`: a case outside the caller's tenancy is
answered 404. Reports are in :mod:`vigichem.api.routers.reports`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import and_

from vigichem.accounts import Permission, Principal, policy
from vigichem.api.auth import requires
from vigichem.api.common import IdPath, NodeDep, error_responses
from vigichem.api.pagination import PageDep, page_of
from vigichem.cases import (
    CaseStatus,
    Resolution,
    assign,
    audit_trail,
    comment,
    count_cases,
    get_case,
    link_evidence,
    list_alerts,
    list_cases,
    transition,
)
from vigichem.cases import tables as case_tables
from vigichem.cases.recording import SEVERITY_ORDER, utc
from vigichem.errors import NotFound
from vigichem.ledger.db import events
from vigichem.ledger.node import Node

__all__ = ["check_case", "router"]

router = APIRouter(tags=["cases"])
AlertsDep = Annotated[Principal, Depends(requires(Permission.ALERTS_READ))]
ReadDep = Annotated[Principal, Depends(requires(Permission.CASES_READ))]
ActDep = Annotated[Principal, Depends(requires(Permission.CASES_ACT))]
_DETAIL_ONLY = frozenset({"alerts", "evidence", "comments", "audit"})


class Assignment(BaseModel):
    """Who takes the case."""

    model_config = ConfigDict(extra="forbid")
    assignee: str = Field(min_length=1, max_length=200)


class Comment(BaseModel):
    """A comment on the case."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=10_000)


class Transition(BaseModel):
    """A move in the workflow; closing needs a resolution."""

    model_config = ConfigDict(extra="forbid")
    to: CaseStatus
    resolution: Resolution | None = None


class Evidence(BaseModel):
    """Ledger events (Event Hash IDs) to link to the case."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    hash_ids: list[str] = Field(alias="hashIds", min_length=1, max_length=500)


def check_case(node: Node, principal: Principal, case_id: int) -> None:
    """Raise :class:`NotFound` unless the case exists and the caller's tenancy shows it."""
    visible = and_(case_tables.cases.c.id == case_id, policy.case_condition(principal))
    if count_cases(node.engine, where=visible) == 0:
        raise NotFound(f"no case {case_id}", details={"case": case_id})


def _case(node: Node, principal: Principal, case_id: int) -> dict[str, Any]:
    check_case(node, principal, case_id)
    answer: dict[str, Any] = get_case(node.engine, case_id).to_dict(utc())
    return answer


@router.get("/alerts", summary="The alert queue", responses=error_responses(400, 403))
def alerts(
    node: NodeDep,
    principal: AlertsDep,
    page: PageDep,
    severity: Annotated[list[str] | None, Query(description=f"One of {', '.join(SEVERITY_ORDER)}.")] = None,
    typology: Annotated[str | None, Query(max_length=200)] = None,
    rule: Annotated[str | None, Query(max_length=200)] = None,
    status: Annotated[list[CaseStatus] | None, Query(description="The alert's case status.")] = None,
    assignee: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """Alerts with their case (id, status, assignee), newest detection first."""
    found, total = list_alerts(
        node.engine,
        where=policy.case_condition(principal),
        severities=severity or (),
        typology=typology,
        rule=rule,
        statuses=status or (),
        assignee=assignee,
        limit=page.limit,
        offset=page.offset,
    )
    items = [
        {**alert.to_dict(), "case": {"id": case.id, "status": str(case.status), "assignee": case.assignee}}
        for case, alert in found
    ]
    return page_of(items, total, page)


@router.get("/cases", summary="Cases", responses=error_responses(403))
def cases(
    node: NodeDep,
    principal: ReadDep,
    page: PageDep,
    status: Annotated[list[CaseStatus] | None, Query()] = None,
    assignee: Annotated[str | None, Query(max_length=200)] = None,
    overdue: Annotated[
        bool | None, Query(description="Only cases past (true) or within (false) 24 h.")
    ] = None,
) -> dict[str, Any]:
    """Cases oldest first (without alerts and audit: ask ``/cases/{id}``), with the overdue flag."""
    now = utc()
    where = policy.case_condition(principal)
    statuses = status or ()
    if overdue is None:
        total = count_cases(node.engine, statuses=statuses, assignee=assignee, where=where)
        found = list_cases(
            node.engine,
            statuses=statuses,
            assignee=assignee,
            where=where,
            limit=page.limit,
            offset=page.offset,
        )
    else:
        # Overdue depends on the clock, not on a column: filter the whole list, then page it.
        every = list_cases(node.engine, statuses=statuses, assignee=assignee, where=where)
        matching = [case for case in every if case.overdue(now) is overdue]
        total, found = len(matching), page.slice(matching)
    # Listed cases are loaded without their alerts, evidence and audit: leave those keys out rather than
    # show them empty.
    summaries = [
        {key: value for key, value in case.to_dict(now).items() if key not in _DETAIL_ONLY} for case in found
    ]
    return page_of(summaries, total, page)


@router.get("/cases/{case_id}", summary="One case", responses=error_responses(403, 404))
def case(case_id: IdPath, node: NodeDep, principal: ReadDep) -> dict[str, Any]:
    """The case with its alerts, evidence, comments, audit trail and the 24-hour clock (deadline, overdue)."""
    return _case(node, principal, case_id)


@router.get("/cases/{case_id}/audit", summary="A case's audit trail", responses=error_responses(403, 404))
def audit(case_id: IdPath, node: NodeDep, principal: ReadDep, page: PageDep) -> dict[str, Any]:
    """The case's audit entries, oldest first."""
    check_case(node, principal, case_id)
    entries = audit_trail(node.engine, case_id)
    return page_of([entry.to_dict() for entry in page.slice(entries)], len(entries), page)


@router.post("/cases/{case_id}/assign", summary="Assign a case", responses=error_responses(400, 403, 404))
async def assign_case(case_id: IdPath, body: Assignment, node: NodeDep, principal: ActDep) -> dict[str, Any]:
    """Give the case to ``assignee``."""
    await run_in_threadpool(check_case, node, principal, case_id)
    await run_in_threadpool(lambda: assign(node.engine, case_id, body.assignee, actor=principal.actor))
    return await run_in_threadpool(_case, node, principal, case_id)


@router.post(
    "/cases/{case_id}/comment", summary="Comment on a case", responses=error_responses(400, 403, 404)
)
async def comment_case(case_id: IdPath, body: Comment, node: NodeDep, principal: ActDep) -> dict[str, Any]:
    """Add a comment (kept in the audit trail)."""
    await run_in_threadpool(check_case, node, principal, case_id)
    await run_in_threadpool(lambda: comment(node.engine, case_id, body.text, actor=principal.actor))
    return await run_in_threadpool(_case, node, principal, case_id)


@router.post(
    "/cases/{case_id}/transition",
    summary="Move a case in the workflow",
    responses=error_responses(400, 403, 404),
)
async def transition_case(
    case_id: IdPath, body: Transition, node: NodeDep, principal: ActDep
) -> dict[str, Any]:
    """Move the case to ``to`` (closing needs a ``resolution``); an illegal move is a 400."""
    await run_in_threadpool(check_case, node, principal, case_id)
    await run_in_threadpool(
        lambda: transition(node.engine, case_id, body.to, actor=principal.actor, resolution=body.resolution)
    )
    return await run_in_threadpool(_case, node, principal, case_id)


@router.post(
    "/cases/{case_id}/evidence", summary="Link events to a case", responses=error_responses(400, 403, 404)
)
async def evidence_case(case_id: IdPath, body: Evidence, node: NodeDep, principal: ActDep) -> dict[str, Any]:
    """Link ledger events the caller sees to the case as evidence (an event it cannot see is a 404)."""

    def run() -> dict[str, Any]:
        check_case(node, principal, case_id)
        wanted = list(dict.fromkeys(body.hash_ids))
        visible = {
            stored.hash_id
            for stored in node.store.select_events(
                [events.c.hash_id.in_(wanted), policy.event_condition(principal)]
            )
        }
        missing = [hash_id for hash_id in wanted if hash_id not in visible]
        if missing:
            raise NotFound(f"no event {missing[0]!r}", details={"hashIds": missing})
        link_evidence(node.engine, case_id, wanted, actor=principal.actor)
        return _case(node, principal, case_id)

    return await run_in_threadpool(run)
