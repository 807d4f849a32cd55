"""UN/ECE Rec 20 mass and volume units."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigichem.errors import InvalidQuantity, UnknownUnit
from vigichem.ledger.units import MASS_UNITS, UNITS, VOLUME_UNITS, accepted_codes, is_known_unit, to_base


@pytest.mark.parametrize(
    ("value", "uom", "expected", "base"),
    [
        (1, "KGM", 1.0, "kg"),
        (250, "GRM", 0.25, "kg"),
        (5, "MGM", 5e-6, "kg"),
        (2, "TNE", 2000.0, "kg"),
        (1, "LBR", 0.45359237, "kg"),
        (16, "ONZ", 0.45359237, "kg"),
        (1, "STN", 907.18474, "kg"),
        (1, "LTN", 1016.0469088, "kg"),
        (1, "LTR", 1.0, "L"),
        (500, "MLT", 0.5, "L"),
        (1, "MTQ", 1000.0, "L"),
        (3, "DMQ", 3.0, "L"),
        (1, "CMQ", 0.001, "L"),
        (1, "GLL", 3.785411784, "L"),
        (1, "GLI", 4.54609, "L"),
        (1, "BLL", 158.987294928, "L"),
        (1, "FTQ", 28.316846592, "L"),
    ],
)
def test_conversions(value: float, uom: str, expected: float, base: str) -> None:
    converted, unit = to_base(value, uom)
    assert unit == base
    assert math.isclose(converted, expected, rel_tol=1e-12)


def test_unknown_unit_names_the_code_and_lists_accepted_ones() -> None:
    with pytest.raises(UnknownUnit) as caught:
        to_base(1.0, "CEL")  # degree Celsius: a Rec 20 code, but not mass or volume
    assert "'CEL'" in caught.value.message
    assert "KGM" in caught.value.message and "LTR" in caught.value.message
    assert caught.value.details["accepted"] == accepted_codes()


def test_codes_are_case_sensitive_as_rec_20_writes_them() -> None:
    assert is_known_unit("KGM")
    assert not is_known_unit("kgm")
    with pytest.raises(UnknownUnit):
        to_base(1.0, "kg")


@pytest.mark.parametrize("bad", [math.nan, math.inf, "12", True])
def test_non_numbers_are_refused(bad: object) -> None:
    with pytest.raises(InvalidQuantity):
        to_base(bad, "KGM")  # type: ignore[arg-type]


def test_tables_are_disjoint_and_well_formed() -> None:
    assert set(MASS_UNITS).isdisjoint(VOLUME_UNITS)
    assert all(u.base == "kg" for u in MASS_UNITS.values())
    assert all(u.base == "L" for u in VOLUME_UNITS.values())
    assert all(u.factor > 0 for u in UNITS.values())


@given(st.floats(min_value=1e-9, max_value=1e9), st.sampled_from(sorted(UNITS)))
def test_conversion_is_linear_and_positive(value: float, uom: str) -> None:
    single, base = to_base(value, uom)
    double, same_base = to_base(value * 2, uom)
    assert base == same_base
    assert single > 0
    assert math.isclose(double, single * 2, rel_tol=1e-12)
