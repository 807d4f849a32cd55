"""Report and personal-data routes.

* ``GET /cases/{id}/report`` (``reports:read``) — the suspicious-transaction report (STR) of a case as JSON;
  ``GET /cases/{id}/report.pdf?lang=en|fr`` — the same as a PDF download. Building a report reads the
  buyers' personal data from the vault under the caller's username (each read is in the vault's access log)
  and records the report in the case's audit trail.
* ``GET /parties/{ref}?purpose=`` (``personal-data:read``) — a buyer's personal data, for a stated purpose,
  only when the caller sees at least one event of that buyer; the read is logged.
"""

from __future__ import annotations

import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.concurrency import run_in_threadpool

from vigichem.accounts import Permission, Principal, policy
from vigichem.api.auth import requires
from vigichem.api.common import IdPath, NodeDep, error_responses, settings_of
from vigichem.api.routers.cases import check_case
from vigichem.ledger.node import Node
from vigichem.ledger.vault import Vault

__all__ = ["router"]

router = APIRouter(tags=["reports"])
ReportsDep = Annotated[Principal, Depends(requires(Permission.REPORTS_READ))]
PersonalDep = Annotated[Principal, Depends(requires(Permission.PERSONAL_DATA_READ))]


def _report(node: Node, principal: Principal, case_id: int) -> dict[str, Any]:
    from vigichem.cases import build_report  # RDKit-backed: loaded on first use

    check_case(node, principal, case_id)
    report: dict[str, Any] = build_report(
        node.engine, case_id, reporter=principal.user.display_name, actor=principal.actor
    )
    return report


@router.get("/cases/{case_id}/report", summary="The case's STR as JSON", responses=error_responses(403, 404))
async def report_json(case_id: IdPath, node: NodeDep, principal: ReportsDep) -> dict[str, Any]:
    """The suspicious-transaction report (schema ``vigichem-str/1``); reading it logs the vault reads."""
    return await run_in_threadpool(_report, node, principal, case_id)


@router.get(
    "/cases/{case_id}/report.pdf",
    summary="The case's STR as a PDF",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "The report as a PDF download."},
        **error_responses(403, 404),
    },
)
async def report_pdf(
    case_id: IdPath,
    node: NodeDep,
    principal: ReportsDep,
    lang: Annotated[Literal["en", "fr"], Query(description="Language of the PDF.")] = "en",
) -> Response:
    """The report rendered as a PDF in English or French (an attachment)."""

    def run() -> bytes:
        from vigichem.cases import render_pdf  # reportlab is only needed for the PDF

        report = _report(node, principal, case_id)
        buffer = io.BytesIO()
        render_pdf(report, buffer, lang=lang)
        return buffer.getvalue()

    pdf = await run_in_threadpool(run)
    filename = f"vigichem-case-{case_id}-report-{lang}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/parties/{ref}", summary="A buyer's personal data (logged)", responses=error_responses(403, 404))
def party(
    node: NodeDep,
    principal: PersonalDep,
    ref: Annotated[str, Path(min_length=1, max_length=128)],
    purpose: Annotated[str, Query(min_length=3, max_length=500, description="Why the data are read.")],
    request_settings: Annotated[Any, Depends(settings_of)],
) -> dict[str, Any]:
    """The party's personal data, if the caller sees one of its events; the read goes to the access log."""
    with node.engine.connect() as connection:
        policy.check_party(connection, principal, ref)
    vault = Vault(node.engine, request_settings.secret_key)
    data = vault.read_party(ref, actor=principal.actor, purpose=purpose.strip())
    return {"ref": ref, "personalData": data.model_dump(mode="json")}
