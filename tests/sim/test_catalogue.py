"""The catalogue: listed products use knowledge-base CAS numbers; designer candidates are later listings."""

from __future__ import annotations

import datetime as dt

from vigichem.chem import load_knowledge_base, screen
from vigichem.ledger.gs1 import normalise_gtin
from vigichem.sim import base_catalogue, designer_candidates


def test_listed_products_name_knowledge_base_chemicals_and_screen_as_listed() -> None:
    kb = load_knowledge_base()
    known = {cas for reg in kb.lists.values() for entry in reg.entries for cas in entry.cas}
    for product in base_catalogue():
        normalise_gtin(product.gtin)  # raises on a bad check digit
        assert sum(percent for _, percent in product.composition) <= 100
        result = screen(product.composition[0][0], jurisdiction="FR")
        if product.controlled:
            assert product.composition[0][0] in known
            assert result.findings, product.id
            assert product.end_uses  # a listed product is sold with a stated end use
        else:
            assert not [f for f in result.findings if f.status != "watch"], product.id


def test_designer_candidates_are_uncontrolled_at_the_start_and_listed_later() -> None:
    start = dt.date(2023, 1, 2)
    candidates = designer_candidates(start, "FR")
    assert candidates
    for candidate in candidates:
        assert candidate.listed_on > start
        before = screen(candidate.cas, jurisdiction="FR", as_of=start)
        assert [f for f in before.findings if f.status != "watch"] == []
        after = screen(candidate.cas, jurisdiction="FR", as_of=candidate.listed_on)
        assert [f for f in after.findings if f.status != "watch"], candidate.cas
    # Commission Delegated Regulation (EU) 2023/196 added DEPAPD to Category 1 from 20 February 2023.
    assert ("20320-59-6", dt.date(2023, 2, 20)) in {(c.cas, c.listed_on) for c in candidates}


def test_no_candidate_after_the_last_listing() -> None:
    assert designer_candidates(dt.date(2026, 1, 5), "FR") == []
