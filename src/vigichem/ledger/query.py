"""EPCIS 2.0 event queries: query parameters → SQL over the ledger tables → an ``EPCISQueryDocument``.

Supported parameters (EPCIS 2.0 §8.2.7.1 / the REST binding ``GET /events``); list values are
pipe-delimited (``eventType=ObjectEvent|TransformationEvent``):

* ``eventType``, ``EQ_action``, ``EQ_bizStep``, ``EQ_disposition``, ``EQ_readPoint``, ``EQ_bizLocation``,
  ``EQ_eventID`` (the event's hash ID), ``EQ_source_<type>`` and ``EQ_destination_<type>`` (e.g.
  ``EQ_source_owning_party``); CBV values may be bare words or URIs;
* ``GE_eventTime``, ``LT_eventTime``, ``GE_recordTime``, ``LT_recordTime`` (ISO 8601 with offset);
* ``MATCH_epc``, ``MATCH_parentID``, ``MATCH_inputEPC``, ``MATCH_outputEPC``, ``MATCH_anyEPC``,
  ``MATCH_epcClass``, ``MATCH_inputEPCClass``, ``MATCH_outputEPCClass``, ``MATCH_anyEPCClass``: exact URIs,
  or EPC pure-identity patterns where ``*`` stands for a whole trailing component
  (``urn:epc:idpat:sgtin:0614141.107346.*``);
* ``EQ_partyRef``: vigichem's pseudonymous party reference extension;
* ``orderBy`` (``eventTime`` or ``recordTime``; default: capture order), ``orderDirection`` (default
  ``DESC`` when ``orderBy`` is given, as the standard says), ``eventCountLimit``, ``maxEventCount``,
  ``perPage`` and ``nextPageToken``.

An unknown parameter or a malformed value raises :class:`InvalidInput` (EPCIS: ``QueryParameterException``);
more results than ``maxEventCount`` raise :class:`InputTooLarge` (``QueryTooLargeException``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, exists, or_, select

from vigichem.errors import InputTooLarge, InvalidInput
from vigichem.ledger.db import epcs, events, quantities, sources
from vigichem.ledger.indexing import cbv_word, parse_event_time
from vigichem.ledger.models import StoredEvent
from vigichem.ledger.store import LedgerStore, utc_now

__all__ = ["DEFAULT_PER_PAGE", "EPCIS_CONTEXT", "EventQuery", "QueryPage", "query_document", "run_query"]

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
DEFAULT_PER_PAGE = 1000
MAX_PER_PAGE = 10_000

_EQ_COLUMNS = {
    "EQ_action": events.c.action,
    "EQ_readPoint": events.c.read_point,
    "EQ_bizLocation": events.c.biz_location,
    "EQ_eventID": events.c.hash_id,
    "EQ_partyRef": events.c.party_ref,
}
_EPC_ROLES = {
    "MATCH_epc": ("epc", "child"),
    "MATCH_parentID": ("parent",),
    "MATCH_inputEPC": ("input",),
    "MATCH_outputEPC": ("output",),
    "MATCH_anyEPC": ("epc", "child", "parent", "input", "output"),
}
_CLASS_ROLES = {
    "MATCH_epcClass": ("quantity", "child"),
    "MATCH_inputEPCClass": ("input",),
    "MATCH_outputEPCClass": ("output",),
    "MATCH_anyEPCClass": ("quantity", "child", "input", "output"),
}
_PAGING = {"orderBy", "orderDirection", "eventCountLimit", "maxEventCount", "perPage", "nextPageToken"}


@dataclass(slots=True)
class EventQuery:
    """Parsed query: SQL conditions plus ordering and paging."""

    conditions: list[ColumnElement[bool]] = field(default_factory=list)
    order_by: list[ColumnElement[Any]] = field(default_factory=list)
    limit: int | None = None
    max_count: int | None = None
    per_page: int = DEFAULT_PER_PAGE
    offset: int = 0

    @classmethod
    def from_params(cls, params: Mapping[str, str | Sequence[str]]) -> EventQuery:
        """Parse EPCIS query parameters (see the module doc); raise :class:`InvalidInput` on bad ones."""
        query = cls()
        flat = {name: _values(name, raw) for name, raw in params.items()}
        for name, values in flat.items():
            if name in _PAGING:
                continue
            query.conditions.append(_condition(name, values))
        query._paging(flat)
        return query

    def _paging(self, flat: dict[str, list[str]]) -> None:
        order = _single(flat, "orderBy")
        direction = (_single(flat, "orderDirection") or "DESC").upper()
        if direction not in ("ASC", "DESC"):
            raise InvalidInput(f"orderDirection must be ASC or DESC, not {direction!r}")
        if order is not None:
            columns = {"eventTime": events.c.event_time, "recordTime": events.c.record_time}
            if order not in columns:
                raise InvalidInput(f"orderBy {order!r} is not supported: use eventTime or recordTime")
            column = columns[order]
            self.order_by.append(column.asc() if direction == "ASC" else column.desc())
        self.limit = _positive(flat, "eventCountLimit")
        self.max_count = _positive(flat, "maxEventCount")
        if self.limit is not None and self.max_count is not None:
            raise InvalidInput("eventCountLimit and maxEventCount are mutually exclusive")
        if self.limit is not None and order is None:
            raise InvalidInput("eventCountLimit needs orderBy")
        self.per_page = min(_positive(flat, "perPage") or DEFAULT_PER_PAGE, MAX_PER_PAGE)
        token = _single(flat, "nextPageToken")
        if token is not None:
            if not token.isdigit() or len(token) > 18:  # an offset; 18 digits stay within a 64-bit integer
                raise InvalidInput(f"nextPageToken {token!r} is not a token this node issued")
            self.offset = int(token)


def _values(name: str, raw: str | Sequence[str]) -> list[str]:
    items = [raw] if isinstance(raw, str) else list(raw)
    out = [part for item in items for part in item.split("|") if part != ""]
    if not out:
        raise InvalidInput(f"query parameter {name} has no value")
    return out


def _single(flat: dict[str, list[str]], name: str) -> str | None:
    values = flat.get(name)
    if values is None:
        return None
    if len(values) != 1:
        raise InvalidInput(f"query parameter {name} takes one value, got {len(values)}")
    return values[0]


def _positive(flat: dict[str, list[str]], name: str) -> int | None:
    value = _single(flat, name)
    if value is None:
        return None
    if not value.isdigit() or int(value) <= 0:
        raise InvalidInput(f"query parameter {name} must be a positive integer, not {value!r}")
    return int(value)


def _uri_condition(column: ColumnElement[Any], values: list[str]) -> ColumnElement[bool]:
    """Exact URIs, or EPC patterns (``urn:epc:idpat:...`` with ``*`` components) as LIKE prefixes."""
    clauses: list[ColumnElement[bool]] = []
    exact = [value for value in values if "*" not in value]
    if exact:
        clauses.append(column.in_(exact))
    for value in values:
        if "*" in value:
            prefix = value.split("*", 1)[0].replace("urn:epc:idpat:", "urn:epc:id:", 1)
            escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append(column.like(escaped + "%", escape="\\"))
    return or_(*clauses)


def _condition(name: str, values: list[str]) -> ColumnElement[bool]:
    if name == "eventType":
        return events.c.event_type.in_(values)
    if name in ("EQ_bizStep", "EQ_disposition"):
        kind = "bizStep" if name == "EQ_bizStep" else "disposition"
        column = events.c.biz_step if kind == "bizStep" else events.c.disposition
        return column.in_([cbv_word(value, kind) for value in values])
    if name in _EQ_COLUMNS:
        return _EQ_COLUMNS[name].in_(values)
    if name in ("GE_eventTime", "LT_eventTime", "GE_recordTime", "LT_recordTime"):
        if len(values) != 1:
            raise InvalidInput(f"query parameter {name} takes one time, got {len(values)}")
        time = parse_event_time(values[0], name)
        column = events.c.event_time if name.endswith("eventTime") else events.c.record_time
        return column >= time if name.startswith("GE_") else column < time
    if name in _EPC_ROLES:
        return exists(
            select(epcs.c.seq).where(
                epcs.c.seq == events.c.seq,
                epcs.c.role.in_(_EPC_ROLES[name]),
                _uri_condition(epcs.c.epc, values),
            )
        )
    if name in _CLASS_ROLES:
        return exists(
            select(quantities.c.seq).where(
                quantities.c.seq == events.c.seq,
                quantities.c.role.in_(_CLASS_ROLES[name]),
                _uri_condition(quantities.c.epc_class, values),
            )
        )
    for kind in ("source", "destination"):
        prefix = f"EQ_{kind}_"
        if name.startswith(prefix) and len(name) > len(prefix):
            source_type = cbv_word(name[len(prefix) :], "sourceType")
            return exists(
                select(sources.c.seq).where(
                    sources.c.seq == events.c.seq,
                    sources.c.kind == kind,
                    sources.c.type == source_type,
                    sources.c.id.in_(values),
                )
            )
    raise InvalidInput(f"query parameter {name!r} is not supported", details={"parameter": name})


@dataclass(frozen=True, slots=True)
class QueryPage:
    """One page of results and the token of the next page (None on the last page)."""

    events: list[StoredEvent]
    next_page_token: str | None


def run_query(store: LedgerStore, query: EventQuery) -> QueryPage:
    """Run a parsed query against the store; one page of at most ``per_page`` events."""
    if query.max_count is not None:
        total = store.count_events(query.conditions)
        if total > query.max_count:
            raise InputTooLarge(
                f"the query matches {total} events, more than maxEventCount={query.max_count}",
                details={"matched": total, "maxEventCount": query.max_count},
            )
    remaining = None if query.limit is None else max(query.limit - query.offset, 0)
    page_size = query.per_page if remaining is None else min(query.per_page, remaining)
    found = store.select_events(
        query.conditions, order_by=query.order_by, limit=page_size + 1, offset=query.offset
    )
    more = len(found) > page_size
    page = found[:page_size]
    return QueryPage(events=page, next_page_token=str(query.offset + page_size) if more else None)


def _merged_context(found: list[StoredEvent]) -> tuple[list[Any], set[int]]:
    """One ``@context`` for the result; events whose prefixes clash keep their own (returned by seq)."""
    bindings: dict[str, Any] = {}
    own: set[int] = set()
    for stored in found:
        items = stored.context if isinstance(stored.context, list) else [stored.context]
        local = {k: v for item in items if isinstance(item, dict) for k, v in item.items()}
        if any(key in bindings and bindings[key] != value for key, value in local.items()):
            own.add(stored.seq)
            continue
        bindings.update(local)
    context: list[Any] = [EPCIS_CONTEXT]
    if bindings:
        context.append(bindings)
    return context, own


def event_for_output(stored: StoredEvent, with_context: bool = False) -> dict[str, Any]:
    """The event as captured, with ``recordTime`` and ``eventID`` (its hash ID) added where absent."""
    event = dict(stored.event)
    event.setdefault("eventID", stored.hash_id)
    event.setdefault("recordTime", stored.record_time.isoformat(timespec="milliseconds") + "Z")
    if with_context and "@context" not in event:
        event = {"@context": stored.context, **event}
    return event


def query_document(page: QueryPage, query_name: str = "SimpleEventQuery") -> dict[str, Any]:
    """An EPCIS 2.0 ``EPCISQueryDocument`` holding the page's events."""
    context, own = _merged_context(page.events)
    return {
        "@context": context,
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": utc_now().isoformat(timespec="milliseconds") + "Z",
        "epcisBody": {
            "queryResults": {
                "queryName": query_name,
                "resultsBody": {"eventList": [event_for_output(e, e.seq in own) for e in page.events]},
            }
        },
    }
