"""The dashboard, the alert queue, the case page with its actions, and the suspicious-transaction report.

Every read applies :func:`vigichem.accounts.policy.case_condition`; a case outside the principal's tenancy
is answered as not found (the 404 page). Actions need ``cases:act``, the report ``reports:read``.
"""

from __future__ import annotations

import io
import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import and_, select

from vigichem.accounts import Permission, Principal, list_users, policy
from vigichem.accounts import tables as account_tables
from vigichem.cases import (
    TRANSITIONS,
    Case,
    CaseStatus,
    assign,
    comment,
    count_cases,
    get_case,
    list_alerts,
    transition,
)
from vigichem.cases import tables as case_tables
from vigichem.cases.dashboard import alerts_over_time, open_cases_clock, top_indicators
from vigichem.cases.recording import SEVERITY_ORDER, utc
from vigichem.errors import InvalidInput, NotFound
from vigichem.ledger.db import events
from vigichem.ledger.node import Node
from vigichem.web.routes.common import IdPath, NodeDep
from vigichem.web.security import PagePrincipal, need
from vigichem.web.templating import nav_for, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
PER_PAGE = 50
ACTIONS = ("triage", "investigating", "reported", "closed")


def check_case(node: Node, principal: Principal, case_id: int) -> None:
    """404 unless the case exists and the policy lets the principal see it."""
    visible = and_(case_tables.cases.c.id == case_id, policy.case_condition(principal))
    if count_cases(node.engine, where=visible) == 0:
        raise NotFound(f"no case {case_id}", details={"case": case_id})


def _assignees(node: Node, principal: Principal) -> list[str]:
    """Colleagues a case may go to: active users of the principal's organisation who may act on cases."""
    users = list_users(node.engine, account_tables.users.c.organisation_id == principal.user.organisation)
    return [
        user.username
        for user in users
        if not user.disabled and Permission.CASES_ACT in policy.ROLE_PERMISSIONS[user.role]
    ]


@router.get("/ui/", response_class=HTMLResponse)
def dashboard(request: Request, principal: PagePrincipal, node: NodeDep) -> Response:
    """Alerts over time, top indicators, open cases against the 24 h clock (roles without alerts go home)."""
    if not principal.can(Permission.ALERTS_READ):
        entries = nav_for(principal)
        if entries:
            return RedirectResponse(entries[0].href, status_code=303)
    need(principal, Permission.ALERTS_READ)
    where = policy.case_condition(principal)
    days = alerts_over_time(node.engine, where=where, days=120)
    top = top_indicators(node.engine, where=where, limit=8)
    clock, counts = open_cases_clock(node.engine, where=where, limit=25)
    over_time = {
        "type": "bar",
        "stacked": True,
        "labels": [day.day.isoformat() for day in days],
        "datasets": [
            {"label": severity, "key": severity, "data": [day.by_severity.get(severity, 0) for day in days]}
            for severity in SEVERITY_ORDER
        ],
    }
    indicators = {
        "type": "bar",
        "horizontal": True,
        "labels": [
            item.typology if item.rule == item.typology else f"{item.typology} ({item.rule})" for item in top
        ],
        "datasets": [{"label": "alerts", "key": "alerts", "data": [item.alerts for item in top]}],
    }
    return render(
        request,
        "dashboard.html",
        principal,
        over_time=over_time,
        indicators=indicators,
        top=top,
        clock=clock,
        counts=counts,
        total_alerts=sum(day.total for day in days),
    )


@router.get("/ui/alerts", response_class=HTMLResponse)
def alerts_page(
    request: Request,
    principal: PagePrincipal,
    node: NodeDep,
    severity: str = "",
    typology: str = "",
    status: str = "",
    assignee: str = "",
    group: str = "",
    page: int = 0,
) -> HTMLResponse:
    """The alert queue with filters, grouped by case when asked, each alert with its explanation."""
    need(principal, Permission.ALERTS_READ)
    if page < 0 or page > 10**6:
        raise InvalidInput(f"page {page} is out of range")
    found, total = list_alerts(
        node.engine,
        where=policy.case_condition(principal),
        severities=[severity] if severity else (),
        typology=typology or None,
        statuses=[status] if status else (),
        assignee=(principal.actor if assignee == "me" else assignee) or None,
        limit=PER_PAGE,
        offset=page * PER_PAGE,
    )
    groups: dict[int, dict[str, Any]] = {}
    for case, alert in found:
        groups.setdefault(case.id, {"case": case, "alerts": []})["alerts"].append(alert)
    with node.engine.connect() as connection:
        typologies = sorted(set(connection.scalars(select(case_tables.case_alerts.c.typology).distinct())))
    filters = {
        "severity": severity,
        "typology": typology,
        "status": status,
        "assignee": assignee,
        "group": group,
    }
    return render(
        request,
        "alerts.html",
        principal,
        rows=found,
        groups=list(groups.values()),
        total=total,
        page=page,
        more=(page + 1) * PER_PAGE < total,
        filters=filters,
        severities=SEVERITY_ORDER,
        statuses=[str(s) for s in CaseStatus],
        typologies=typologies,
        assignees=_assignees(node, principal) if principal.can(Permission.CASES_ACT) else [],
        may_act=principal.can(Permission.CASES_ACT),
    )


def _evidence(node: Node, case: Case) -> list[dict[str, Any]]:
    """The case's evidence events from the ledger (time, step, location, lot), oldest first."""
    if not case.evidence:
        return []
    query = select(
        events.c.hash_id, events.c.event_time, events.c.biz_step, events.c.biz_location, events.c.event_json
    )
    with node.engine.connect() as connection:
        rows = list(connection.execute(query.where(events.c.hash_id.in_(list(case.evidence)))))
    out = []
    for row in sorted(rows, key=lambda r: r.event_time):
        event = json.loads(row.event_json)
        lots = [
            item.get("epcClass")
            for key in ("quantityList", "inputQuantityList", "outputQuantityList", "childQuantityList")
            for item in event.get(key, []) or []
            if isinstance(item, dict)
        ]
        out.append(
            {
                "hash_id": row.hash_id,
                "time": row.event_time,
                "biz_step": row.biz_step,
                "location": row.biz_location,
                "lots": [lot for lot in lots if lot],
                "quantities": [
                    f"{item.get('quantity')} {item.get('uom') or 'EA'}"
                    for item in event.get("quantityList", []) or []
                ],
                "party_ref": event.get("vc:customerRef"),
            }
        )
    return out


def _case_page(
    request: Request, principal: Principal, node: Node, case_id: int, *, error: str | None = None
) -> HTMLResponse:
    check_case(node, principal, case_id)
    case = get_case(node.engine, case_id)
    evidence = _evidence(node, case)
    timeline: list[dict[str, Any]] = [
        {"at": item["time"], "kind": "event", "text": item["biz_step"] or "event", "ref": item["hash_id"]}
        for item in evidence
    ]
    timeline += [
        {"at": entry.at, "kind": "audit", "text": entry.action, "ref": entry.actor, "entry": entry}
        for entry in case.audit
    ]
    timeline.sort(key=lambda item: item["at"])
    now = utc()
    return render(
        request,
        "case.html",
        principal,
        status_code=400 if error else 200,
        case=case,
        evidence=evidence,
        timeline=timeline,
        overdue=case.overdue(now),
        seconds_left=(case.deadline - now).total_seconds(),
        # the workflow's next step first, closing last
        moves=sorted(
            (str(move) for move in TRANSITIONS[case.status]), key=lambda move: (move == "closed", move)
        ),
        may_act=principal.can(Permission.CASES_ACT),
        may_report=principal.can(Permission.REPORTS_READ),
        assignees=_assignees(node, principal) if principal.can(Permission.CASES_ACT) else [],
        error=error,
    )


@router.get("/ui/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, principal: PagePrincipal, node: NodeDep, case_id: IdPath) -> HTMLResponse:
    """A case: the clock, timeline, evidence, alerts, actions and audit trail."""
    need(principal, Permission.CASES_READ)
    return _case_page(request, principal, node, case_id)


def _act(request: Request, principal: Principal, node: Node, case_id: int, action: Any) -> Response:
    """Run a case action; on bad input show the case page with the message, else back to it (303)."""
    need(principal, Permission.CASES_ACT)
    check_case(node, principal, case_id)
    try:
        action()
    except InvalidInput as exc:
        return _case_page(request, principal, node, case_id, error=exc.message)
    return RedirectResponse(f"/ui/cases/{case_id}", status_code=303)


@router.post("/ui/cases/{case_id}/assign")
def assign_case(
    request: Request,
    principal: PagePrincipal,
    node: NodeDep,
    case_id: IdPath,
    assignee: Annotated[str, Form(max_length=200)] = "",
    back: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Assign the case to a user of the tenancy who may act on cases ("me" for oneself)."""
    who = principal.actor if assignee in ("", "me") else assignee

    def run() -> None:
        if who != principal.actor and who not in _assignees(node, principal):
            raise InvalidInput(f"{who!r} is not a user who may work on cases here")
        assign(node.engine, case_id, who, actor=principal.actor)

    answer = _act(request, principal, node, case_id, run)
    if back == "alerts" and isinstance(answer, RedirectResponse):
        return RedirectResponse(request.headers.get("referer") or "/ui/alerts", status_code=303)
    return answer


@router.post("/ui/cases/{case_id}/comment")
def comment_case(
    request: Request,
    principal: PagePrincipal,
    node: NodeDep,
    case_id: IdPath,
    text: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    """Add a comment (an audit entry: never edited, never removed)."""
    return _act(
        request, principal, node, case_id, lambda: comment(node.engine, case_id, text, actor=principal.actor)
    )


@router.post("/ui/cases/{case_id}/transition")
def transition_case(
    request: Request,
    principal: PagePrincipal,
    node: NodeDep,
    case_id: IdPath,
    to: Annotated[str, Form(max_length=40)] = "",
    resolution: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Move the case through the workflow (triage, investigating, reported, closed with a resolution)."""
    return _act(
        request,
        principal,
        node,
        case_id,
        lambda: transition(node.engine, case_id, to, actor=principal.actor, resolution=resolution or None),
    )


def _report(node: Node, principal: Principal, case_id: int) -> dict[str, Any]:
    from vigichem.cases import build_report  # RDKit-backed: loaded on first use

    need(principal, Permission.REPORTS_READ)
    check_case(node, principal, case_id)
    report: dict[str, Any] = build_report(
        node.engine, case_id, reporter=principal.user.display_name, actor=principal.actor
    )
    return report


@router.get("/ui/cases/{case_id}/report", response_class=HTMLResponse)
def report_page(request: Request, principal: PagePrincipal, node: NodeDep, case_id: IdPath) -> HTMLResponse:
    """The STR of the case as a page (recorded in the audit trail; buyer reads logged in the vault)."""
    report = _report(node, principal, case_id)
    return render(request, "report.html", principal, report=report, case_id=case_id)


@router.get("/ui/cases/{case_id}/report.pdf")
def report_pdf(
    request: Request, principal: PagePrincipal, node: NodeDep, case_id: IdPath, lang: str = "en"
) -> Response:
    """The STR as a PDF download, in English or French."""
    from vigichem.cases import render_pdf

    if lang not in ("en", "fr"):
        raise InvalidInput(f"language {lang!r} is not one of en, fr")
    report = _report(node, principal, case_id)
    buffer = io.BytesIO()
    render_pdf(report, buffer, lang=lang)
    filename = f"vigichem-case-{case_id}-report-{lang}.pdf"
    return Response(
        buffer.getvalue(),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
