"""The custody trace of one lot: where it was produced, shipped, received, sold, used and destroyed.

:func:`lot_trace` reads every ledger event that names the lot's ``epcClass`` (in ``quantityList``,
``childQuantityList``, or a TransformationEvent's input or output list) and turns it into a graph:

* **nodes** are the places and parties the lot passed through: registered sites (by their location URI),
  unregistered locations, and the ends of the chain — production, a buyer (by pseudonymous reference only),
  use in a transformation and disposal;
* **edges** are movements with their quantity, unit, time, business step and the event's hash ID:

  ======================================  =====================================================
  event                                   edge
  ======================================  =====================================================
  ObjectEvent ADD (``commissioning``)     production → site (``produced``)
  TransformationEvent output              production → site (``produced``)
  ``shipping``                            site → destination location (``shipped``)
  ``receiving``                           source location → site (``received``)
  ``retail_selling`` / ``dispensing``     site → buyer (``sold``)
  TransformationEvent input               site → use (``used``)
  ObjectEvent DELETE (``destroying``)     site → disposal (``destroyed``)
  ======================================  =====================================================

  Stock counts (``cycle_counting``) are observations, not movements: they are counted in ``observations``.

Events withdrawn by an error declaration, and the declarations themselves, are left out, as in the mass
balance (:mod:`vigichem.ledger.balance`). ``where`` is an extra SQL condition on ``ledger_events`` — the web
interface and the API pass the caller's tenancy rule (:func:`vigichem.accounts.policy.event_condition`), so a
principal sees only the part of the trace that happened at sites it may see.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import ColumnElement, Engine, select, true

from vigichem.errors import InvalidInput
from vigichem.ledger.db import events, quantities, sources
from vigichem.ledger.inventory_tables import organisations, sites

__all__ = ["EdgeKind", "LotTrace", "TraceEdge", "TraceNode", "lot_trace"]

EdgeKind = Literal["produced", "shipped", "received", "sold", "used", "destroyed"]
NodeKind = Literal["site", "location", "production", "buyer", "use", "disposal"]
_SALE_STEPS = frozenset({"retail_selling", "dispensing"})
MAX_EVENTS = 5000
"""Most events one trace reads (a lot is a bounded batch; beyond this the trace says it was cut)."""


@dataclass(frozen=True, slots=True)
class TraceNode:
    """A place or party of the trace. ``id`` is the location URI for places, a tagged id for chain ends."""

    id: str
    kind: NodeKind
    label: str
    site_id: str | None = None
    organisation: str | None = None
    country: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "id": self.id,
            "kind": self.kind,
            "label": self.label,
            "siteId": self.site_id,
            "organisation": self.organisation,
            "country": self.country,
        }


@dataclass(frozen=True, slots=True)
class TraceEdge:
    """One movement of the lot, from one node to another, as one ledger event recorded it."""

    kind: EdgeKind
    source: str
    target: str
    quantity: float | None
    unit: str | None
    event_time: dt.datetime
    biz_step: str | None
    hash_id: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form (times naive UTC with a ``Z``)."""
        return {
            "kind": self.kind,
            "source": self.source,
            "target": self.target,
            "quantity": self.quantity,
            "unit": self.unit,
            "eventTime": self.event_time.isoformat() + "Z",
            "bizStep": self.biz_step,
            "hashId": self.hash_id,
        }


@dataclass(slots=True)
class LotTrace:
    """The custody graph of one lot (``epc_class``), edges in event-time order."""

    epc_class: str
    nodes: list[TraceNode] = field(default_factory=list)
    edges: list[TraceEdge] = field(default_factory=list)
    observations: int = 0
    truncated: bool = False

    def totals(self) -> dict[str, float]:
        """Quantity moved per edge kind (in the lot's units as recorded)."""
        out: dict[str, float] = {}
        for edge in self.edges:
            out[edge.kind] = out.get(edge.kind, 0.0) + (edge.quantity or 0.0)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "epcClass": self.epc_class,
            "nodes": [node.to_dict() for node in self.nodes],
            "edges": [edge.to_dict() for edge in self.edges],
            "observations": self.observations,
            "truncated": self.truncated,
            "totals": self.totals(),
        }


@dataclass(slots=True)
class _Builder:
    """Collects nodes (once each) and edges while events are read."""

    site_records: dict[str, dict[str, Any]]
    trace: LotTrace
    seen: dict[str, TraceNode] = field(default_factory=dict)

    def place(self, uri: str | None) -> str:
        if not uri:
            return self.end("location", "unknown", "unknown location")
        if uri not in self.seen:
            record = self.site_records.get(uri)
            if record is None:
                node = TraceNode(uri, "location", uri)
            else:
                node = TraceNode(
                    uri,
                    "site",
                    str(record["name"]),
                    site_id=str(record["id"]),
                    organisation=str(record["organisation_name"]),
                    country=str(record["country"]),
                )
            self._add(node)
        return uri

    def end(self, kind: NodeKind, key: str, label: str) -> str:
        node_id = f"{kind}:{key}"
        if node_id not in self.seen:
            self._add(TraceNode(node_id, kind, label))
        return node_id

    def _add(self, node: TraceNode) -> None:
        self.seen[node.id] = node
        self.trace.nodes.append(node)

    def edge(self, kind: EdgeKind, source: str, target: str, row: Any, amount: tuple[Any, Any]) -> None:
        quantity, unit = amount
        self.trace.edges.append(
            TraceEdge(
                kind=kind,
                source=source,
                target=target,
                quantity=None if quantity is None else float(quantity),
                unit=unit,
                event_time=row.event_time,
                biz_step=row.biz_step,
                hash_id=row.hash_id,
            )
        )


def _site_records(engine: Engine) -> dict[str, dict[str, Any]]:
    query = select(
        sites.c.id, sites.c.name, sites.c.location_uri, sites.c.country, organisations.c.name
    ).select_from(sites.join(organisations, organisations.c.id == sites.c.organisation_id))
    with engine.connect() as connection:
        return {
            row[2]: {"id": row[0], "name": row[1], "country": row[3], "organisation_name": row[4]}
            for row in connection.execute(query)
        }


def lot_trace(engine: Engine, epc_class: str, *, where: ColumnElement[bool] | None = None) -> LotTrace:
    """The custody graph of the lot ``epc_class`` over the events that ``where`` admits (see module doc)."""
    if not isinstance(epc_class, str) or not epc_class.strip() or len(epc_class) > 500:
        raise InvalidInput("give the lot's epcClass (a URI of at most 500 characters)")
    epc_class = epc_class.strip()
    from vigichem.ledger.balance import withdrawn_hash_ids  # the balance's rule for corrections

    trace = LotTrace(epc_class)
    builder = _Builder(_site_records(engine), trace)
    query = (
        select(
            events.c.seq,
            events.c.hash_id,
            events.c.event_type,
            events.c.action,
            events.c.biz_step,
            events.c.biz_location,
            events.c.party_ref,
            events.c.event_time,
            quantities.c.role,
            quantities.c.quantity,
            quantities.c.uom,
        )
        .select_from(events.join(quantities, quantities.c.seq == events.c.seq))
        .where(
            quantities.c.epc_class == epc_class,
            events.c.error_declaration.is_(False),
            true() if where is None else where,
        )
        .order_by(events.c.event_time, events.c.seq, quantities.c.role, quantities.c.ordinal)
        .limit(MAX_EVENTS + 1)
    )
    with engine.connect() as connection:
        rows = list(connection.execute(query))
        withdrawn = set(withdrawn_hash_ids(connection))
        wanted = [row.seq for row in rows]
        places: dict[tuple[int, str], str] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            located = select(sources.c.seq, sources.c.kind, sources.c.type, sources.c.id).where(
                sources.c.seq.in_(chunk)
            )
            for seq, kind, source_type, uri in connection.execute(located.order_by(sources.c.ordinal)):
                # A location says where the goods go; an owning party is the fallback.
                if source_type == "location" or (seq, kind) not in places:
                    places[(seq, kind)] = uri
    if len(rows) > MAX_EVENTS:
        trace.truncated = True
        rows = rows[:MAX_EVENTS]
    for row in rows:
        if row.hash_id in withdrawn:
            continue
        _add_movement(builder, row, places)
    return trace


def _add_movement(builder: _Builder, row: Any, places: dict[tuple[int, str], str]) -> None:
    """The edge (if any) that one event's quantity row stands for (the table in the module doc)."""
    amount = (row.quantity, row.uom or ("EA" if row.quantity is not None else None))
    site = builder.place(row.biz_location)
    step = row.biz_step
    if row.event_type == "TransformationEvent":
        if row.role == "output":
            builder.edge("produced", builder.end("production", site, "production"), site, row, amount)
        elif row.role == "input":
            builder.edge("used", site, builder.end("use", site, "use"), row, amount)
        return
    if step == "cycle_counting":
        builder.trace.observations += 1
    elif row.action == "ADD" or step == "commissioning":
        builder.edge("produced", builder.end("production", site, "production"), site, row, amount)
    elif row.action == "DELETE" or step == "destroying":
        builder.edge("destroyed", site, builder.end("disposal", site, "disposal"), row, amount)
    elif step == "shipping":
        builder.edge("shipped", site, builder.place(places.get((row.seq, "destination"))), row, amount)
    elif step == "receiving":
        builder.edge("received", builder.place(places.get((row.seq, "source"))), site, row, amount)
    elif step in _SALE_STEPS:
        ref = row.party_ref or "unidentified"
        builder.edge("sold", site, builder.end("buyer", ref, ref), row, amount)
