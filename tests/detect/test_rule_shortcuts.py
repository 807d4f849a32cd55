"""The purchase rules' shortcuts change no finding: each rule equals its full computation (the reference).

The split-purchase rules return early when no substance of the sale is below the level or when the buyer
has too few purchases kept to reach the minimum; the combination rule when the sale has no regulated
substance, or too few with no earlier purchase kept. :func:`_reference_split` and
:func:`_reference_combination` are the rules' checks without those shortcuts (as they were before them).
Sales are **invented** and random (seeded): few buyers, so that histories build up, amounts around the
levels, two products (one regulated substance each) and sales without a party.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

import pytest

from vigichem.detect.config import load_rule_pack
from vigichem.detect.context import DetectionState
from vigichem.detect.facts import EventFacts, Line, SubstanceAmount
from vigichem.detect.rule import RuleFinding
from vigichem.detect.rules.purchases import (
    SplitPurchase,
    SplitPurchaseMultiSeller,
    UnusualCombination,
    _current,
    _finding,
    _name,
)

START = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
SITES = ["urn:epc:id:sgln:0614141.00777.0", "urn:epc:id:sgln:0614141.00778.0", None]
SUBSTANCES = [("7722-84-1", "Hydrogen peroxide"), ("7664-93-9", "Sulphuric acid"), ("7647-01-0", None)]


def _reference_split(rule: SplitPurchase, facts: EventFacts, state: DetectionState) -> list[RuleFinding]:
    if facts.kind != "sale" or not facts.party_ref:
        return []
    level = rule.params["max_single_kg"]
    since = facts.event_time - dt.timedelta(days=rule.params["window_days"])
    history = [*state.purchases(facts.party_ref, since), _current(facts)]
    findings = []
    for substance, amount in facts.regulated_kg().items():
        if amount >= level:
            continue
        small = [p for p in history if 0 < p.regulated_kg.get(substance, 0.0) < level]
        if not rule.multi_seller:
            small = [p for p in small if p.site == facts.site]
        sellers = {p.site for p in small}
        total = sum(p.regulated_kg[substance] for p in small)
        if len(small) < rule.params["min_purchases"] or total < rule.params["min_total_kg"]:
            continue
        if rule.multi_seller and len(sellers) < rule.params["min_sellers"]:
            continue
        where = f"at {len(sellers)} sellers" if rule.multi_seller else "at one seller"
        findings.append(
            _finding(
                facts.party_ref,
                small,
                facts,
                f"{len(small)} purchases of {_name(facts, substance)} {where} within "
                f"{rule.params['window_days']:g} days, each below {level:g} kg, total {total:.3g} kg",
                {
                    "substance": substance,
                    "purchases": len(small),
                    "sellers": len(sellers),
                    "total_kg": round(total, 6),
                    "max_single_kg": level,
                    "window_days": rule.params["window_days"],
                },
            )
        )
    return findings


def _reference_combination(
    rule: UnusualCombination, facts: EventFacts, state: DetectionState
) -> list[RuleFinding]:
    if facts.kind != "sale" or not facts.party_ref:
        return []
    if facts.customer_type not in rule.names("customer_types"):
        return []
    current = set(facts.regulated_kg())
    since = facts.event_time - dt.timedelta(days=rule.params["window_days"])
    history = [*state.purchases(facts.party_ref, since), _current(facts)]
    before = {s for p in history[:-1] for s in p.regulated_kg}
    combined = before | current
    if not (current - before) or len(combined) < rule.params["min_substances"]:
        return []
    relevant = [p for p in history if p.regulated_kg]
    names = facts.substance_names()
    listed = ", ".join(sorted(names.get(s, s) for s in combined))
    return [
        _finding(
            facts.party_ref,
            relevant,
            facts,
            f"a private buyer bought {len(combined)} different regulated substances ({listed}) "
            f"within {rule.params['window_days']:g} days",
            {"substances": sorted(combined), "window_days": rule.params["window_days"]},
        )
    ]


def _sale(rng: random.Random, moment: dt.datetime, number: int) -> EventFacts:
    lines = []
    for _ in range(rng.choice([0, 1, 1, 1, 2])):
        key, name = rng.choice(SUBSTANCES)
        kg = rng.choice([None, 0.0, rng.uniform(0.05, 2.0), rng.uniform(0.5, 8.0)])
        substance = SubstanceAmount(key, name, 30.0, kg, regulated=rng.random() < 0.85)
        lines.append(Line(f"urn:vigichem:class:{key}:L1", key, 1.0, "KGM", kg, (substance,)))
    return EventFacts(
        hash_id=f"h{number}",
        event_time=moment,
        kind=rng.choice(["sale"] * 8 + ["shipment"]),
        site=rng.choice(SITES),
        party_ref=rng.choice([None, *(f"pty-{i}" for i in range(12))]),
        payment="card",
        id_verified=True,
        customer_type=rng.choice(["private", "private", "professional"]),
        delivery_type="counter",
        delivery_ref=None,
        stated_end_use="cleaning",
        lines=tuple(lines),
    )


@pytest.mark.parametrize("seed", range(3))
def test_purchase_rules_equal_their_full_computation(seed: int) -> None:
    pack = load_rule_pack()
    _, configs = pack.for_jurisdiction("EU")
    rules = [
        cls(configs[cls.name], pack.basis_text(configs[cls.name]), "EU", pack.bases)
        for cls in (SplitPurchase, SplitPurchaseMultiSeller, UnusualCombination)
    ]
    rng = random.Random(seed)
    state = DetectionState(horizon_days=31)
    moment = START
    found = 0
    for number in range(3000):
        moment += dt.timedelta(hours=rng.expovariate(1 / 6))
        facts = _sale(rng, moment, number)
        for rule in rules:
            reference = (
                _reference_combination(rule, dataclasses.replace(facts), state)
                if isinstance(rule, UnusualCombination)
                else _reference_split(rule, dataclasses.replace(facts), state)
            )
            assert rule.check(facts, state) == reference
            found += len(reference)
        state.observe(facts)
    assert found > 30  # the rules did fire: findings were compared, not only empty lists
