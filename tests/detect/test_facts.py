"""Facts extraction gives exactly what the reference extraction gives, on random (often malformed) events.

:func:`_reference_facts` is the straightforward extraction that ``facts.py`` used before its per-event cost
was cut (memoised key kinds and event shapes, book moves taken from the checked lines); it stays here as the
reference. Events are **invented**: the factories' sales and movements, TransformationEvents, and seeded
random changes (fields removed or of the wrong type, other prefixes bound to the vigichem namespace, full
IRIs, unregistered classes with a declared concentration, CBV steps written as URNs or URLs, huge or boolean
quantities). Both must raise the same error, or give equal facts with the same book moves.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.detect.factories import DEPOT, SHOP_A, at, masterdata, movement, sale
from vigichem.detect import facts as facts_module
from vigichem.detect.facts import Catalogue, EventFacts, Line, event_facts, parse_event_time
from vigichem.ledger import extensions as ext
from vigichem.ledger.db import create_engine_from_url, migrate
from vigichem.ledger.masterdata import MasterData


def _reference_extensions(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    other_prefix = False
    for key, value in event.items():
        if key.startswith("vc:"):
            fields[key[3:]] = value
        elif key.startswith(ext.NAMESPACE):
            fields[key[len(ext.NAMESPACE) :]] = value
        elif ":" in key and not key.startswith(("http:", "https:", "urn:")):
            other_prefix = True
    if other_prefix:
        for field in ext.FIELDS:
            if field not in fields and (value := ext.extension_value(event, field, context)) is not None:
                fields[field] = value
    return fields


def _reference_facts(hash_id: str, event: Any, catalogue: Catalogue, context: Any = None) -> EventFacts:
    """The extraction as it was (the reference)."""
    from vigichem.errors import InvalidDocument

    f = facts_module
    if not isinstance(event, Mapping):
        raise InvalidDocument(f"event {hash_id} is not a JSON object")
    extensions = _reference_extensions(event, context)
    lines: list[Line] = []
    raw_quantities = event.get("quantityList") or event.get("inputQuantityList") or []
    if not isinstance(raw_quantities, list):
        raise InvalidDocument(f"event {hash_id}: quantityList is not a list")
    for position, element in enumerate(raw_quantities):
        if not isinstance(element, Mapping) or not isinstance(element.get("epcClass"), str):
            raise InvalidDocument(f"event {hash_id}: quantityList/{position} has no epcClass")
        quantity = element.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int | float):
            raise InvalidDocument(f"event {hash_id}: quantityList/{position}/quantity is not a number")
        uom = element.get("uom") if isinstance(element.get("uom"), str) else None
        line = catalogue.line_of(str(element["epcClass"]), float(quantity), uom)
        if line is None:
            kg = f._mass_kg(None, float(quantity), uom)
            substances = f._substances(None, kg, extensions.get(ext.CONCENTRATION))
            line = Line(str(element["epcClass"]), None, float(quantity), uom, kg, substances)
        lines.append(line)
    verified = extensions.get(ext.ID_VERIFIED)
    party = extensions.get(ext.CUSTOMER_REF)

    def text(field: str) -> str | None:
        value = extensions.get(field)
        return value if isinstance(value, str) else None

    return EventFacts(
        hash_id=hash_id,
        event_time=parse_event_time(event.get("eventTime")),
        kind=f._kind(event),
        site=f._location(event.get("bizLocation")) or f._location(event.get("readPoint")),
        party_ref=party if isinstance(party, str) and ext.PARTY_REF_RE.match(party) else None,
        payment=text(ext.PAYMENT_METHOD),
        id_verified=verified if isinstance(verified, bool) else None,
        customer_type=text(ext.CUSTOMER_TYPE),
        delivery_type=text(ext.DELIVERY_TYPE),
        delivery_ref=text(ext.DELIVERY_REF),
        stated_end_use=text(ext.STATED_END_USE),
        lines=tuple(lines),
        destination=f._destination(event),
        book=f._book(event),
    )


CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"ex": ext.NAMESPACE}]
ODD_VALUES: list[Any] = [None, 5, -0.0, 10**400, True, "x", "", [], {}, [1, 2], {"id": 3}, "urn:x:y"]
STEPS = [
    "retail_selling",
    "dispensing",
    "shipping",
    "receiving",
    "cycle_counting",
    "commissioning",
    "destroying",
    "inspecting",
    "urn:epcglobal:cbv:bizstep:retail_selling",
    "https://ref.gs1.org/cbv/BizStep-shipping",
    "https://ref.gs1.org/cbv/BizStep-receiving",
]


def _base(rng: random.Random) -> dict[str, Any]:
    draw = rng.random()
    if draw < 0.45:
        return sale(at(rng.uniform(0, 60)), f"pty-r{rng.randrange(50)}", rng.choice([0.5, 2.0, 30.0]))
    if draw < 0.8:
        step = rng.choice(["commissioning", "shipping", "receiving", "cycle_counting"])
        return movement(at(rng.uniform(0, 60)), step, rng.choice([SHOP_A, DEPOT]), rng.uniform(1, 100))
    return {
        "type": "TransformationEvent",
        "eventTime": "2022-03-05T10:00:00+01:00",
        "eventTimeZoneOffset": "+01:00",
        "bizLocation": {"id": DEPOT},
        "inputQuantityList": [{"epcClass": "urn:vigichem:class:h2o2-30:L1", "quantity": 3, "uom": "KGM"}],
        "outputQuantityList": [{"epcClass": "urn:vigichem:class:water:W", "quantity": 2.5, "uom": "LTR"}],
    }


def _mutate(rng: random.Random, event: dict[str, Any]) -> dict[str, Any]:
    event = copy.deepcopy(event)
    for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
        draw = rng.random()
        keys = list(event)
        if draw < 0.15 and keys:
            del event[rng.choice(keys)]
        elif draw < 0.3 and keys:
            event[rng.choice(keys)] = rng.choice(ODD_VALUES)
        elif draw < 0.4:
            event["bizStep"] = rng.choice(STEPS)
            event["action"] = rng.choice(["ADD", "OBSERVE", "DELETE", None])
        elif draw < 0.5:
            # Another prefix bound to the namespace, or the full IRI, instead of vc:.
            for key in [k for k in keys if k.startswith("vc:")]:
                value = event.pop(key)
                prefix = rng.choice(["ex:", ext.NAMESPACE, "vc:"])
                event[prefix + key[3:]] = value
        elif draw < 0.6:
            quantities = event.get("quantityList") or event.get("inputQuantityList")
            if isinstance(quantities, list) and quantities and isinstance(quantities[0], dict):
                element = quantities[0]
                element[rng.choice(["quantity", "uom", "epcClass"])] = rng.choice(
                    [*ODD_VALUES, 7, 2.25, "LTR", "TNE", "EA", "urn:vigichem:class:unregistered:Z"]
                )
                if rng.random() < 0.5:
                    quantities.append(copy.deepcopy(element))
        elif draw < 0.7:
            event["quantityList"] = [
                {"epcClass": "urn:vigichem:class:unregistered:Z", "quantity": rng.choice([1, 4.5])}
            ]
            event["vc:concentration"] = rng.choice(
                [[{"substance": "7722-84-1", "percent": 12}], "12 %", [{"percent": "x"}], [5]]
            )
        elif draw < 0.8:
            event["eventTime"] = rng.choice(["2022-03-05T10:00:00", "nonsense", 17, "2022-03-05T10:00:00Z"])
        elif draw < 0.9:
            event["quantityList"] = rng.choice([[], None, "x", [3], [{"quantity": 1}], {"epcClass": "a"}])
        else:
            event["ex:customerRef"] = rng.choice(["pty-other", "Jane Doe", 5])
    return event


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Catalogue:
    """The invented products of the factories, registered in a SQLite ledger (facts need no more)."""
    path: Path = tmp_path_factory.mktemp("facts") / "ledger.sqlite3"
    engine = create_engine_from_url(f"sqlite:///{path}")
    migrate(engine)
    MasterData(engine).load(masterdata())
    found = Catalogue(engine)
    engine.dispose()
    return found


def _outcome(function: Any, event: Any, catalogue: Catalogue, context: Any) -> Any:
    try:
        result = function("hash-x", event, catalogue, context)
    except Exception as error:  # the comparison is of the errors themselves
        return ("error", type(error).__name__, str(error))
    return ("facts", result, result.book, result.regulated_kg())


@pytest.mark.parametrize("seed", range(4))
def test_facts_equal_the_reference_on_random_events(catalogue: Catalogue, seed: int) -> None:
    rng = random.Random(seed)
    kinds: dict[str, int] = {}
    for _ in range(1500):
        event = _mutate(rng, _base(rng))
        context = rng.choice([CONTEXT, None])
        expected = _outcome(_reference_facts, event, catalogue, context)
        found = _outcome(event_facts, event, catalogue, context)
        assert found == expected, event
        label = expected[0] if expected[0] == "error" else expected[1].kind
        kinds[label] = kinds.get(label, 0) + 1
    # Every kind of event and plenty of errors were compared.
    assert set(kinds) == {"sale", "shipment", "receipt", "count", "other", "error"}
    assert min(kinds.values()) > 30


def test_a_non_mapping_event_and_other_prefixes(catalogue: Catalogue) -> None:
    from vigichem.errors import InvalidDocument

    with pytest.raises(InvalidDocument, match="not a JSON object"):
        event_facts("h", ["an", "event"], catalogue)  # type: ignore[arg-type]
    event = sale(at(1), "pty-a", 2.0)
    event["ex:customerRef"] = event.pop("vc:customerRef")
    assert event_facts("h", event, catalogue, CONTEXT).party_ref == "pty-a"
    assert event_facts("h", event, catalogue, None).party_ref is None  # ex: is not bound without context


@pytest.mark.parametrize("seed", range(2))
def test_facts_travel_to_another_process_unchanged(catalogue: Catalogue, seed: int) -> None:
    # The pipeline's workers read facts with a copy of the catalogue and send them back as tuples:
    # the facts (book moves and regulated amounts included) and the skip reasons must be those read here.
    import pickle

    from vigichem.detect.facts import facts_from_row, facts_or_reason, facts_row
    from vigichem.errors import VigichemError

    copy_ = Catalogue(None)
    copy_.by_gtin, copy_.by_id = pickle.loads(pickle.dumps((catalogue.by_gtin, catalogue.by_id)))
    rng = random.Random(100 + seed)
    compared = 0
    for _ in range(1500):
        event = _mutate(rng, _base(rng))
        context = rng.choice([CONTEXT, None])
        here = _outcome(event_facts, event, catalogue, context)
        read = facts_or_reason("hash-x", event, copy_, context)
        if here[0] == "error":
            name, message = here[1], here[2]
            error_class = getattr(__import__("vigichem.errors", fromlist=[name]), name, None)
            if error_class is not None and issubclass(error_class, VigichemError):
                assert read == message
            else:
                assert read == f"unreadable event: {name}: {message}"
            continue
        assert not isinstance(read, str)
        travelled = facts_from_row(pickle.loads(pickle.dumps(facts_row(read), protocol=5)))
        assert ("facts", travelled, travelled.book, travelled.regulated_kg()) == here
        assert [getattr(travelled, f) for f in EventFacts.__slots__ if f != "_regulated"] == [
            getattr(here[1], f) for f in EventFacts.__slots__ if f != "_regulated"
        ]
        compared += 1
    assert compared > 500
