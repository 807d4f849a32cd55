"""Turn a validated EPCIS event into the rows that index it (events, quantities, EPCs, sources).

The event JSON as captured is the record; these columns exist so that queries, mass balance and detection
do not parse JSON. CBV values are normalised to their bare word (``shipping`` for ``shipping``,
``urn:epcglobal:cbv:bizstep:shipping`` or ``https://ref.gs1.org/cbv/BizStep-shipping``) so that SQL can
compare them; a non-CBV value (a user URI) is kept as written.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, NamedTuple

from vigichem.errors import InvalidDocument, VigichemError
from vigichem.ledger.extensions import party_ref_of
from vigichem.ledger.jsonio import dumps_compact
from vigichem.ledger.units import to_base

__all__ = [
    "EPC_COLUMNS",
    "EVENT_COLUMNS",
    "QUANTITY_COLUMNS",
    "SOURCE_COLUMNS",
    "IndexedEvent",
    "cbv_word",
    "index_event",
    "parse_event_time",
    "stored_time",
]

_CBV_PREFIXES = {
    "bizStep": ("urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-"),
    "disposition": ("urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-"),
    "sourceType": ("urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-"),
}

_QUANTITY_LISTS = (
    ("quantityList", "quantity"),
    ("childQuantityList", "child"),
    ("inputQuantityList", "input"),
    ("outputQuantityList", "output"),
)
_EPC_LISTS = (
    ("epcList", "epc"),
    ("childEPCs", "child"),
    ("inputEPCList", "input"),
    ("outputEPCList", "output"),
)


def cbv_word(value: str | None, kind: str) -> str | None:
    """The bare CBV word of a bizStep/disposition/source-type value, or the value itself if not CBV."""
    if value is None:
        return None
    for prefix in _CBV_PREFIXES[kind]:
        if value.startswith(prefix):
            return value[len(prefix) :]
    return value


@lru_cache(maxsize=4096)
def _cbv_word(value: str, kind: str) -> str | None:
    # The same few vocabulary values recur in every event: cached (bounded), same result as cbv_word.
    return cbv_word(value, kind)


def parse_event_time(value: str, pointer: str) -> datetime:
    """An ISO 8601 time with offset, as a naive UTC datetime (the ledger stores UTC)."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidDocument(
            f"{pointer}: {value!r} is not an ISO 8601 date-time",
            details={"errors": [{"path": pointer, "message": "not an ISO 8601 date-time"}]},
        ) from exc
    if parsed.tzinfo is None:
        raise InvalidDocument(
            f"{pointer}: {value!r} has no time-zone offset",
            details={"errors": [{"path": pointer, "message": "time-zone offset missing"}]},
        )
    try:
        return parsed.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:  # e.g. 0001-01-01T00:30+01:00 falls before year 1 in UTC
        raise InvalidDocument(
            f"{pointer}: {value!r} is outside the years 1-9999 once converted to UTC",
            details={"errors": [{"path": pointer, "message": "outside the representable time range"}]},
        ) from None


EVENT_COLUMNS = (
    "hash_id",
    "event_type",
    "action",
    "event_time",
    "event_time_offset",
    "biz_step",
    "disposition",
    "read_point",
    "biz_location",
    "party_ref",
    "error_declaration",
)
"""The ``ledger_events`` columns of :attr:`IndexedEvent.row`, in order."""
QUANTITY_COLUMNS = ("role", "ordinal", "epc_class", "quantity", "uom", "base_quantity", "base_unit")
"""The ``ledger_quantities`` columns (after ``seq``) of each tuple of :attr:`IndexedEvent.quantities`."""
EPC_COLUMNS = ("role", "ordinal", "epc")
"""The ``ledger_epcs`` columns (after ``seq``) of each tuple of :attr:`IndexedEvent.epcs`."""
SOURCE_COLUMNS = ("kind", "ordinal", "type", "id")
"""The ``ledger_sources`` columns (after ``seq``) of each tuple of :attr:`IndexedEvent.sources`."""


class IndexedEvent(NamedTuple):
    """One event ready to store: its hash ID, its ``ledger_events`` row and its child rows.

    Rows are tuples in the column order of :data:`EVENT_COLUMNS`, :data:`QUANTITY_COLUMNS`,
    :data:`EPC_COLUMNS` and :data:`SOURCE_COLUMNS` (``seq`` and the storage columns are added by the
    store), with ``event_time`` already as the text the databases store and parse (see
    :func:`stored_time`): the append hands them to the driver as they are, and
    :func:`vigichem.ledger.pipeline.capture_many` sends them between processes, where plain tuples of text
    and numbers pickle several times cheaper than dataclasses and datetimes.
    """

    hash_id: str
    event_json: str
    row: tuple[Any, ...]
    quantities: list[tuple[Any, ...]]
    epcs: list[tuple[Any, ...]]
    sources: list[tuple[Any, ...]]

    @property
    def columns(self) -> dict[str, Any]:
        """The ``ledger_events`` row as a dict (for reading; the store uses :attr:`row`)."""
        return dict(zip(EVENT_COLUMNS, self.row, strict=True))


def _stored_event_time(value: Any) -> str | None:
    """:func:`parse_event_time` then :func:`stored_time` for a valid time; None when it is not one.

    The fast path of every event: no JSON pointer is formatted unless there is an error to report.
    """
    if type(value) is not str:
        return None
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            return None
        return parsed.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    except (ValueError, OverflowError):
        return None


def stored_time(moment: datetime) -> str:
    """A naive UTC datetime as the ledger stores it: ``YYYY-MM-DD HH:MM:SS.ffffff``.

    The form SQLAlchemy writes to SQLite, and one PostgreSQL's ``COPY`` reads into a ``timestamp``.
    """
    return moment.isoformat(sep=" ", timespec="microseconds")


def _base_quantity(quantity: Any, uom: Any) -> tuple[float | None, str | None]:
    """The quantity in kg or L when its unit converts; (None, None) for counts and other units."""
    if quantity is None or uom is None:
        return None, None
    try:
        value, unit = to_base(float(quantity), str(uom))
    except VigichemError:
        # Validation has already refused what must convert; anything else simply has no base quantity.
        return None, None
    return float(value), str(unit)


def index_event(event: dict[str, Any], hash_id: str, context: Any, pointer: str) -> IndexedEvent:
    """The rows of one validated event; ``pointer`` is its JSON pointer, used in error messages."""
    get = event.get
    event_time = _stored_event_time(get("eventTime"))
    if event_time is None:  # the general path, which names the error
        event_time = stored_time(parse_event_time(str(get("eventTime", "")), f"{pointer}/eventTime"))
    offset = get("eventTimeZoneOffset")
    if not isinstance(offset, str):
        raise InvalidDocument(
            f"{pointer}/eventTimeZoneOffset: the time-zone offset is required",
            details={"errors": [{"path": f"{pointer}/eventTimeZoneOffset", "message": "required"}]},
        )
    read_point = get("readPoint")
    biz_location = get("bizLocation")
    biz_step = get("bizStep")
    disposition = get("disposition")
    row = (
        hash_id,
        str(get("type")),
        get("action"),
        event_time,
        offset,
        None if biz_step is None else _cbv_word(biz_step, "bizStep"),
        None if disposition is None else _cbv_word(disposition, "disposition"),
        read_point.get("id") if isinstance(read_point, dict) else None,
        biz_location.get("id") if isinstance(biz_location, dict) else None,
        party_ref_of(event, context),
        "errorDeclaration" in event,
    )
    quantities: list[tuple[Any, ...]] = []
    for list_name, role in _QUANTITY_LISTS:
        if not (elements := get(list_name)):
            continue
        for ordinal, element in enumerate(elements):
            quantity = element.get("quantity")
            uom = element.get("uom")
            base_quantity, base_unit = _base_quantity(quantity, uom)
            quantities.append(
                (
                    role,
                    ordinal,
                    element.get("epcClass"),
                    None if quantity is None else float(quantity),
                    uom,
                    base_quantity,
                    base_unit,
                )
            )
    epcs: list[tuple[Any, ...]] = []
    for list_name, role in _EPC_LISTS:
        if elements := get(list_name):
            epcs.extend((role, ordinal, epc) for ordinal, epc in enumerate(elements))
    if isinstance(parent := get("parentID"), str):
        epcs.append(("parent", 0, parent))
    sources: list[tuple[Any, ...]] = []
    for list_name, kind in (("sourceList", "source"), ("destinationList", "destination")):
        if not (elements := get(list_name)):
            continue
        for ordinal, element in enumerate(elements):
            source_type = element.get("type")
            sources.append(
                (
                    kind,
                    ordinal,
                    None if source_type is None else _cbv_word(source_type, "sourceType"),
                    element.get(kind),
                )
            )
    return IndexedEvent(hash_id, dumps_compact(event), row, quantities, epcs, sources)
