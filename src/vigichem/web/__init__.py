"""The analyst web interface (server-rendered Jinja2 + HTMX), mounted on the API app by :func:`install`."""

from __future__ import annotations

from fastapi import FastAPI

__all__ = ["install"]


def install(app: FastAPI) -> None:
    """Add the web interface's pages and static files to ``app`` (being built in issue 5)."""
