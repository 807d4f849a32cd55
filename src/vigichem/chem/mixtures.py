"""Products and mixtures: components with concentrations, quantities, and the limit values they meet.

A mixture is screened component by component (:mod:`vigichem.chem.service`); this module holds what is
independent of the knowledge base:

* the query syntax of a mixture, ``"hydrogen peroxide 30%; water 70%"`` (components separated by ``;``,
  each ending with its concentration in % w/w; a component without ``N%`` has no stated concentration);
* validation: each concentration within 0–100 %, the sum at most 100 % plus :data:`SUM_TOLERANCE`
  percentage points (rounded label values such as 33.4 + 33.3 + 33.4 are accepted);
* quantities with units (``g``, ``kg``, ``t``, ``mL``, ``L`` and their UN/ECE Rec 20 codes ``GRM``,
  ``KGM``, ``TNE``, ``MLT``, ``LTR``), converted to grams or millilitres;
* the consequence of a concentration or quantity limit, as a sentence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from vigichem.chem.models import Component, Limit, Status
from vigichem.errors import InvalidComposition, InvalidQuantity, UnknownUnit

SUM_TOLERANCE = 0.5
"""Percentage points by which the stated concentrations may sum above 100 % (label rounding)."""

Dimension = Literal["mass", "volume"]

# Factor to the base unit of each dimension (gram, millilitre). Keys are case-folded.
_UNITS: dict[str, tuple[Dimension, float, str]] = {
    "mg": ("mass", 1e-3, "mg"),
    "g": ("mass", 1.0, "g"),
    "grm": ("mass", 1.0, "g"),
    "kg": ("mass", 1e3, "kg"),
    "kgm": ("mass", 1e3, "kg"),
    "t": ("mass", 1e6, "t"),
    "tne": ("mass", 1e6, "t"),
    "tonne": ("mass", 1e6, "t"),
    "tonnes": ("mass", 1e6, "t"),
    "ml": ("volume", 1.0, "mL"),
    "mlt": ("volume", 1.0, "mL"),
    "l": ("volume", 1e3, "L"),
    "ltr": ("volume", 1e3, "L"),
    "m3": ("volume", 1e6, "m3"),
    "mtq": ("volume", 1e6, "m3"),
}
_QUANTITY_RE = re.compile(r"^\s*([0-9]+(?:[.,][0-9]+)?(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z0-9]+)\s*$")
_COMPONENT_RE = re.compile(r"^(?P<query>.*?\S)\s+(?P<value>-?[0-9]+(?:[.,][0-9]+)?)\s*%\s*(?:w/w)?\s*$")
_SEVERITY: dict[str, int] = {"watch": 0, "reportable": 1, "declarable": 2, "restricted": 3, "controlled": 4}


@dataclass(frozen=True, slots=True)
class Quantity:
    """An amount of a product: ``value`` in ``unit`` as given, and its size in the base unit."""

    value: float
    unit: str  # the display symbol: g, kg, t, mL, L, m3
    dimension: Dimension
    base_value: float  # grams for a mass, millilitres for a volume

    def __str__(self) -> str:
        return f"{self.value:g} {self.unit}"

    def scaled(self, percent: float) -> Quantity:
        """The part of this quantity that ``percent`` % of it makes up, in the same unit."""
        factor = percent / 100.0
        return Quantity(self.value * factor, self.unit, self.dimension, self.base_value * factor)


def unit_of(symbol: str) -> tuple[Dimension, float, str]:
    """The dimension, base factor and display symbol of a unit, or :class:`UnknownUnit`."""
    known = _UNITS.get(symbol.strip().casefold())
    if known is None:
        raise UnknownUnit(
            f"unknown unit {symbol!r}: use a mass (mg, g, kg, t; UN/ECE GRM, KGM, TNE) or a volume "
            "(mL, L, m3; UN/ECE MLT, LTR, MTQ)",
            details={"unit": symbol},
        )
    return known


def make_quantity(value: float, unit: str) -> Quantity:
    """A validated :class:`Quantity`; the value must be a finite number above zero."""
    if not isinstance(value, int | float) or value != value or value in (float("inf"), float("-inf")):
        raise InvalidQuantity(f"quantity {value!r} is not a finite number", details={"value": str(value)})
    if value <= 0:
        raise InvalidQuantity(f"quantity must be above zero, got {value:g}", details={"value": value})
    dimension, factor, symbol = unit_of(unit)
    return Quantity(float(value), symbol, dimension, float(value) * factor)


def parse_quantity(text: str) -> Quantity:
    """Read a quantity such as ``"500 kg"``, ``"2.5t"``, ``"1,5 L"`` or ``"250 GRM"``."""
    match = _QUANTITY_RE.match(text)
    if match is None:
        raise InvalidQuantity(
            f"cannot read quantity {text!r}: expected a number and a unit, e.g. '500 kg' or '2 L'",
            details={"quantity": text},
        )
    return make_quantity(float(match.group(1).replace(",", ".")), match.group(2))


def looks_like_mixture(text: str) -> bool:
    """True when a query string uses the mixture syntax (a ``;`` or a trailing ``N%``)."""
    return ";" in text or ("%" in text and _COMPONENT_RE.match(text) is not None)


def parse_mixture(text: str) -> list[Component]:
    """Split ``"hydrogen peroxide 30%; water 70%"`` into components (validated with the sum rule)."""
    components: list[Component] = []
    for position, part in enumerate(text.split(";"), start=1):
        part = part.strip()
        if not part:
            if position == len(text.split(";")):
                continue  # a trailing ';' is harmless
            raise InvalidComposition(f"component {position} of {text!r} is empty", details={"query": text})
        match = _COMPONENT_RE.match(part)
        if match is None:
            components.append(Component(query=part))
        else:
            value = float(match.group("value").replace(",", "."))
            components.append(Component(query=match.group("query").strip(), concentration=value))
    return validate_components(components)


def validate_components(components: Sequence[Component]) -> list[Component]:
    """Check a mixture: at least one component, each concentration in 0–100 %, the sum at most 100 %."""
    if not components:
        raise InvalidComposition("a mixture needs at least one component")
    total = 0.0
    for component in components:
        if not component.query.strip():
            raise InvalidComposition("a mixture component has an empty name")
        concentration = component.concentration
        if concentration is None:
            continue
        if not 0.0 <= concentration <= 100.0:
            raise InvalidComposition(
                f"concentration of {component.query!r} is {concentration:g} %, outside 0–100 %",
                details={"component": component.query, "concentration": concentration},
            )
        total += concentration
    if total > 100.0 + SUM_TOLERANCE:
        listed = " + ".join(f"{c.concentration:g}" for c in components if c.concentration is not None)
        raise InvalidComposition(
            f"the concentrations sum to {total:g} % ({listed}), above 100 % "
            f"(tolerance {SUM_TOLERANCE:g} percentage points for rounding)",
            details={"sum": total, "tolerance": SUM_TOLERANCE},
        )
    return list(components)


@dataclass(frozen=True, slots=True)
class LimitOutcome:
    """What one limit means for a component: the status it imposes (``None``: it does not bind) and why."""

    status: Status | None
    sentence: str


def _percent(value: float, unit: str) -> str:
    unit = unit.strip()
    if unit in ("", "%"):
        return f"{value:g} %"
    return f"{value:g} {unit}" if unit.startswith("%") else f"{value:g} % ({unit})"


def _licence_clause(limit: Limit, concentration: float | None) -> str:
    if limit.licence_permitted is False:
        return "; no licence may be granted"
    if limit.licence_upper_limit is None:
        return ""
    upper = _percent(limit.licence_upper_limit, limit.unit)
    if concentration is not None and concentration > limit.licence_upper_limit:
        return f"; above the upper limit for licensing ({upper}), so no licence may be granted"
    return f"; a licence may be granted up to {upper}"


def evaluate_concentration(limit: Limit, concentration: float | None, what: str) -> LimitOutcome:
    """The consequence of a concentration limit for ``what`` at ``concentration`` % w/w.

    With no concentration given the chemical is taken as the pure substance, which is above every limit
    value below 100 %; the sentence says so.
    """
    limit_text = _percent(limit.value, limit.unit)
    if limit.activity:
        limit_text += f" (for {limit.activity})"
    if concentration is None:
        sentence = f"{what} (no concentration given) is {limit.status} above the {limit_text} limit value"
        return LimitOutcome(limit.status, sentence + _licence_clause(limit, None))
    given = f"{concentration:g} % w/w {what}"
    if concentration > limit.value:
        sentence = f"{given} is above the {limit_text} limit value: {limit.status}"
        return LimitOutcome(limit.status, sentence + _licence_clause(limit, concentration))
    if limit.status_below is None:
        return LimitOutcome(None, f"{given} is at or below the {limit_text} limit value: not covered")
    return LimitOutcome(
        limit.status_below, f"{given} is at or below the {limit_text} limit value: {limit.status_below}"
    )


def evaluate_quantity(limit: Limit, quantity: Quantity | None, what: str) -> LimitOutcome:
    """The consequence of a quantity threshold for ``quantity`` of ``what``.

    A quantity limit never lifts a listing: below the threshold (or with no quantity given) the outcome
    carries no status, only the sentence naming the threshold.
    """
    activity = f" ({limit.activity})" if limit.activity else ""
    dimension, factor, symbol = unit_of(limit.unit)
    threshold = f"{limit.value:g} {symbol}{activity}"
    if quantity is None:
        return LimitOutcome(None, f"{limit.status} above a threshold of {threshold}")
    if quantity.dimension != dimension:
        return LimitOutcome(
            None,
            f"{quantity} of {what} cannot be compared with the threshold of {threshold} "
            f"({quantity.dimension} against {dimension}, no density known)",
        )
    if quantity.base_value > limit.value * factor:
        return LimitOutcome(
            limit.status, f"{quantity} of {what} is above the threshold of {threshold}: {limit.status}"
        )
    return LimitOutcome(None, f"{quantity} of {what} is at or below the threshold of {threshold}")


def most_binding(statuses: Sequence[Status]) -> Status:
    """The most binding of several statuses (controlled > restricted > declarable > reportable > watch)."""
    return max(statuses, key=lambda status: _SEVERITY[status])


__all__ = [
    "SUM_TOLERANCE",
    "LimitOutcome",
    "Quantity",
    "evaluate_concentration",
    "evaluate_quantity",
    "looks_like_mixture",
    "make_quantity",
    "most_binding",
    "parse_mixture",
    "parse_quantity",
    "unit_of",
    "validate_components",
]
