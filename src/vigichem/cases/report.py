"""The suspicious-transaction report (STR) of a case, as JSON (schema :data:`STR_SCHEMA`, ``docs/cases.md``).

A report gathers, from the case and the ledger: the reporter, the times (first and last event, detection,
deadline, generation), whether the sale was completed, refused or attempted, the buyer's identity read from
the personal-data vault (the read is logged there with the case as its purpose), the substances (name, CAS,
concentration, quantity; from the evidence events and the product master data, or the event's
``vc:concentration``, each screened with :func:`vigichem.chem.screen` as of the event's date), payment,
delivery and stated use, the indicators observed (the alerts' explanations), free text and the evidence
(event hash IDs). Building a report is itself an audit entry of the case (with the report's SHA-256).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, Engine, select

from vigichem.cases import store
from vigichem.cases.models import Case
from vigichem.cases.service import get_case, utc
from vigichem.errors import InvalidInput, NotFound, VigichemError
from vigichem.ledger import extensions as ext
from vigichem.ledger.db import events, node
from vigichem.ledger.gs1 import parse_epc_class
from vigichem.ledger.masterdata import MasterData
from vigichem.ledger.masterdata_models import RegisteredProduct
from vigichem.ledger.units import to_base
from vigichem.ledger.vault import Vault

__all__ = ["SALE_OUTCOMES", "STR_SCHEMA", "STR_VERSION", "build_report", "report_digest", "substance_kg"]

STR_VERSION = "vigichem-str/1"
SaleOutcome = Literal["completed", "refused", "attempted"]
SALE_OUTCOMES: tuple[SaleOutcome, ...] = ("completed", "refused", "attempted")
SALE_STEPS = frozenset({"retail_selling", "dispensing", "shipping"})
MAX_FREE_TEXT = 10_000

_TIME = {"type": ["string", "null"], "format": "date-time"}
_TIME_KEYS = ("firstEventTime", "lastEventTime", "detectedAt", "deadline", "generatedAt")
STR_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "vigichem suspicious-transaction report",
    "type": "object",
    "required": [
        "version",
        "case",
        "reporter",
        "times",
        "saleOutcome",
        "buyers",
        "substances",
        "transactions",
        "indicators",
        "freeText",
        "evidence",
    ],
    "properties": {
        "version": {"const": STR_VERSION},
        "case": {
            "type": "object",
            "required": ["id", "subject", "jurisdiction", "status", "typologies"],
        },
        "reporter": {"type": "object", "required": ["name", "organisation", "country"]},
        "times": {
            "type": "object",
            "required": ["firstEventTime", "lastEventTime", "detectedAt", "deadline", "generatedAt"],
            "properties": dict.fromkeys(
                ("firstEventTime", "lastEventTime", "detectedAt", "deadline", "generatedAt"), _TIME
            ),
        },
        "saleOutcome": {"enum": list(SALE_OUTCOMES)},
        "buyers": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["ref", "identity", "note"],
                "properties": {"identity": {"type": ["object", "null"]}},
            },
        },
        "substances": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "name",
                    "cas",
                    "concentrationPercent",
                    "quantity",
                    "unit",
                    "product",
                    "findings",
                ],
            },
        },
        "transactions": {"type": "array", "items": {"type": "object", "required": ["hashId", "eventTime"]}},
        "indicators": {
            "type": "array",
            "items": {"type": "object", "required": ["typology", "detail", "explanation", "basis"]},
        },
        "freeText": {"type": ["string", "null"]},
        "evidence": {"type": "array", "items": {"type": "object", "required": ["hashId", "inLedger"]}},
    },
}
"""JSON Schema (2020-12) of a report, as ``docs/cases.md`` describes it."""


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat() + "Z"


def report_digest(report: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of a report's canonical JSON (sorted keys): what the case's audit trail records."""
    return hashlib.sha256(json.dumps(report, sort_keys=True).encode("utf-8")).hexdigest()


class _Products:
    """Registered products looked up by epcClass (GTIN or ``local:`` id)."""

    def __init__(self, engine: Engine) -> None:
        products = MasterData(engine).products()
        self.by_gtin = {p.gtin: p for p in products if p.gtin}
        self.by_id = {p.id: p for p in products}

    def of(self, epc_class: str) -> RegisteredProduct | None:
        parsed = parse_epc_class(epc_class)
        if parsed is None:
            return None
        if parsed.product_key.startswith("local:"):
            return self.by_id.get(parsed.product_key.removeprefix("local:"))
        return self.by_gtin.get(parsed.product_key)


def _screen(query: str, jurisdiction: str, on: datetime) -> tuple[str | None, list[str]]:
    """The screened name and the findings (``list entry: status``) of one substance as of ``on``."""
    from vigichem.chem import screen

    try:
        result = screen(query, jurisdiction=jurisdiction, as_of=on.date())
    except VigichemError as error:
        return None, [f"not screened: {error.message}"]
    name = result.identity.name if result.identity else None
    return name, [f"{finding.list} {finding.entry}: {finding.status}" for finding in result.findings]


def _evidence_rows(connection: Connection, hash_ids: tuple[str, ...]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for start in range(0, len(hash_ids), 500):
        chunk = list(hash_ids[start : start + 500])
        query = select(
            events.c.hash_id,
            events.c.event_time,
            events.c.biz_step,
            events.c.biz_location,
            events.c.party_ref,
            events.c.event_json,
        ).where(events.c.hash_id.in_(chunk))
        for row in connection.execute(query):
            found[row.hash_id] = row
    return found


def _reporter(connection: Connection, reporter: str) -> dict[str, Any]:
    identity = connection.execute(select(node.c.name, node.c.country)).first()
    return {
        "name": reporter,
        "organisation": identity.name if identity else None,
        "country": identity.country if identity else None,
    }


def _substances_of(
    event: Mapping[str, Any], when: datetime, products: _Products, jurisdiction: str, hash_id: str
) -> list[dict[str, Any]]:
    declared = ext.extension_value(event, ext.CONCENTRATION)
    substances: list[dict[str, Any]] = []
    for element in event.get("quantityList") or []:
        product = products.of(str(element.get("epcClass", "")))
        components: list[tuple[str, str | None, str | None, float | None]] = []
        if isinstance(declared, list) and declared:
            # The concentration declared on the event is what was sold; it takes precedence over master data.
            components = [(str(c["substance"]), None, None, float(c["percent"])) for c in declared]
        elif product is not None:
            components = [(c.cas or c.substance, c.cas, c.name, c.percent) for c in product.components]
        for query, cas, name, percent in components:
            screened_name, findings = _screen(query, jurisdiction, when)
            substances.append(
                {
                    "name": name or screened_name or query,
                    "cas": cas or (query if query[:1].isdigit() else None),
                    "concentrationPercent": percent,
                    "quantity": element.get("quantity"),
                    "unit": element.get("uom"),
                    "substanceKg": substance_kg(
                        element.get("quantity"), element.get("uom"), percent, product
                    ),
                    "product": product.name if product else element.get("epcClass"),
                    "findings": findings,
                    "hashId": hash_id,
                }
            )
    return substances


def substance_kg(
    quantity: Any, uom: Any, percent: float | None, product: RegisteredProduct | None
) -> float | None:
    """Kilograms of the pure substance in a quantity of product (None when the mass cannot be known).

    A quantity without a unit, or in ``EA``, counts trade items (EPCIS 2.0): it goes through the product's
    net content. A volume needs the product's density; without it the mass is unknown, not guessed.
    """
    if percent is None or isinstance(quantity, bool) or not isinstance(quantity, int | float):
        return None
    amount = float(quantity)
    unit = None if uom in (None, "EA", "H87") else str(uom)
    if unit is None:
        if product is None or product.net_content is None:
            return None
        amount *= product.net_content.value
        unit = product.net_content.uom
    try:
        amount, base = to_base(amount, unit)
    except VigichemError:
        return None
    if base == "L":
        if product is None or product.density_kg_per_l is None:
            return None
        amount *= product.density_kg_per_l
    return round(amount * percent / 100.0, 6)


def _transaction(row: Any, event: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "hashId": row.hash_id,
        "eventTime": _iso(row.event_time),
        "bizStep": row.biz_step,
        "site": row.biz_location,
        "buyerRef": row.party_ref,
        "payment": ext.extension_value(event, ext.PAYMENT_METHOD),
        "deliveryType": ext.extension_value(event, ext.DELIVERY_TYPE),
        "deliveryRef": ext.extension_value(event, ext.DELIVERY_REF),
        "statedUse": ext.extension_value(event, ext.STATED_END_USE),
        "idVerified": ext.extension_value(event, ext.ID_VERIFIED),
        "customerType": ext.extension_value(event, ext.CUSTOMER_TYPE),
    }


def _buyers(engine: Engine, refs: list[str], case: Case, actor: str) -> list[dict[str, Any]]:
    vault = Vault(engine)
    buyers: list[dict[str, Any]] = []
    for ref in refs:
        try:
            data = vault.read_party(
                ref, actor=actor, purpose=f"suspicious-transaction report, case {case.id}"
            )
        except NotFound as missing:
            buyers.append({"ref": ref, "identity": None, "note": missing.message})
            continue
        buyers.append({"ref": ref, "identity": data.model_dump(), "note": None})
    return buyers


def _outcome(transactions: list[dict[str, Any]]) -> SaleOutcome:
    steps = {str(item["bizStep"] or "").rsplit(":", 1)[-1] for item in transactions}
    return "completed" if steps & SALE_STEPS else "attempted"


def build_report(
    engine: Engine,
    case_id: int,
    *,
    reporter: str,
    actor: str | None = None,
    outcome: SaleOutcome | str | None = None,
    free_text: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """The STR of a case as a JSON-ready dict (schema :data:`STR_SCHEMA`); recorded in the audit trail.

    ``outcome``: ``completed``, ``refused`` or ``attempted``; by default ``completed`` when an evidence event
    is a sale or shipment, else ``attempted`` (a refused sale leaves no sale event, so say so explicitly).
    """
    if not isinstance(reporter, str) or not reporter.strip():
        raise InvalidInput("a report needs the reporter's name")
    if outcome is not None and outcome not in SALE_OUTCOMES:
        raise InvalidInput(f"sale outcome {outcome!r} is not one of {', '.join(SALE_OUTCOMES)}")
    if free_text is not None and len(free_text) > MAX_FREE_TEXT:
        raise InvalidInput(
            f"the free text is {len(free_text)} characters, above the limit of {MAX_FREE_TEXT}"
        )
    actor = actor or reporter
    case = get_case(engine, case_id)
    products = _Products(engine)
    with engine.connect() as connection:
        rows = _evidence_rows(connection, case.evidence)
        reporter_record = _reporter(connection, reporter.strip())
    transactions: list[dict[str, Any]] = []
    substances: list[dict[str, Any]] = []
    for hash_id in case.evidence:
        row = rows.get(hash_id)
        if row is None:
            continue
        event = json.loads(row.event_json)
        transactions.append(_transaction(row, event))
        substances += _substances_of(event, row.event_time, products, case.jurisdiction, hash_id)
    transactions.sort(key=lambda item: (item["eventTime"], item["hashId"]))
    refs = [str(t["buyerRef"]) for t in transactions if t["buyerRef"]]
    if case.subject_type == "party":
        refs.insert(0, case.subject_id)
    generated = utc(at)
    report: dict[str, Any] = {
        "version": STR_VERSION,
        "case": {
            "id": case.id,
            "subject": {"type": case.subject_type, "id": case.subject_id},
            "jurisdiction": case.jurisdiction,
            "status": str(case.status),
            "typologies": list(case.typologies),
        },
        "reporter": reporter_record,
        "times": {
            "firstEventTime": _iso(case.first_event_time),
            "lastEventTime": _iso(case.last_event_time),
            "detectedAt": _iso(case.opened_at),
            "deadline": _iso(case.deadline),
            "generatedAt": _iso(generated),
            "overdueAtGeneration": case.overdue(generated),
        },
        "saleOutcome": outcome or _outcome(transactions),
        "buyers": _buyers(engine, list(dict.fromkeys(refs)), case, actor),
        "substances": substances,
        "transactions": transactions,
        "indicators": [
            {
                "typology": alert.typology,
                "detail": alert.detail,
                "rule": alert.rule,
                "severity": alert.severity,
                "explanation": alert.explanation,
                "basis": alert.basis,
                "detectedAt": _iso(alert.detected_at),
            }
            for alert in case.alerts
        ],
        "freeText": free_text,
        "evidence": [{"hashId": hash_id, "inLedger": hash_id in rows} for hash_id in case.evidence],
    }
    with store.write_transaction(engine) as connection:
        store.append_audit(
            connection, case.id, generated, actor, "report", "str", None, report_digest(report)
        )
    return report
