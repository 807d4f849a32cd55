"""The access policy of a node, in one place: who may do what, and which data each principal sees.

**Permissions by role** (:data:`ROLE_PERMISSIONS`): an operator's clerk screens, captures, sells (``decide``)
and reads its own stock; the operator's compliance officer also handles its alerts, cases and reports and
registers products; an authority analyst reads every operator of its country and works the cases; an
authority administrator manages the accounts of its country and runs detection; the node administrator
manages accounts, products and the ledger's integrity, but sees no business data and no personal data.
An API token carries a subset of its owner's permissions (its scopes).

**Tenancy** (the ``*_condition`` functions return SQL conditions that every read applies):

* an operator sees the events whose ``bizLocation`` is one of its own sites, its own sites and organisation,
  and a case only when *every* evidence event of the case lies at its own sites (a case that links several
  sellers — the authority's view — stays with the authority);
* an authority sees every event at a site in its country, every organisation of its country, and a case
  when any evidence event lies in its country;
* products are a shared catalogue: every principal allowed to read products reads all of them.

Objects outside a principal's tenancy are answered as *not found* (404), not *forbidden*, so that their
existence does not leak. A buyer's personal data is shown only to a principal that holds
``personal-data:read`` and sees at least one event of that buyer; every read is written to the vault's
access log by the caller (:meth:`vigichem.ledger.vault.Vault.read_party`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, exists, false, not_, or_, select, true

from vigichem.accounts.models import Permission, Principal, Role, TenantKind
from vigichem.cases import tables as case_tables
from vigichem.errors import InvalidInput, NotFound, PermissionDenied
from vigichem.ledger.db import events
from vigichem.ledger.inventory_tables import organisations, sites

__all__ = [
    "ROLE_PERMISSIONS",
    "case_condition",
    "check_capture_sites",
    "check_party",
    "check_site",
    "effective_permissions",
    "event_condition",
    "may_manage",
    "organisation_condition",
    "require",
    "site_condition",
]

_P = Permission
_CLERK = frozenset(
    {
        _P.SCREEN,
        _P.PRODUCTS_READ,
        _P.EVENTS_READ,
        _P.EVENTS_CAPTURE,
        _P.BALANCE_READ,
        _P.DECIDE,
        _P.LEDGER_READ,
        _P.TOKENS_MANAGE,
    }
)
_ANALYST = frozenset(
    {
        _P.SCREEN,
        _P.PRODUCTS_READ,
        _P.EVENTS_READ,
        _P.BALANCE_READ,
        _P.ALERTS_READ,
        _P.CASES_READ,
        _P.CASES_ACT,
        _P.REPORTS_READ,
        _P.PERSONAL_DATA_READ,
        _P.LEDGER_READ,
        _P.LEDGER_VERIFY,
        _P.DETECT_RUN,
        _P.TOKENS_MANAGE,
    }
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OPERATOR_CLERK: _CLERK,
    Role.OPERATOR_COMPLIANCE: _CLERK
    | {
        _P.PRODUCTS_WRITE,
        _P.ALERTS_READ,
        _P.CASES_READ,
        _P.CASES_ACT,
        _P.REPORTS_READ,
        _P.PERSONAL_DATA_READ,
        _P.LEDGER_VERIFY,
    },
    Role.AUTHORITY_ANALYST: _ANALYST,
    # Account administration is kept apart from casework: no case actions, reports or personal data.
    Role.AUTHORITY_ADMIN: (_ANALYST - {_P.CASES_ACT, _P.REPORTS_READ, _P.PERSONAL_DATA_READ})
    | {_P.USERS_MANAGE},
    Role.NODE_ADMIN: frozenset(
        {
            _P.SCREEN,
            _P.PRODUCTS_READ,
            _P.PRODUCTS_WRITE,
            _P.LEDGER_READ,
            _P.LEDGER_VERIFY,
            _P.DETECT_RUN,
            _P.USERS_MANAGE,
            _P.TOKENS_MANAGE,
        }
    ),
}
"""What each role may do; a token's scopes narrow this further."""


def effective_permissions(role: Role, scopes: Iterable[Permission] | None = None) -> frozenset[Permission]:
    """The permissions of ``role``, narrowed to ``scopes`` (a token's) when given.

    A scope the role does not hold is refused rather than ignored, so a token never looks wider than it is.
    """
    held = ROLE_PERMISSIONS[role]
    if scopes is None:
        return held
    wanted = frozenset(scopes)
    beyond = wanted - held
    if beyond:
        names = ", ".join(sorted(str(scope) for scope in beyond))
        raise InvalidInput(f"the role {role} does not hold the scope(s) {names}")
    return wanted


def require(principal: Principal, permission: Permission) -> None:
    """Raise :class:`PermissionDenied` unless the principal holds ``permission``."""
    if not principal.can(permission):
        how = "this API token's scopes do not" if principal.via == "token" else "the role does not"
        raise PermissionDenied(
            f"{how} allow {permission} ({principal.user.role})",
            details={"permission": str(permission), "role": str(principal.user.role)},
        )


def site_condition(principal: Principal) -> ColumnElement[bool]:
    """Condition on the ``sites`` table: the sites the principal sees."""
    user = principal.user
    kind = user.role.tenant_kind
    if kind is TenantKind.OPERATOR:
        return sites.c.organisation_id == user.organisation
    if kind is TenantKind.AUTHORITY:
        return sites.c.country == user.country
    return true()


def organisation_condition(principal: Principal) -> ColumnElement[bool]:
    """Condition on the ``organisations`` table: the organisations the principal sees."""
    user = principal.user
    kind = user.role.tenant_kind
    if kind is TenantKind.OPERATOR:
        return organisations.c.id == user.organisation
    if kind is TenantKind.AUTHORITY:
        return organisations.c.country == user.country
    return true()


def _visible_locations(principal: Principal) -> ColumnElement[bool]:
    """Condition on ``ledger_events``: the event happened at a site the principal sees."""
    if principal.user.role.tenant_kind is TenantKind.NODE:
        return true()
    located = select(sites.c.location_uri).where(site_condition(principal))
    return events.c.biz_location.in_(located)


def event_condition(principal: Principal) -> ColumnElement[bool]:
    """Condition on ``ledger_events``: the events the principal sees (node administrators: none)."""
    if principal.user.role.tenant_kind is TenantKind.NODE:
        return false()
    return _visible_locations(principal)


def case_condition(principal: Principal) -> ColumnElement[bool]:
    """Condition on ``cases``: the cases the principal sees (see the module doc)."""
    kind = principal.user.role.tenant_kind
    if kind is TenantKind.NODE:
        return false()
    evidence = case_tables.case_evidence
    of_case = and_(evidence.c.case_id == case_tables.cases.c.id, events.c.hash_id == evidence.c.hash_id)
    visible_evidence = exists(select(evidence.c.hash_id).where(of_case, _visible_locations(principal)))
    if kind is TenantKind.AUTHORITY:
        return visible_evidence
    elsewhere = or_(events.c.biz_location.is_(None), not_(_visible_locations(principal)))
    foreign_evidence = exists(select(evidence.c.hash_id).where(of_case, elsewhere))
    return and_(visible_evidence, not_(foreign_evidence))


def check_site(connection: Connection, principal: Principal, site_id: str) -> None:
    """Raise :class:`NotFound` unless ``site_id`` is a site the principal sees."""
    found = connection.scalar(select(sites.c.id).where(sites.c.id == site_id, site_condition(principal)))
    if found is None:
        raise NotFound(f"no site {site_id!r}", details={"site": site_id})


def check_party(connection: Connection, principal: Principal, ref: str) -> None:
    """Allow reading buyer ``ref``'s personal data only with the permission and a visible event of theirs."""
    require(principal, Permission.PERSONAL_DATA_READ)
    seen = connection.scalar(
        select(events.c.seq).where(events.c.party_ref == ref, event_condition(principal)).limit(1)
    )
    if seen is None:
        raise NotFound(f"no party {ref!r} among the events you may see", details={"party": ref})


def may_manage(principal: Principal, role: Role, organisation_country: str | None) -> bool:
    """Whether the principal may create or change an account of ``role`` in an organisation of that country.

    A node administrator manages every account; an authority administrator manages the operator and
    authority accounts of its own country (never a node administrator); nobody else manages accounts.
    """
    if not principal.can(Permission.USERS_MANAGE):
        return False
    kind = principal.user.role.tenant_kind
    if kind is TenantKind.NODE:
        return True
    if kind is TenantKind.AUTHORITY:
        return role is not Role.NODE_ADMIN and organisation_country == principal.user.country
    return False


def check_capture_sites(connection: Connection, principal: Principal, document: Mapping[str, Any]) -> None:
    """An operator captures events at its own sites only: refuse the document, naming the first other event.

    Authorities and the node administrator are not confined here (their permissions decide whether they
    capture at all); a document that is not an EPCIS document is left for validation to describe.
    """
    if principal.user.role.tenant_kind is not TenantKind.OPERATOR:
        return
    own = set(connection.scalars(select(sites.c.location_uri).where(site_condition(principal))))
    body = document.get("epcisBody")
    listed = body.get("eventList") if isinstance(body, dict) else None
    if not isinstance(listed, list):
        return
    for index, event in enumerate(listed):
        location = event.get("bizLocation") if isinstance(event, dict) else None
        location_id = location.get("id") if isinstance(location, dict) else None
        if not isinstance(location_id, str) or location_id not in own:
            pointer = f"/epcisBody/eventList/{index}/bizLocation"
            raise PermissionDenied(
                f"{pointer}: an operator captures events at its own sites only; "
                f"{location_id!r} is not one of them",
                details={"pointer": pointer, "bizLocation": location_id},
            )
