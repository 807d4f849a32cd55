"""Mixtures and quantities: syntax, validation, limit values and thresholds from the knowledge base."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigichem.chem import Component, InvalidComposition, InvalidQuantity, UnknownUnit, screen
from vigichem.chem.knowledge import load_knowledge_base
from vigichem.chem.mixtures import (
    SUM_TOLERANCE,
    evaluate_concentration,
    looks_like_mixture,
    make_quantity,
    parse_mixture,
    parse_quantity,
    validate_components,
)
from vigichem.chem.models import Entry, Limit


def _entry(list_id: str, name: str) -> Entry:
    for entry in load_knowledge_base().lists[list_id].entries:
        if entry.name == name:
            return entry
    raise AssertionError(f"{name!r} is not in {list_id}")


def _concentration_limit(entry: Entry) -> Limit:
    return next(limit for limit in entry.limits if limit.kind == "concentration")


# ---- syntax and validation -------------------------------------------------------------------------


def test_mixture_syntax() -> None:
    assert parse_mixture("hydrogen peroxide 30%; water 70 %") == [
        Component(query="hydrogen peroxide", concentration=30.0),
        Component(query="water", concentration=70.0),
    ]
    assert parse_mixture("7722-84-1 12,5 % w/w; 7732-18-5;") == [
        Component(query="7722-84-1", concentration=12.5),
        Component(query="7732-18-5"),
    ]
    assert looks_like_mixture("acetone 5%")
    assert not looks_like_mixture("acetone")
    assert not looks_like_mixture("C%10CCCCC%10")  # a SMILES ring closure is not a concentration


@pytest.mark.parametrize("text", ["acetone 120%", "acetone -5%"])
def test_concentration_outside_0_to_100_is_refused(text: str) -> None:
    with pytest.raises(InvalidComposition, match="outside 0–100 %"):
        parse_mixture(text)


def test_sum_above_100_is_refused_with_the_tolerance_stated() -> None:
    with pytest.raises(InvalidComposition) as raised:
        parse_mixture("hydrogen peroxide 60%; water 50%")
    assert "110" in raised.value.message
    assert f"tolerance {SUM_TOLERANCE:g}" in raised.value.message


def test_label_rounding_within_the_tolerance_is_accepted() -> None:
    parts = [Component(query=name, concentration=33.4) for name in ("a", "b", "c")]  # invented components
    assert validate_components(parts) == parts


def test_empty_mixture_and_empty_component_are_refused() -> None:
    with pytest.raises(InvalidComposition):
        validate_components([])
    with pytest.raises(InvalidComposition, match="empty"):
        parse_mixture("acetone 5%;; water 95%")


@given(st.lists(st.floats(min_value=0, max_value=100), min_size=1, max_size=6))
def test_validation_accepts_exactly_the_sums_within_tolerance(values: list[float]) -> None:
    parts = [Component(query=f"c{i}", concentration=v) for i, v in enumerate(values)]  # invented
    if sum(values) <= 100 + SUM_TOLERANCE:
        assert validate_components(parts) == parts
    else:
        with pytest.raises(InvalidComposition):
            validate_components(parts)


# ---- quantities ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "dimension", "base"),
    [
        ("500 kg", "mass", 500_000.0),
        ("2,5 t", "mass", 2_500_000.0),
        ("250 GRM", "mass", 250.0),
        ("1.5 L", "volume", 1500.0),
        ("20 mL", "volume", 20.0),
        ("3 KGM", "mass", 3000.0),
    ],
)
def test_quantities_convert_to_base_units(text: str, dimension: str, base: float) -> None:
    quantity = parse_quantity(text)
    assert quantity.dimension == dimension
    assert quantity.base_value == pytest.approx(base)


def test_unknown_unit_and_bad_quantities() -> None:
    with pytest.raises(UnknownUnit, match="furlong"):
        parse_quantity("3 furlong")
    with pytest.raises(InvalidQuantity):
        parse_quantity("a lot")
    with pytest.raises(InvalidQuantity, match="above zero"):
        make_quantity(0, "kg")
    with pytest.raises(InvalidQuantity):
        make_quantity(float("nan"), "kg")


# ---- limit values (EU 2019/1148 Annex I) -----------------------------------------------------------


def test_consequence_sentence_of_the_hydrogen_peroxide_limits() -> None:
    limit = _concentration_limit(_entry("eu-2019-1148-annex-i", "Hydrogen peroxide"))
    assert limit.licence_upper_limit is not None
    between = (limit.value + limit.licence_upper_limit) / 2
    above = limit.licence_upper_limit + 1
    below = limit.value / 2

    outcome = evaluate_concentration(limit, between, "hydrogen peroxide")
    assert outcome.status == limit.status
    assert f"above the {limit.value:g} %" in outcome.sentence
    assert f"a licence may be granted up to {limit.licence_upper_limit:g} %" in outcome.sentence

    outcome = evaluate_concentration(limit, above, "hydrogen peroxide")
    assert outcome.status == limit.status and "no licence may be granted" in outcome.sentence

    outcome = evaluate_concentration(limit, below, "hydrogen peroxide")
    assert outcome.status == limit.status_below
    assert "at or below" in outcome.sentence


def test_pool_product_and_hair_product() -> None:
    entry = _entry("eu-2019-1148-annex-i", "Hydrogen peroxide")
    limit = _concentration_limit(entry)
    # Typical label values (invented products): 30 % pool product, 6 % hair product.
    pool = screen("hydrogen peroxide 30%; water 70%", jurisdiction="EU")
    (finding,) = [f for f in pool.findings if f.list == "EU 2019/1148 Annex I"]
    assert finding.status == limit.status and finding.component == "hydrogen peroxide"
    assert "30 % w/w hydrogen peroxide is above the 12 % w/w limit value: restricted" in finding.reason
    assert "licence may be granted up to 35 %" in finding.reason
    assert any("'water'" in note for note in pool.notes)  # water: no list names it, said so

    hair = screen(f"{entry.cas[0]} 6%; 7732-18-5 94%", jurisdiction="EU")
    (finding,) = [f for f in hair.findings if f.list == "EU 2019/1148 Annex I"]
    assert finding.status == limit.status_below


def test_ammonium_nitrate_limit_is_read_as_nitrogen_content() -> None:
    limit = _concentration_limit(_entry("eu-2019-1148-annex-i", "Ammonium nitrate"))
    assert "nitrogen" in limit.unit
    # NH4NO3 is 35.0 % nitrogen by mass, so 16 % N is reached at about 45.7 % ammonium nitrate.
    low = screen("ammonium nitrate 40%", jurisdiction="EU")
    high = screen("ammonium nitrate 50%", jurisdiction="EU")
    (low_finding,) = [f for f in low.findings if f.list == "EU 2019/1148 Annex I"]
    (high_finding,) = [f for f in high.findings if f.list == "EU 2019/1148 Annex I"]
    assert low_finding.status == limit.status_below and "14 % w/w nitrogen" in low_finding.reason
    assert high_finding.status == limit.status and "17.5 % w/w nitrogen" in high_finding.reason


def test_limit_status_below_none_means_no_finding() -> None:
    annex_ii = load_knowledge_base().lists["eu-2019-1148-annex-ii"]
    entry = _entry(annex_ii.id, "Aluminium, powders")
    limit = _concentration_limit(entry)
    assert limit.status_below is None and limit.activity is None
    below = screen(f"{entry.cas[0]} {limit.value - 20:g}%", jurisdiction="EU")
    above = screen(f"{entry.cas[0]} {min(limit.value + 20, 100):g}%", jurisdiction="EU")
    assert not [f for f in below.findings if f.list == annex_ii.short]
    assert any("at or below" in note and "no finding" in note for note in below.notes)
    assert [f.status for f in above.findings if f.list == annex_ii.short] == [limit.status]


def test_limit_tied_to_an_activity_adds_a_duty_without_removing_the_listing() -> None:
    schedule_2 = load_knowledge_base().lists["cwc-2"]
    activity_limit = next(lim for lim in schedule_2.limits if lim.kind == "concentration" and lim.activity)
    assert activity_limit.jurisdictions is not None
    code = activity_limit.jurisdictions[0]
    entry = _entry("cwc-2", "Thiodiglycol")
    low = screen(f"{entry.cas[0]} {activity_limit.value / 2:g}%", jurisdiction=code)
    high = screen(f"{entry.cas[0]} {activity_limit.value * 2:g}%", jurisdiction=code)
    (low_finding,) = [f for f in low.findings if f.list == schedule_2.short]
    (high_finding,) = [f for f in high.findings if f.list == schedule_2.short]
    assert low_finding.status == schedule_2.status
    assert high_finding.status == activity_limit.status
    assert activity_limit.activity is not None and activity_limit.activity in high_finding.reason


# ---- quantity thresholds (CWC Schedule 2 Part B) ---------------------------------------------------


def _declaration_threshold(entry: Entry) -> Limit:
    kb = load_knowledge_base()
    limits = entry.limits or kb.lists["cwc-2"].limits
    return next(limit for limit in limits if limit.kind == "quantity")


def test_quantity_above_and_below_the_declaration_threshold() -> None:
    entry = _entry("cwc-2", "Thiodiglycol")
    threshold = _declaration_threshold(entry)
    above = screen(entry.cas[0], jurisdiction="INTL", quantity=f"{threshold.value * 2:g} {threshold.unit}")
    below = screen(entry.cas[0], jurisdiction="INTL", quantity=f"{threshold.value / 2:g} {threshold.unit}")
    (found_above,) = [f for f in above.findings if f.list == "CWC Schedule 2"]
    (found_below,) = [f for f in below.findings if f.list == "CWC Schedule 2"]
    assert "is above the threshold" in found_above.reason and found_above.status == threshold.status
    assert "at or below the threshold" in found_below.reason


def test_quantity_of_a_mixture_counts_the_components_share() -> None:
    entry = _entry("cwc-2", "Thiodiglycol")
    threshold = _declaration_threshold(entry)
    # 40 % of twice the threshold is below it; 60 % is above it.
    product = f"{threshold.value * 2:g} {threshold.unit}"
    (low,) = [
        f
        for f in screen(f"{entry.cas[0]} 40%", "INTL", quantity=product).findings
        if f.list == "CWC Schedule 2"
    ]
    (high,) = [
        f
        for f in screen(f"{entry.cas[0]} 60%", "INTL", quantity=product).findings
        if f.list == "CWC Schedule 2"
    ]
    assert "at or below the threshold" in low.reason
    assert "is above the threshold" in high.reason


def test_volume_is_not_compared_with_a_mass_threshold() -> None:
    entry = _entry("cwc-2", "Thiodiglycol")
    result = screen(entry.cas[0], jurisdiction="INTL", quantity="2000 L")
    (finding,) = [f for f in result.findings if f.list == "CWC Schedule 2"]
    assert "cannot be compared" in finding.reason and "no density" in finding.reason
