"""Screening routes (``screen``): ``POST /screen``, ``GET /lists`` and ``GET /jurisdictions``.

``POST /screen`` takes ``{query, jurisdiction?, asOf?, quantity?}`` (a CAS number, name, SMILES, InChI,
InChIKey or a mixture ``"name 30%; other 70%"``) and answers the screening result: identity, findings with
their reasons and legal sources, components of a mixture, notes. A query that cannot be used (bad CAS check
digit, unreadable SMILES, unknown name or jurisdiction) is a 400 naming the problem.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from vigichem.accounts import Permission, Principal
from vigichem.api.auth import requires
from vigichem.api.common import error_responses
from vigichem.api.pagination import PageDep, page_of
from vigichem.chem import load_knowledge_base, screen

__all__ = ["router"]

router = APIRouter(tags=["screening"])
ScreenDep = Annotated[Principal, Depends(requires(Permission.SCREEN))]


class ScreenRequest(BaseModel):
    """What to screen, where, as of when, and how much."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    query: str = Field(min_length=1, description="CAS, name, SMILES, InChI, InChIKey or a mixture.")
    jurisdiction: str | None = Field(default=None, max_length=16, description="e.g. EU, FR (default: all).")
    as_of: dt.date | None = Field(default=None, alias="asOf", description="Apply the law in force that day.")
    quantity: str | None = Field(default=None, max_length=100, description="e.g. '500 kg'.")


@router.post("/screen", summary="Screen a chemical or a mixture", responses=error_responses(400, 403, 413))
async def screen_query(body: ScreenRequest, principal: ScreenDep) -> dict[str, Any]:
    """The screening result (``ScreeningResult`` as JSON)."""
    result = await run_in_threadpool(screen, body.query, body.jurisdiction, body.as_of, body.quantity)
    answer: dict[str, Any] = result.model_dump(mode="json")
    answer["controlled"] = result.controlled
    return answer


@router.get("/lists", summary="The regulatory lists screened", responses=error_responses(403))
def lists(principal: ScreenDep, page: PageDep) -> dict[str, Any]:
    """Each list: id, titles, status, legal source, entry count, date in force, jurisdictions."""
    kb = load_knowledge_base()
    rows = [
        {
            "id": item.id,
            "short": item.short,
            "title": item.title,
            "titleFr": item.title_fr,
            "authority": item.authority,
            "status": item.status,
            "source": " ".join(item.source.split()),
            "url": item.url,
            "version": item.version,
            "effectiveFrom": item.effective_from.isoformat() if item.effective_from else None,
            "entries": len(item.entries),
            "jurisdictions": kb.jurisdictions_of(item.id),
        }
        for item in kb.lists.values()
    ]
    return page_of(page.slice(rows), len(rows), page)


@router.get("/jurisdictions", summary="The jurisdictions and their lists", responses=error_responses(403))
def jurisdictions(principal: ScreenDep, page: PageDep) -> dict[str, Any]:
    """Each jurisdiction: code, English and French name, the lists that apply (own and inherited)."""
    kb = load_knowledge_base()
    rows = [
        {
            "code": item.code,
            "name": item.name,
            "nameFr": item.name_fr,
            "lists": [regulatory_list.id for regulatory_list in kb.lists_for(item.code)],
            "inherits": list(item.inherits),
            "source": " ".join(item.source.split()),
        }
        for item in kb.jurisdictions.values()
    ]
    return page_of(page.slice(rows), len(rows), page)
