"""Schemathesis against the OpenAPI document: for every operation, no 5xx and every 4xx in the error envelope.

The schema is loaded from the ASGI app (``schemathesis.openapi.from_asgi``) bound to the invented world of
:mod:`tests.api.world` (SQLite and PostgreSQL). Each operation is called with the bearer token of an actor
that holds its permission, so that generated inputs reach the route's own checks rather than stopping at 403.
Both valid (positive) and schema-violating (negative) inputs are generated; examples are limited to keep the
run short. (Schemathesis' pytest plugin ``from_fixture`` does not run under this pytest version, so each
operation's strategy is driven by Hypothesis directly.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from tests.api.world import World
from vigichem.api import create_app
from vigichem.settings import Settings

MAX_EXAMPLES = 6


def _cases() -> list[tuple[GenerationMode, str, str]]:
    """(mode, method, path) for every operation; negative inputs only where the operation takes any input."""
    # The document does not depend on the node: build it once at collection, without opening a database.
    document = create_app(Settings(data_dir=Path("unused-node-dir"))).openapi()
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            found.append((GenerationMode.POSITIVE, method.upper(), path))
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            if operation.get("parameters") or body.get("schema"):
                found.append((GenerationMode.NEGATIVE, method.upper(), path))
    return sorted(found)


@pytest.fixture(scope="module")
def api_schema(world_client: TestClient) -> Any:
    """The OpenAPI schema of the app bound to the world's node."""
    return schemathesis.openapi.from_asgi("/openapi.json", world_client.app)


def _actor(method: str, path: str) -> str:
    """An actor that holds the operation's permission (see the authorisation matrix)."""
    if path.startswith("/admin") or (method == "POST" and path == "/products"):
        return "nodeadmin"
    if path in ("/capture", "/decide"):
        return "compliance"
    return "analyst"


def _check(response: Any, label: str) -> None:
    assert response.status_code < 500, f"{label}: {response.status_code} {response.text[:500]}"
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"}, f"{label}: {body}"
        error = body["error"]
        assert isinstance(error.get("code"), str) and error["code"], f"{label}: {body}"
        assert isinstance(error.get("message"), str) and error["message"], f"{label}: {body}"
        assert set(error) <= {"code", "message", "details"}, f"{label}: {body}"


@pytest.mark.parametrize(("mode", "method", "path"), _cases(), ids=lambda value: str(value))
def test_no_server_error_and_every_error_in_the_envelope(
    api_schema: Any, world: World, mode: GenerationMode, method: str, path: str
) -> None:
    headers = world.headers(_actor(method, path))

    @given(case=api_schema[path][method].as_strategy(mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        response = case.call(headers={**(case.headers or {}), **headers})
        _check(response, f"{method} {path} ({mode}) {case.path_parameters} {case.query} {case.body!r:.300}")

    run()
