"""An invented node with three operator tenants, two authorities and a user of every role, for the API tests.

Invented test data throughout: organisations, sites, people, party data, quantities and times. The one real
fact is the chemistry of the shared product: hydrogen peroxide (CAS 7722-84-1, EU 2019/1148 Annex I) in
water (7732-18-5).

Tenants: operator ``op-a`` and ``op-b`` in FR, operator ``op-c`` in DE; authorities ``auth-fr`` and
``auth-de``. Each operator has one site, one sale event (by its own buyer, registered in the vault) and one
case whose evidence is that event. :func:`build_world` builds it on a node and returns the handles the
tests need (tokens of each actor, hash IDs, case ids, party refs).
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Any

from vigichem.accounts import Role, create_user, issue_token
from vigichem.cases import record_alerts
from vigichem.detect.models import Alert, Scope, Severity
from vigichem.ledger import service
from vigichem.ledger.extensions import CONTEXT_ENTRY
from vigichem.ledger.masterdata import MasterData
from vigichem.ledger.masterdata_models import MasterDataFile
from vigichem.ledger.node import Node
from vigichem.ledger.vault import PersonalData, Vault

PASSWORD = "invented-password-1"  # every test account's password (invented)
SITES = {
    "A": ("site-a", "op-a", "urn:epc:id:sgln:0614141.00101.0"),
    "B": ("site-b", "op-b", "urn:epc:id:sgln:0614141.00201.0"),
    "C": ("site-c", "op-c", "urn:epc:id:sgln:0614141.00301.0"),
}
ACTORS = {
    # actor name: (username, role, organisation)
    "clerk": ("clerk-a", Role.OPERATOR_CLERK, "op-a"),
    "compliance": ("compliance-a", Role.OPERATOR_COMPLIANCE, "op-a"),
    "analyst": ("analyst-fr", Role.AUTHORITY_ANALYST, "auth-fr"),
    "authadmin": ("admin-fr", Role.AUTHORITY_ADMIN, "auth-fr"),
    "nodeadmin": ("root", Role.NODE_ADMIN, None),
    "analyst_de": ("analyst-de", Role.AUTHORITY_ANALYST, "auth-de"),
}
# Other accounts: an operator of each other tenant, and spare accounts that administration tests change.
OTHERS = {
    "clerk_b": ("clerk-b", Role.OPERATOR_CLERK, "op-b"),
    "compliance_b": ("compliance-b", Role.OPERATOR_COMPLIANCE, "op-b"),
    "clerk_c": ("clerk-c", Role.OPERATOR_CLERK, "op-c"),
    "spare_a": ("spare-a", Role.OPERATOR_CLERK, "op-a"),
    "spare_c": ("spare-c", Role.OPERATOR_CLERK, "op-c"),
}
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
_counter = itertools.count(1)


def masterdata() -> MasterDataFile:
    """The invented organisations, sites and the one shared product."""
    return MasterDataFile.model_validate(
        {
            "organisations": [
                {"id": "op-a", "name": "Operator A (invented)", "country": "FR"},
                {"id": "op-b", "name": "Operator B (invented)", "country": "FR"},
                {"id": "op-c", "name": "Operator C (invented)", "country": "DE"},
                {"id": "auth-fr", "name": "Authority FR (invented)", "country": "FR", "kind": "authority"},
                {"id": "auth-de", "name": "Authority DE (invented)", "country": "DE", "kind": "authority"},
            ],
            "sites": [
                {"id": site, "organisation": org, "name": f"Shop of {org} (invented)", "location": location}
                for site, org, location in SITES.values()
            ],
            "products": [
                {
                    "id": "h2o2-30",
                    "name": "Hydrogen peroxide 30 % (invented product)",
                    "composition": [
                        {"substance": "7722-84-1", "percent": 30},
                        {"substance": "7732-18-5", "percent": 70},
                    ],
                }
            ],
        }
    )


def sale_event(location: str, party: str, *, kg: float = 1.0, moment: dt.datetime = T0) -> dict[str, Any]:
    """An invented counter sale at ``location`` to ``party``; a counter makes every call's event unique."""
    unique = next(_counter)
    when = moment + dt.timedelta(seconds=unique)
    return {
        "type": "ObjectEvent",
        "eventTime": when.isoformat().replace("+00:00", "Z"),
        "eventTimeZoneOffset": "+00:00",
        "action": "OBSERVE",
        "bizStep": "retail_selling",
        "disposition": "retail_sold",
        "readPoint": {"id": location},
        "bizLocation": {"id": location},
        "quantityList": [{"epcClass": "urn:vigichem:class:h2o2-30:L1", "quantity": kg, "uom": "KGM"}],
        "vc:customerRef": party,
        "vc:paymentMethod": "cash",
        "vc:customerType": "private",
    }


def document(*events: dict[str, Any]) -> dict[str, Any]:
    """An EPCISDocument holding the invented events."""
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", CONTEXT_ENTRY],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-03-01T00:00:00Z",
        "epcisBody": {"eventList": list(events)},
    }


def open_case(node: Node, hash_ids: tuple[str, ...], subject: str | None = None) -> int:
    """Record an invented alert whose evidence is ``hash_ids``; returns the new case's id."""
    result = record_alerts(
        node.engine,
        [
            Alert(
                rule="invented_rule",
                typology="split_purchase",
                detail=None,
                basis="invented test alert",
                severity=Severity.HIGH,
                scope=Scope.OPERATOR,
                subject_type="test",
                subject_id=subject or f"subject-{next(_counter)}",
                jurisdiction="EU",
                event_hash_ids=hash_ids,
                first_event_time=T0,
                last_event_time=T0,
                detected_at=dt.datetime.now(dt.UTC),
                explanation="invented alert for the API tests",
                evidence={},
            )
        ],
        actor="test",
    )
    return result.cases_opened[0]


@dataclass
class Tenant:
    """What one operator tenant holds."""

    site: str
    organisation: str
    location: str
    party: str
    event: str
    case: int


@dataclass
class World:
    """Handles on the invented node's content."""

    node: Node
    tenants: dict[str, Tenant]
    tokens: dict[str, str] = field(default_factory=dict)  # actor or other account → bearer secret
    user_ids: dict[str, int] = field(default_factory=dict)

    def headers(self, actor: str) -> dict[str, str]:
        """Bearer authentication as ``actor``."""
        return {"Authorization": f"Bearer {self.tokens[actor]}"}

    def capture(self, *events: dict[str, Any]) -> list[str]:
        """Capture invented events directly (not through the API); their hash IDs."""
        return list(service.capture(self.node.store, document(*events), signer=self.node.signer).new)


def build_world(node: Node) -> World:
    """Load the invented tenants, events, parties, cases and accounts into ``node``."""
    MasterData(node.engine).load(masterdata())
    vault = Vault(node.engine, "invented-secret")
    tenants: dict[str, Tenant] = {}
    for key, (site, organisation, location) in SITES.items():
        party = vault.register_party(
            PersonalData(full_name=f"Buyer {key} (invented)", country="FR"), actor="test"
        )
        (hash_id,) = service.capture(
            node.store, document(sale_event(location, party)), signer=node.signer
        ).new
        case = open_case(node, (hash_id,), subject=f"case-of-{key}")
        tenants[key] = Tenant(site, organisation, location, party, hash_id, case)
    world = World(node=node, tenants=tenants)
    for actor, (username, role, organisation) in {**ACTORS, **OTHERS}.items():
        user = create_user(node.engine, username, PASSWORD, role, organisation=organisation)
        world.user_ids[actor] = user.id
        world.tokens[actor] = issue_token(node.engine, user, f"tests of {actor}")[1]
    return world
