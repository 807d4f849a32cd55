"""API fixtures: the ledger's per-test ``node`` (SQLite and PostgreSQL), and a module-wide invented world.

``world`` (module scope, parametrised over both databases like ``tests/ledger/conftest.py``'s ``engine``)
builds :mod:`tests.api.world` once per module and database: argon2 hashing makes accounts costly to create
for every test. ``world_client`` is a TestClient on an app bound to that world's node.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.api.world import World, build_world
from tests.ledger.conftest import postgres_url, require_postgres
from vigichem.accounts import Role, TenantKind, create_user, issue_token
from vigichem.api import create_app
from vigichem.ledger.masterdata import MasterData
from vigichem.ledger.masterdata_models import MasterDataFile
from vigichem.ledger.node import Node, init_node
from vigichem.settings import Settings


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database URL for one module: a SQLite file or a PostgreSQL schema dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('world') / 'world.sqlite3'}"
        return
    require_postgres()
    schema = f"vigichem_api_{uuid.uuid4().hex[:16]}"
    admin = create_engine(postgres_url())
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = make_url(postgres_url()).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="module")
def world(world_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The invented world of :mod:`tests.api.world` on a fresh node."""
    created = init_node(tmp_path_factory.mktemp("node") / "node", "Test node", "FR", database_url=world_url)
    try:
        yield build_world(created)
    finally:
        created.close()


@pytest.fixture(scope="module")
def world_client(world: World) -> Iterator[TestClient]:
    """A TestClient on an app bound to the world's node (no credentials of its own)."""
    app = create_app(
        Settings(data_dir=world.node.data_dir, secret_key="invented-test-secret"), node=world.node
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def bearer_of(
    node: Node,
    role: Role = Role.OPERATOR_COMPLIANCE,
    *,
    organisation: str | None = "op-test",
    locations: tuple[str, ...] = (),
) -> dict[str, str]:
    """Bearer headers of a new account of ``role`` in ``organisation`` (registered, FR, with a site for each
    of ``locations`` so that an operator may capture and read events there). Invented test data."""
    if organisation is not None:
        kind = "operator" if role.tenant_kind is TenantKind.OPERATOR else "authority"
        MasterData(node.engine).load(
            MasterDataFile.model_validate(
                {
                    "organisations": [
                        {"id": organisation, "name": "Invented org", "country": "FR", "kind": kind}
                    ],
                    "sites": [
                        {
                            "id": f"{organisation}-{index}",
                            "organisation": organisation,
                            "name": "Invented site",
                            "location": location,
                        }
                        for index, location in enumerate(locations)
                    ],
                }
            )
        )
    username = f"user-{uuid.uuid4().hex[:8]}"
    user = create_user(node.engine, username, "invented-password-1", role, organisation=organisation)
    return {"Authorization": f"Bearer {issue_token(node.engine, user, 'tests')[1]}"}


__all__ = ["bearer_of"]
