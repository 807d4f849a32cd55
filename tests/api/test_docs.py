"""``docs/api.md`` lists every API route with the permission its handler actually requires."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.routing import APIRoute, iter_route_contexts

from vigichem.api import create_app
from vigichem.api.auth import current_principal
from vigichem.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
_ROW = re.compile(r"^\| `(GET|POST|PUT|PATCH|DELETE) (/[^`]*)` \| ([^|]+) \|", re.MULTILINE)


def _required(route: APIRoute) -> str:
    """The permission named by the route's ``requires(...)`` dependency; else whether it needs a caller."""
    authenticated = False
    stack = list(route.dependant.dependencies)
    while stack:
        dependency = stack.pop()
        permission = getattr(dependency.call, "required_permission", None)
        if permission is not None:
            return f"`{permission}`"
        authenticated = authenticated or dependency.call is current_principal
        stack.extend(dependency.dependencies)
    return "authenticated" if authenticated else "public"


def test_every_route_is_documented_with_its_permission() -> None:
    app = create_app(Settings(data_dir=Path("unused-node-dir")))
    actual: dict[tuple[str, str], str] = {}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or route.endpoint.__module__.startswith("vigichem.web"):
            continue
        for method in route.methods:
            actual[(method, context.path_format or "")] = _required(route)
    documented = {(m, p): perm.strip() for m, p, perm in _ROW.findall(DOC.read_text(encoding="utf-8"))}
    assert documented == actual
