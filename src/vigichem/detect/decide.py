"""Point-of-sale decision: ``allow``, ``allow_and_report``, ``refuse`` or ``licence_required``, with reasons.

The law first, from screening the product's composition as of the sale date (:func:`vigichem.chem.screen`):

* EU 2019/1148 Annex I above the limit value, to a member of the general public (``customer_type`` private):
  ``licence_required`` up to the licence upper limit (Art. 5(3)), ``refuse`` above it or where no licence
  regime exists (Art. 5(1)); with a licence presented, ``allow`` after verifying it (Art. 8(1)).
* EU drug precursors Category 1 (Regulation (EC) No 273/2004 Art. 3(2), (6)) and CWC Schedule 1: ``refuse``
  to a private buyer, ``licence_required`` for a professional without a licence reference.
* Any other legal finding (regulated explosives precursor, other categories, schedules): ``allow``, with the
  record-keeping and reporting duties named.

Then the indicators: the per-event detection rules run on the proposed sale against the buyer's history in
the ledger (same rule code as streaming); any finding makes ``allow`` into ``allow_and_report`` (EU
2019/1148 Art. 9(1): report suspicious transactions). The strictest outcome wins.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import Engine, Select, bindparam, select

from vigichem.detect.config import load_rule_pack
from vigichem.detect.context import DetectionState
from vigichem.detect.facts import Catalogue, EventFacts, Line, SubstanceAmount, event_facts
from vigichem.detect.rule import LedgerRule, Rule
from vigichem.detect.rules import RULE_CLASSES
from vigichem.errors import InvalidInput, NotFound, VigichemError
from vigichem.ledger import extensions as ext

__all__ = ["Decider", "Decision", "Outcome", "ProposedSale", "Reason", "decide", "parse_proposed_sale"]

Outcome = Literal["allow", "allow_and_report", "licence_required", "refuse"]
_RANK: dict[str, int] = {"allow": 0, "allow_and_report": 1, "licence_required": 2, "refuse": 3}
ANNEX_I = "eu-2019-1148-annex-i"
SCREENED_SIZE = 512
"""Screenings of compositions a decider keeps (the oldest go first)."""
STRICT_LISTS = {
    "eu-dp-1": "Regulation (EC) No 273/2004, Art. 3(2) and 3(6)",
    "cwc-1": "CWC Verification Annex, Part VI",
}


class ProposedSale(BaseModel):
    """A sale about to be made. Give ``product`` (registered id or GTIN) or ``composition`` (mixture text)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    product: str | None = Field(default=None, min_length=1, max_length=200)
    composition: str | None = Field(default=None, min_length=1, max_length=2000)
    quantity: float = Field(gt=0, allow_inf_nan=False)
    unit: str = "KGM"
    customer_type: str = "private"
    party_ref: str | None = None
    payment: str | None = None
    id_verified: bool | None = None
    delivery_type: str | None = None
    delivery_ref: str | None = None
    stated_use: str | None = Field(default=None, max_length=ext.MAX_END_USE_CHARS)
    licence: str | None = Field(default=None, max_length=200)
    site: str | None = None
    time: dt.datetime | None = None
    jurisdiction: str = "EU"

    @field_validator("unit")
    @classmethod
    def _unit(cls, value: str) -> str:
        from vigichem.ledger.units import is_known_unit

        if not is_known_unit(value):
            raise ValueError(f"{value!r} is not a UN/ECE Rec 20 mass or volume code (e.g. KGM, LTR, GRM)")
        return value

    @field_validator("customer_type")
    @classmethod
    def _customer_type(cls, value: str) -> str:
        if value not in ext.CUSTOMER_TYPES:
            raise ValueError(f"unknown customer type {value!r}; known: {', '.join(ext.CUSTOMER_TYPES)}")
        return value

    @field_validator("payment")
    @classmethod
    def _payment(cls, value: str | None) -> str | None:
        if value is not None and value not in ext.PAYMENT_METHODS:
            raise ValueError(f"unknown payment method {value!r}; known: {', '.join(ext.PAYMENT_METHODS)}")
        return value

    @field_validator("delivery_type")
    @classmethod
    def _delivery(cls, value: str | None) -> str | None:
        if value is not None and value not in ext.DELIVERY_TYPES:
            raise ValueError(f"unknown delivery type {value!r}; known: {', '.join(ext.DELIVERY_TYPES)}")
        return value

    @field_validator("party_ref", "delivery_ref")
    @classmethod
    def _reference(cls, value: str | None) -> str | None:
        if value is not None and not ext.PARTY_REF_RE.match(value):
            raise ValueError("must be a reference of 1-128 letters, digits or . _ : - (no personal data)")
        return value

    @field_validator("time")
    @classmethod
    def _aware(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must carry a time zone offset, e.g. 2026-03-02T10:00:00+01:00")
        return value


def parse_proposed_sale(raw: Any) -> ProposedSale:
    """Validate a proposed sale (JSON object); ``InvalidInput`` names the field that is wrong."""
    try:
        sale = ProposedSale.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        path = ".".join(str(p) for p in first["loc"]) or "sale"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise InvalidInput(f"proposed sale: {path}: {message}", details={"path": path}) from None
    if (sale.product is None) == (sale.composition is None):
        raise InvalidInput(
            "proposed sale: give exactly one of 'product' and 'composition'", details={"path": "product"}
        )
    return sale


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason of a decision: the outcome it calls for, a sentence, and its legal or guidance basis."""

    outcome: Outcome
    text: str
    basis: str

    def to_dict(self) -> dict[str, str]:
        """JSON form."""
        return {"outcome": self.outcome, "text": self.text, "basis": self.basis}


@dataclass(slots=True)
class Decision:
    """The answer: the strictest outcome of the reasons (``allow`` without any)."""

    outcome: Outcome
    reasons: list[Reason] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``POST /decide`` and ``vigichem decide --format json``)."""
        return {
            "outcome": self.outcome,
            "reasons": [r.to_dict() for r in self.reasons],
            "findings": self.findings,
        }


class Decider:
    """Decisions for one ledger (``engine``; ``None``: no history, no registered products)."""

    def __init__(self, engine: Engine | None = None) -> None:
        self.engine = engine
        self.catalogue = Catalogue(engine)
        self._rules: dict[str, list[Rule]] = {}
        self._screened: OrderedDict[tuple[object, ...], Any] = OrderedDict()  # oldest first
        self._lock = threading.Lock()  # one decider serves the API's threadpool

    def rules(self, jurisdiction: str) -> list[Rule]:
        """The per-event rules of a jurisdiction (ledger-wide rules do not judge a single proposed sale)."""
        if jurisdiction not in self._rules:
            pack = load_rule_pack()
            _, configs = pack.for_jurisdiction(jurisdiction)
            built = [
                RULE_CLASSES[name](config, pack.basis_text(config), jurisdiction, pack.bases)
                for name, config in configs.items()
                if config.enabled
            ]
            self._rules[jurisdiction] = [r for r in built if not isinstance(r, LedgerRule)]
        return self._rules[jurisdiction]

    def decide(self, sale: ProposedSale) -> Decision:
        """Decide on one proposed sale (see the module docstring)."""
        moment = (sale.time or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
        components = self._components(sale)
        result = self._screen(components, sale.jurisdiction, moment.date())
        reasons: list[Reason] = []
        findings = [f.model_dump() for f in result.findings]
        concentration = dict(components)
        for finding in result.findings:
            if finding.status == "watch":
                continue
            reasons.append(self._legal_reason(sale, finding, concentration.get(finding.component or "")))
        facts = self._facts(sale, moment, components, result)
        state = self._history(sale, moment)
        for rule in self.rules(sale.jurisdiction):
            try:
                rule_findings = rule.check(facts, state)
            except (VigichemError, ValueError, KeyError, TypeError, ArithmeticError):
                continue  # an indicator that cannot be judged does not block the sale decision
            for found in rule_findings:
                basis = found.basis or rule.basis
                reasons.append(Reason("allow_and_report", f"{rule.name}: {found.explanation}", basis))
        outcome: Outcome = "allow"
        for reason in reasons:
            if _RANK[reason.outcome] > _RANK[outcome]:
                outcome = reason.outcome
        reasons.sort(key=lambda r: -_RANK[r.outcome])
        return Decision(outcome, reasons, findings)

    # ---- the law ---------------------------------------------------------------------------------------
    def _screen(self, components: list[tuple[str, float | None]], jurisdiction: str, as_of: dt.date) -> Any:
        """Screen the composition; the same product on the same day is screened once (results are immutable).

        :func:`vigichem.chem.screen` caches text queries but not lists of components, and a till sells the
        same few products all day.
        """
        from vigichem.chem import Component, screen
        from vigichem.settings import get_settings

        key = (tuple(components), jurisdiction, as_of, get_settings().watch_similarity)
        with self._lock:
            cached = self._screened.get(key)
        if cached is not None:
            return cached
        result = screen(
            [Component(query=q, concentration=c) for q, c in components],
            jurisdiction=jurisdiction,
            as_of=as_of,
        )
        with self._lock:
            self._screened[key] = result
            while len(self._screened) > SCREENED_SIZE:
                self._screened.popitem(last=False)
        return result

    def _components(self, sale: ProposedSale) -> list[tuple[str, float | None]]:
        if sale.composition is not None:
            from vigichem.chem import parse_mixture

            return [(c.query, c.concentration) for c in parse_mixture(sale.composition)]
        assert sale.product is not None
        product = self.catalogue.by_id.get(sale.product) or self.catalogue.by_gtin.get(sale.product.zfill(14))
        if product is None:
            raise NotFound(
                f"product {sale.product!r} is not registered (give its id or GTIN, or a composition)"
            )
        return [(c.cas or c.substance, c.percent) for c in product.components]

    def _legal_reason(self, sale: ProposedSale, finding: Any, percent: float | None) -> Reason:
        list_id = _list_id(finding.list)
        private = sale.customer_type == "private"
        entry = "" if finding.entry in finding.list else f" {finding.entry}"
        what = f"{finding.component or 'the product'} ({finding.list}{entry}, {finding.status})"
        if list_id == ANNEX_I and finding.status == "restricted" and private:
            upper, permitted = _licence_limits(finding, sale.jurisdiction)
            basis = f"{finding.source}; Regulation (EU) 2019/1148, Art. 5(1) and 5(3)"
            if permitted is False or (upper is not None and percent is not None and percent > upper):
                limit = f" above the licence upper limit of {upper:g} % w/w" if upper is not None else ""
                return Reason(
                    "refuse", f"{what}{limit}: not to be made available to the general public", basis
                )
            if sale.licence:
                return Reason(
                    "allow", f"{what}: licence {sale.licence} presented; verify it (Art. 8(1))", basis
                )
            return Reason(
                "licence_required", f"{what}: a member of the general public needs a licence", basis
            )
        if list_id in STRICT_LISTS:
            basis = f"{finding.source}; {STRICT_LISTS[list_id]}"
            if private:
                return Reason("refuse", f"{what}: not to be supplied to a private person", basis)
            if not sale.licence:
                return Reason("licence_required", f"{what}: supply only to a licensed operator", basis)
            return Reason("allow", f"{what}: licence {sale.licence} presented; verify it", basis)
        return Reason(
            "allow", f"{what}: regulated; keep the records and report suspicious transactions", finding.source
        )

    # ---- the indicators ---------------------------------------------------------------------------------
    def _facts(
        self, sale: ProposedSale, moment: dt.datetime, components: list[tuple[str, float | None]], result: Any
    ) -> EventFacts:
        from vigichem.ledger.units import to_base

        value, base = to_base(sale.quantity, sale.unit)
        kg = float(value)  # litres as kilograms where no density is known (see facts._mass_kg)
        product = self.catalogue.by_id.get(sale.product or "") if sale.product else None
        if product is not None and base == "L" and product.density_kg_per_l:
            kg = float(value) * product.density_kg_per_l
        by_component = {c.query: c for c in result.components} if result.components else {}
        substances = []
        for query, percent in components:
            screened = by_component.get(query)
            legal = any(f.status != "watch" for f in result.findings if f.component in (query, None))
            key = screened.identity.cas if screened and screened.identity and screened.identity.cas else query
            name = screened.identity.name if screened and screened.identity else None
            share = (percent or 100.0) / 100.0
            substances.append(
                SubstanceAmount(key, name, percent or 100.0, kg * share, regulated=legal, flagged=True)
            )
        line = Line(
            epc_class=f"urn:vigichem:class:{sale.product}" if sale.product else "proposed",
            product_id=product.id if product else sale.product,
            quantity=sale.quantity,
            uom=sale.unit,
            kg=kg,
            substances=tuple(substances),
        )
        return EventFacts(
            hash_id="proposed",
            event_time=moment,
            kind="sale",
            site=sale.site,
            party_ref=sale.party_ref,
            payment=sale.payment,
            id_verified=sale.id_verified,
            customer_type=sale.customer_type,
            delivery_type=sale.delivery_type,
            delivery_ref=sale.delivery_ref,
            stated_end_use=sale.stated_use,
            lines=(line,),
        )

    def _history(self, sale: ProposedSale, moment: dt.datetime) -> DetectionState:
        """The buyer's past sales from the ledger (indexed by party reference), within the longest window."""
        horizon = max([r.params.get("window_days", 0.0) for r in self.rules(sale.jurisdiction)] + [30.0])
        state = DetectionState(horizon_days=horizon + 1)
        if self.engine is None or sale.party_ref is None:
            return state
        # Own history for the quantity rule reaches further back than the windows: a year.
        since = (moment - dt.timedelta(days=365)).replace(tzinfo=None)
        with self.engine.connect() as connection:
            rows = connection.execute(
                _history_query(),
                {"party": sale.party_ref, "since": since, "until": moment.replace(tzinfo=None)},
            ).all()
        for row in rows:
            try:
                state.observe(event_facts(row.hash_id, json.loads(row.event_json), self.catalogue))
            except (VigichemError, ValueError):
                continue
        return state


@functools.cache
def _history_query() -> Select[tuple[str, str]]:
    """A buyer's sales between two moments, oldest first; built once (building cost more than running)."""
    from vigichem.ledger.db import events

    return (
        select(events.c.hash_id, events.c.event_json)
        .where(events.c.party_ref == bindparam("party"))
        .where(events.c.event_time >= bindparam("since"))
        .where(events.c.event_time <= bindparam("until"))
        .order_by(events.c.event_time, events.c.seq)
    )


def _list_id(short: str) -> str | None:
    from vigichem.chem import load_knowledge_base

    for regulatory_list in load_knowledge_base().lists.values():
        if regulatory_list.short == short:
            return regulatory_list.id
    return None


def _licence_limits(finding: Any, jurisdiction: str) -> tuple[float | None, bool | None]:
    """The licence upper limit (% w/w) and whether a licence regime exists, from the knowledge base entry."""
    from vigichem.chem import load_knowledge_base

    regulatory_list = load_knowledge_base().lists.get(ANNEX_I)
    if regulatory_list is None:
        return None, None
    component = (finding.component or "").casefold()
    for entry in regulatory_list.entries:
        names = {entry.name.casefold(), *(s.casefold() for s in entry.synonyms), *entry.cas}
        if component and component not in names and entry.name not in finding.reason:
            continue
        for limit in entry.limits or regulatory_list.limits:
            if limit.kind == "concentration":
                return limit.licence_upper_limit, limit.licence_permitted
    return None, None


_DEFAULT = Decider()


def decide(proposed_sale: ProposedSale | dict[str, Any], engine: Engine | None = None) -> Decision:
    """Decide on a proposed sale (a :class:`ProposedSale` or its JSON object) against ``engine``'s ledger."""
    sale = proposed_sale if isinstance(proposed_sale, ProposedSale) else parse_proposed_sale(proposed_sale)
    decider = Decider(engine) if engine is not None else _DEFAULT
    return decider.decide(sale)
