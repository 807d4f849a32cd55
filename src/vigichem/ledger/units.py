"""UN/ECE Recommendation 20 units of mass and volume, and their conversion to kilograms and litres.

EPCIS 2.0 writes a quantity's unit as a UN/ECE Recommendation 20 common code (``"uom": "KGM"``); a
quantity with no ``uom`` is a count of items (EPCIS 2.0 section 7.3.3.3), which this module does not
convert. Controlled-chemical thresholds are set in mass or volume, so the ledger accepts only the mass and
volume codes below and converts them to kilograms or litres.

Source: UN/CEFACT Recommendation No. 20, "Codes for Units of Measure Used in International Trade",
Revision 17 (2021), Annex I (normative units, quantity "mass" and "volume"), common codes and conversion
factors to SI; the SI prefixes are exact, and the imperial and US customary factors are the exact legal
definitions (international yard and pound agreement, 1959; UK Weights and Measures Act 1985 for the UK
gallon) to which Rec 20's rounded factors correspond.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from vigichem.errors import InvalidQuantity, UnknownUnit

__all__ = [
    "MASS_UNITS",
    "UNITS",
    "VOLUME_UNITS",
    "BaseUnit",
    "Unit",
    "accepted_codes",
    "is_known_unit",
    "to_base",
]

BaseUnit = Literal["kg", "L"]

_POUND_KG = 0.45359237  # exact, international pound (1959)
_US_GALLON_L = 3.785411784  # exact, 231 cubic inches
_UK_GALLON_L = 4.54609  # exact, Weights and Measures Act 1985
_CUBIC_INCH_L = 0.016387064  # exact, (2.54 cm)^3


@dataclass(frozen=True, slots=True)
class Unit:
    """One Rec 20 unit: its common code, English name, base unit and the factor to that base."""

    code: str
    name: str
    base: BaseUnit
    factor: float


_MASS: tuple[Unit, ...] = (
    Unit("KGM", "kilogram", "kg", 1.0),
    Unit("GRM", "gram", "kg", 1e-3),
    Unit("MGM", "milligram", "kg", 1e-6),
    Unit("MC", "microgram", "kg", 1e-9),
    Unit("CGM", "centigram", "kg", 1e-5),
    Unit("DG", "decigram", "kg", 1e-4),
    Unit("DJ", "decagram", "kg", 1e-2),
    Unit("HGM", "hectogram", "kg", 1e-1),
    Unit("DTN", "decitonne", "kg", 1e2),
    Unit("TNE", "tonne (metric ton)", "kg", 1e3),
    Unit("KTN", "kilotonne", "kg", 1e6),
    Unit("LBR", "pound", "kg", _POUND_KG),
    Unit("ONZ", "ounce (avoirdupois)", "kg", _POUND_KG / 16),
    Unit("APZ", "troy ounce or apothecary ounce", "kg", 0.0311034768),
    Unit("GRN", "grain", "kg", _POUND_KG / 7000),
    Unit("CWA", "hundred pound (cwt) / hundred weight (US)", "kg", _POUND_KG * 100),
    Unit("CWI", "hundred weight (UK)", "kg", _POUND_KG * 112),
    Unit("STN", "ton (US) or short ton (UK/US)", "kg", _POUND_KG * 2000),
    Unit("LTN", "ton (UK) or long ton (US)", "kg", _POUND_KG * 2240),
)

_VOLUME: tuple[Unit, ...] = (
    Unit("LTR", "litre", "L", 1.0),
    Unit("MLT", "millilitre", "L", 1e-3),
    Unit("4G", "microlitre", "L", 1e-6),
    Unit("CLT", "centilitre", "L", 1e-2),
    Unit("DLT", "decilitre", "L", 1e-1),
    Unit("HLT", "hectolitre", "L", 1e2),
    Unit("MAL", "megalitre", "L", 1e6),
    Unit("MTQ", "cubic metre", "L", 1e3),
    Unit("DMQ", "cubic decimetre", "L", 1.0),
    Unit("CMQ", "cubic centimetre", "L", 1e-3),
    Unit("MMQ", "cubic millimetre", "L", 1e-6),
    Unit("INQ", "cubic inch", "L", _CUBIC_INCH_L),
    Unit("FTQ", "cubic foot", "L", _CUBIC_INCH_L * 1728),
    Unit("YDQ", "cubic yard", "L", _CUBIC_INCH_L * 46656),
    Unit("GLL", "gallon (US)", "L", _US_GALLON_L),
    Unit("GLI", "gallon (UK)", "L", _UK_GALLON_L),
    Unit("QTL", "quart (US liquid)", "L", _US_GALLON_L / 4),
    Unit("QTI", "quart (UK)", "L", _UK_GALLON_L / 4),
    Unit("PTL", "pint (US liquid)", "L", _US_GALLON_L / 8),
    Unit("PTI", "pint (UK)", "L", _UK_GALLON_L / 8),
    Unit("OZA", "fluid ounce (US)", "L", _US_GALLON_L / 128),
    Unit("OZI", "fluid ounce (UK)", "L", _UK_GALLON_L / 160),
    Unit("BLL", "barrel (US)", "L", _US_GALLON_L * 42),
)

MASS_UNITS: dict[str, Unit] = {unit.code: unit for unit in _MASS}
VOLUME_UNITS: dict[str, Unit] = {unit.code: unit for unit in _VOLUME}
UNITS: dict[str, Unit] = {**MASS_UNITS, **VOLUME_UNITS}


def accepted_codes() -> list[str]:
    """Every accepted Rec 20 code, mass first then volume, each group in table order."""
    return list(UNITS)


def is_known_unit(uom: str) -> bool:
    """Whether ``uom`` is an accepted Rec 20 mass or volume code (codes are upper-case, as Rec 20 writes)."""
    return uom in UNITS


def to_base(value: float, uom: str) -> tuple[float, BaseUnit]:
    """``value`` in ``uom`` converted to kilograms (mass) or litres (volume).

    Raises :class:`UnknownUnit` naming the code and the accepted ones, and :class:`InvalidQuantity` for
    a value that is not a finite number.
    """
    unit = UNITS.get(uom)
    if unit is None:
        raise UnknownUnit(
            f"unit {uom!r} is not a UN/ECE Rec 20 mass or volume code that vigichem accepts; "
            f"accepted: {', '.join(accepted_codes())}",
            details={"unit": uom, "accepted": accepted_codes()},
        )
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidQuantity(f"quantity {value!r} is not a finite number", details={"quantity": repr(value)})
    return value * unit.factor, unit.base
