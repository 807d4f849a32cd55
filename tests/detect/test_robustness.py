"""Detection never stops on a bad event; a proposed sale never crashes: a result or a typed error."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.detect.factories import at, sale
from vigichem.detect.decide import Decider, parse_proposed_sale
from vigichem.detect.engine import DetectionEngine
from vigichem.detect.facts import Catalogue
from vigichem.errors import VigichemError

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=12))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
)
FIELDS = st.sampled_from(
    [
        "eventTime",
        "quantityList",
        "bizStep",
        "action",
        "type",
        "bizLocation",
        "vc:customerRef",
        "vc:idVerified",
        "vc:customerType",
        "vc:deliveryRef",
        "vc:concentration",
        "inputQuantityList",
        "destinationList",
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.dictionaries(FIELDS, VALUES, max_size=4))
def test_any_corrupted_event_is_judged_or_skipped(changes: dict[str, Any]) -> None:
    # No database: the per-event rules alone, on an invented sale with random fields replaced.
    detector = DetectionEngine(None, "EU", catalogue=Catalogue(None))
    event = {**sale(at(0), "pty-fuzz", 1.0), **changes}
    alerts = detector.process("hash-fuzz", event)
    assert isinstance(alerts, list)
    assert detector.report.events_seen == 1
    # Whatever happened to that event, the next good one is still judged.
    detector.process("hash-next", sale(at(1), "pty-next", 1.0))
    assert detector.report.events_seen == 2


@settings(max_examples=150, deadline=None)
@given(
    raw=st.dictionaries(st.sampled_from(["composition", "quantity", "unit", "customer_type", "time"]), VALUES)
)
def test_any_proposed_sale_gets_a_decision_or_a_typed_error(raw: dict[str, Any]) -> None:
    try:
        sale_ = parse_proposed_sale(raw)
        decision = Decider(None).decide(sale_)
    except VigichemError:
        return
    assert decision.outcome in ("allow", "allow_and_report", "licence_required", "refuse")
