"""The access policy's conditions for an operator, an authority and the node administrator.

On the invented world of :mod:`tests.api.world` (operators A and B in FR, C in DE; authorities FR and DE).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.api.world import ACTORS, OTHERS, World, open_case
from vigichem.accounts import Permission, Principal, Role, get_user, policy
from vigichem.cases import tables as case_tables
from vigichem.errors import InvalidInput, NotFound, PermissionDenied
from vigichem.ledger.db import events
from vigichem.ledger.inventory_tables import organisations, sites


def _principal(world: World, actor: str, scopes: set[Permission] | None = None) -> Principal:
    user = get_user(world.node.engine, world.user_ids[actor])
    permissions = policy.effective_permissions(user.role, scopes)
    return Principal(user=user, permissions=permissions, via="token" if scopes else "session")


def _ids(world: World, column: object, condition: object) -> set[object]:
    with world.node.engine.connect() as connection:
        return set(connection.scalars(select(column).where(condition)))  # type: ignore[call-overload]


def test_sites_and_organisations(world: World) -> None:
    def seen(actor: str) -> tuple[set[object], set[object]]:
        principal = _principal(world, actor)
        return (
            _ids(world, sites.c.id, policy.site_condition(principal)),
            _ids(world, organisations.c.id, policy.organisation_condition(principal)),
        )

    assert seen("clerk") == ({"site-a"}, {"op-a"})
    assert seen("analyst") == ({"site-a", "site-b"}, {"op-a", "op-b", "auth-fr"})
    assert seen("analyst_de") == ({"site-c"}, {"op-c", "auth-de"})
    node_sites, node_orgs = seen("nodeadmin")
    assert node_sites >= {"site-a", "site-b", "site-c"} and node_orgs >= {"auth-fr", "auth-de"}


def test_events(world: World) -> None:
    a, b, c = (world.tenants[key].event for key in "ABC")

    def seen(actor: str) -> set[object]:
        return _ids(world, events.c.hash_id, policy.event_condition(_principal(world, actor))) & {a, b, c}

    assert seen("clerk") == seen("compliance") == {a}
    assert seen("analyst") == seen("authadmin") == {a, b}
    assert seen("analyst_de") == {c}
    assert seen("nodeadmin") == set()  # the node administrator sees no business data


def test_cases_spanning_two_operators_stay_with_the_authority(world: World) -> None:
    a, b, c = (world.tenants[key] for key in "ABC")
    shared = open_case(world.node, (a.event, b.event))
    cross_border = open_case(world.node, (a.event, c.event))
    wanted = {a.case, b.case, c.case, shared, cross_border}

    def seen(actor: str) -> set[object]:
        condition = policy.case_condition(_principal(world, actor))
        return _ids(world, case_tables.cases.c.id, condition) & wanted

    assert seen("compliance") == {a.case}  # every evidence event must be at its own sites
    assert seen("analyst") == {a.case, b.case, shared, cross_border}  # any evidence event in its country
    assert seen("analyst_de") == {c.case, cross_border}
    assert seen("nodeadmin") == set()


def test_check_site_and_party(world: World) -> None:
    officer = _principal(world, "compliance")
    with world.node.engine.connect() as connection:
        policy.check_site(connection, officer, "site-a")
        with pytest.raises(NotFound):
            policy.check_site(connection, officer, "site-b")
        policy.check_party(connection, officer, world.tenants["A"].party)
        with pytest.raises(NotFound):
            policy.check_party(connection, officer, world.tenants["B"].party)
        with pytest.raises(PermissionDenied):
            policy.check_party(connection, _principal(world, "clerk"), world.tenants["A"].party)
        with pytest.raises(PermissionDenied):
            policy.check_party(connection, _principal(world, "authadmin"), world.tenants["A"].party)


def test_may_manage(world: World) -> None:
    root, admin, analyst = (_principal(world, actor) for actor in ("nodeadmin", "authadmin", "analyst"))
    assert policy.may_manage(root, Role.NODE_ADMIN, None)
    assert policy.may_manage(root, Role.OPERATOR_CLERK, "DE")
    assert policy.may_manage(admin, Role.OPERATOR_CLERK, "FR")
    assert policy.may_manage(admin, Role.AUTHORITY_ANALYST, "FR")
    assert not policy.may_manage(admin, Role.OPERATOR_CLERK, "DE")
    assert not policy.may_manage(admin, Role.NODE_ADMIN, None)
    assert not policy.may_manage(analyst, Role.OPERATOR_CLERK, "FR")
    narrowed = _principal(world, "authadmin", {Permission.SCREEN})
    assert not policy.may_manage(narrowed, Role.OPERATOR_CLERK, "FR")  # a token without users:manage


def test_require_names_the_role_or_the_token(world: World) -> None:
    with pytest.raises(PermissionDenied, match="the role does not allow cases:read"):
        policy.require(_principal(world, "clerk"), Permission.CASES_READ)
    with pytest.raises(PermissionDenied, match="this API token's scopes do not allow events:read"):
        policy.require(_principal(world, "compliance", {Permission.SCREEN}), Permission.EVENTS_READ)
    with pytest.raises(InvalidInput, match="does not hold"):
        policy.effective_permissions(Role.OPERATOR_CLERK, {Permission.USERS_MANAGE})


def test_every_role_is_used_by_the_world() -> None:
    # The matrix and these tests only mean something if every role has an actor.
    assert {role for _name, role, _org in {**ACTORS, **OTHERS}.values()} == set(Role)
