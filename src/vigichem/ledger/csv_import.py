"""CSV import for small operators: one row per movement → an EPCIS 2.0 document → the ordinary capture.

The column template (``docs/events.md``; header names are case-insensitive, order free, unknown columns
refused):

=================  ========  ===========================================================================
column             required  meaning
=================  ========  ===========================================================================
event_time         yes       ISO 8601 date-time with its offset, e.g. ``2026-03-02T09:15:00+01:00``
step               yes       production, receipt, shipment, sale, use, disposal, count
site               yes       registered site id, its GLN, or a location URI (where it happened)
product            yes       GTIN (8-14 digits) or registered product id
lot                no        lot / batch number
quantity           yes       a number > 0 (a count may be 0)
unit               no        UN/ECE Rec 20 code (KGM, LTR, GRM…); empty: a number of trade items
counterparty       no        site id, GLN or URI: the source of a receipt, the destination of a shipment
                             (required for shipments) or of a sale to a business
party_ref          no        buyer's pseudonymous reference from the vault (never a name)
payment            no        cash, card, bank_transfer, invoice, cheque, mobile, crypto, other
stated_use         no        the end use the buyer stated
concentration      no        ``SUBSTANCE PERCENT%`` items separated by ``;`` (e.g. ``7722-84-1 30%``)
output_product     no        for ``use``: the product made (GTIN or id); with output_quantity
output_lot         no        for ``use``
output_quantity    no        for ``use``
output_unit        no        for ``use``
=================  ========  ===========================================================================

Each step maps to the event that native capture uses (``docs/events.md``). Events are deterministic: the
same row always yields the same event, so importing a file twice stores nothing the second time
(duplicates). Every error of every row is reported with its line and column, and nothing is stored.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from vigichem.errors import InputTooLarge, InvalidDocument, InvalidInput
from vigichem.ledger import extensions as ext
from vigichem.ledger.gs1 import digital_link_class, local_class, normalise_gln, normalise_gtin
from vigichem.ledger.masterdata import MasterData
from vigichem.ledger.models import CaptureResult
from vigichem.ledger.store import CheckpointSigner
from vigichem.ledger.units import is_known_unit

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
COLUMNS = (
    "event_time",
    "step",
    "site",
    "product",
    "lot",
    "quantity",
    "unit",
    "counterparty",
    "party_ref",
    "payment",
    "stated_use",
    "concentration",
    "output_product",
    "output_lot",
    "output_quantity",
    "output_unit",
)
REQUIRED = ("event_time", "step", "site", "product", "quantity")
STEPS = ("production", "receipt", "shipment", "sale", "use", "disposal", "count")
MAX_ROWS = 100_000
MAX_BYTES = 32 * 1024 * 1024
_TRANSFORMATION_NS = uuid.UUID("6f1c8a52-3b0e-4f4e-9a57-0c6a1d6b2f10")  # fixed: makes IDs reproducible
_CONCENTRATION_RE = re.compile(r"^(?P<substance>.*?\S)\s+(?P<percent>[0-9]+(?:[.,][0-9]+)?)\s*%$")


@dataclass(frozen=True, slots=True)
class Resolver:
    """Looks up registered sites and products (id/GLN → location URI; id/GTIN → epcClass)."""

    site_locations: Mapping[str, str]  # site id → location URI
    gln_locations: Mapping[str, str]  # GLN → location URI
    product_gtins: Mapping[str, str | None]  # product id → GTIN-14 or None

    def location(self, value: str) -> str:
        if value in self.site_locations:
            return self.site_locations[value]
        if value.isdigit():
            gln = normalise_gln(value)  # ValueError with the reason
            return self.gln_locations.get(gln, f"https://id.gs1.org/414/{gln}")
        if ":" in value and not any(c.isspace() for c in value):
            return value
        raise ValueError(f"unknown site {value!r}: give a registered site id, a GLN or a location URI")

    def epc_class(self, product: str, lot: str | None) -> str:
        if product in self.product_gtins:
            gtin = self.product_gtins[product]
            return digital_link_class(gtin, lot) if gtin else local_class(product, lot)
        if product.isdigit():
            return digital_link_class(normalise_gtin(product), lot)
        raise ValueError(f"unknown product {product!r}: give a GTIN or a registered product id")


class _Row:
    """One CSV row being converted; errors collect instead of raising."""

    def __init__(self, line: int, values: Mapping[str, str], errors: list[dict[str, Any]]) -> None:
        self.line = line
        self.values = values
        self.errors = errors

    def error(self, column: str, message: str) -> None:
        self.errors.append({"line": self.line, "column": column, "message": message})

    def text(self, column: str) -> str | None:
        value = (self.values.get(column) or "").strip()
        return value or None

    def convert(self, column: str, convert: Callable[[str], Any]) -> Any:
        value = self.text(column)
        if value is None:
            return None
        try:
            return convert(value)
        except (ValueError, InvalidInput) as exc:
            self.error(column, str(exc.message if isinstance(exc, InvalidInput) else exc))
            return None


def _event_time(value: str) -> tuple[str, str]:
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no time-zone offset (e.g. 2026-03-02T09:15:00+01:00)")
    offset = parsed.strftime("%z")
    return parsed.isoformat(), f"{offset[:3]}:{offset[3:]}"


def _quantity(allow_zero: bool) -> Callable[[str], float]:
    def convert(value: str) -> float:
        try:
            number = float(value.replace(",", "."))
        except ValueError:
            raise ValueError(f"{value!r} is not a number") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError(f"{value!r} is not a finite number")
        if number < 0 or (number == 0 and not allow_zero):
            raise ValueError(f"{value} must be {'zero or more' if allow_zero else 'greater than zero'}")
        return number

    return convert


def _unit(value: str) -> str:
    code = value.upper()
    if not is_known_unit(code):
        raise ValueError(f"unknown unit {value!r}: give a UN/ECE Rec 20 code of a mass or volume (KGM, LTR…)")
    return code


def _concentration(value: str) -> list[tuple[str, float]]:
    items = []
    for part in filter(None, (p.strip() for p in value.split(";"))):
        match = _CONCENTRATION_RE.match(part)
        if match is None:
            raise ValueError(f"{part!r} is not 'SUBSTANCE PERCENT%' (e.g. '7722-84-1 30%')")
        items.append((match.group("substance"), float(match.group("percent").replace(",", "."))))
    return items


def _quantity_element(epc_class: str, quantity: float, unit: str | None) -> dict[str, Any]:
    element: dict[str, Any] = {"epcClass": epc_class, "quantity": quantity}
    if unit:
        element["uom"] = unit
    return element


def _row_event(row: _Row, resolver: Resolver) -> dict[str, Any] | None:
    step = (row.text("step") or "").lower()
    if step not in STEPS:
        row.error("step", f"unknown step {row.text('step')!r}; one of {', '.join(STEPS)}")
    times = row.convert("event_time", _event_time)
    site = row.convert("site", resolver.location)
    lot = row.text("lot")
    epc_class = row.convert("product", lambda p: resolver.epc_class(p, lot))
    quantity = row.convert("quantity", _quantity(allow_zero=step == "count"))
    unit = row.convert("unit", _unit)
    counterparty = row.convert("counterparty", resolver.location)
    if step == "shipment" and row.text("counterparty") is None:
        row.error("counterparty", "a shipment needs its destination site (counterparty)")
    concentration = row.convert("concentration", _concentration)
    extensions: dict[str, Any] = {}
    try:
        extensions = ext.build_extensions(
            customer_ref=row.text("party_ref"),
            payment_method=row.text("payment"),
            stated_end_use=row.text("stated_use"),
            concentration=concentration or None,
        )
    except InvalidDocument as exc:
        for item in exc.details.get("errors", []):
            field = str(item["path"]).split(":")[-1].split("/")[0]
            column = {
                ext.CUSTOMER_REF: "party_ref",
                ext.PAYMENT_METHOD: "payment",
                ext.STATED_END_USE: "stated_use",
                ext.CONCENTRATION: "concentration",
            }.get(field, field)
            row.error(column, str(item["message"]))
    output = None
    if step == "use" and row.text("output_product"):
        out_lot = row.text("output_lot")
        out_class = row.convert("output_product", lambda p: resolver.epc_class(p, out_lot))
        out_quantity = row.convert("output_quantity", _quantity(allow_zero=False))
        out_unit = row.convert("output_unit", _unit)
        if row.text("output_quantity") is None:
            row.error("output_quantity", "an output product needs its quantity")
        if out_class and out_quantity is not None:
            output = _quantity_element(out_class, out_quantity, out_unit)
    if None in (times, site, epc_class, quantity) or step not in STEPS:
        return None
    assert times is not None and site is not None and epc_class is not None and quantity is not None
    event_time, offset = times
    element = _quantity_element(epc_class, quantity, unit)
    return _event(step, event_time, offset, site, element, counterparty, output, extensions)


def _event(
    step: str,
    event_time: str,
    offset: str,
    site: str,
    element: dict[str, Any],
    counterparty: str | None,
    output: dict[str, Any] | None,
    extensions: dict[str, Any],
) -> dict[str, Any]:
    base: dict[str, Any] = {"eventTime": event_time, "eventTimeZoneOffset": offset}
    place = {"readPoint": {"id": site}, "bizLocation": {"id": site}}
    if step == "use":
        seed = f"{site}|{event_time}|{element['epcClass']}|{element['quantity']}|{element.get('uom', '')}"
        event = {
            "type": "TransformationEvent",
            **base,
            "inputQuantityList": [element],
            **({"outputQuantityList": [output]} if output else {}),
            "transformationID": f"urn:uuid:{uuid.uuid5(_TRANSFORMATION_NS, seed)}",
            **place,
        }
        return {**event, **extensions}
    action, biz_step, disposition = {
        "production": ("ADD", "commissioning", "active"),
        "receipt": ("OBSERVE", "receiving", "in_progress"),
        "shipment": ("OBSERVE", "shipping", "in_transit"),
        "sale": ("OBSERVE", "retail_selling", "retail_sold"),
        "disposal": ("DELETE", "destroying", "destroyed"),
        "count": ("OBSERVE", "cycle_counting", None),
    }[step]
    event = {"type": "ObjectEvent", **base, "action": action, "bizStep": biz_step}
    if disposition:
        event["disposition"] = disposition
    event.update(place)
    event["quantityList"] = [element]
    if step == "receipt" and counterparty:
        event["sourceList"] = [{"type": "location", "source": counterparty}]
        event["destinationList"] = [{"type": "location", "destination": site}]
    if step in ("shipment", "sale") and counterparty:
        event["sourceList"] = [{"type": "location", "source": site}]
        event["destinationList"] = [{"type": "location", "destination": counterparty}]
    return {**event, **extensions}


def csv_to_document(
    text: str, resolver: Resolver, creation_date: dt.datetime | None = None
) -> dict[str, Any]:
    """Convert CSV text to an EPCISDocument; :class:`InvalidInput` lists every (line, column, message)."""
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise InputTooLarge(f"the CSV file is larger than {MAX_BYTES} bytes; split it")
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    errors: list[dict[str, Any]] = []
    unknown = [name for name in header if name not in COLUMNS]
    missing = [name for name in REQUIRED if name not in header]
    if unknown or missing or not header:
        for name in unknown:
            errors.append(
                {"line": 1, "column": name, "message": f"unknown column; known: {', '.join(COLUMNS)}"}
            )
        for name in missing:
            errors.append({"line": 1, "column": name, "message": "required column missing"})
        if not header:
            errors.append(
                {"line": 1, "column": "", "message": "empty file: the first line must be the header"}
            )
        _raise(errors)
    reader.fieldnames = header
    event_list = []
    for count, values in enumerate(reader, start=1):
        if count > MAX_ROWS:
            raise InputTooLarge(f"more than {MAX_ROWS} rows; split the file")
        line = reader.line_num
        if None in values:  # csv puts surplus cells under the key None
            errors.append({"line": line, "column": "", "message": "more cells than header columns"})
            continue
        if not any((v or "").strip() for v in values.values()):
            continue  # a blank line
        row = _Row(line, values, errors)
        for column in REQUIRED:
            if row.text(column) is None:
                row.error(column, "required value missing")
        event = _row_event(row, resolver)
        if event is not None:
            event_list.append(event)
    _raise(errors)
    if not event_list:
        raise InvalidInput("the CSV file has no rows")
    created = (creation_date or dt.datetime.now(dt.UTC)).isoformat()
    return {
        "@context": ext.with_context([EPCIS_CONTEXT]),
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": created,
        "epcisBody": {"eventList": event_list},
    }


def _raise(errors: list[dict[str, Any]]) -> None:
    if not errors:
        return
    shown = "; ".join(f"line {e['line']}, column {e['column'] or '-'}: {e['message']}" for e in errors[:20])
    more = f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""
    raise InvalidInput(f"{len(errors)} error(s) in the CSV file: {shown}{more}", details={"errors": errors})


def read_csv(path: Path) -> str:
    """The text of a CSV file (UTF-8, a BOM allowed), with a size limit."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read the file ({exc.strerror})") from exc
    if size > MAX_BYTES:
        raise InputTooLarge(f"{path}: {size} bytes, above the limit of {MAX_BYTES} bytes; split the file")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path}: not UTF-8 text (byte {exc.start})") from exc


def resolver_for(engine: Engine) -> Resolver:
    """A resolver over the registered sites and products of a ledger database."""
    masterdata = MasterData(engine)
    sites = masterdata.sites()
    return Resolver(
        site_locations={str(s["id"]): str(s["location_uri"]) for s in sites},
        gln_locations={str(s["gln"]): str(s["location_uri"]) for s in sites if s["gln"]},
        product_gtins={p.id: p.gtin for p in masterdata.products()},
    )


def import_csv(
    engine: Engine, source: Path | str, *, signer: CheckpointSigner | None = None
) -> CaptureResult:
    """Convert a CSV file (path or text) and capture it as one document: all rows or nothing."""
    from vigichem.ledger.service import capture
    from vigichem.ledger.store import LedgerStore

    text = read_csv(source) if isinstance(source, Path) else source
    document = csv_to_document(text, resolver_for(engine))
    return capture(LedgerStore(engine), document, signer=signer)


__all__ = [
    "COLUMNS",
    "MAX_ROWS",
    "REQUIRED",
    "STEPS",
    "Resolver",
    "csv_to_document",
    "import_csv",
    "read_csv",
    "resolver_for",
]
