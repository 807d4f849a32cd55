"""Pagination of every list the API returns: ``limit`` and ``offset`` in, one page envelope out.

A list answer is ``{"items": [...], "page": {"limit", "offset", "total", "nextOffset"}}``; ``nextOffset`` is
None on the last page. (``GET /events`` pages the EPCIS way instead: ``perPage`` and ``nextPageToken``.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "PageDep", "PageParams", "page_of"]

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@dataclass(frozen=True, slots=True)
class PageParams:
    """Which slice of a list is asked for."""

    limit: int = DEFAULT_LIMIT
    offset: int = 0

    def slice(self, items: Sequence[Any]) -> list[Any]:
        """This page of an in-memory list."""
        return list(items[self.offset : self.offset + self.limit])


def _page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=10**9, description="Items to skip.")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(_page_params)]


def page_of(items: Sequence[Any], total: int, params: PageParams) -> dict[str, Any]:
    """The page envelope for ``items`` (already this page's) out of ``total``."""
    following = params.offset + len(items)
    return {
        "items": list(items),
        "page": {
            "limit": params.limit,
            "offset": params.offset,
            "total": total,
            "nextOffset": following if following < total else None,
        },
    }
