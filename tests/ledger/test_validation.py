"""EPCIS 2.0 parsing and validation: official examples pass, invented broken variants give exact pointers."""

from __future__ import annotations

import copy
import importlib.util
import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.shared_data import OFFICIAL_EPCIS_EXAMPLES
from vigichem.errors import InputTooLarge, InvalidDocument
from vigichem.ledger import extensions, validation
from vigichem.ledger.extensions import CONTEXT_ENTRY
from vigichem.ledger.validation import json_pointer, parse_document, validate_document

OFFICIAL = OFFICIAL_EPCIS_EXAMPLES
VENDORED_EXAMPLES = Path(__file__).parent / "data" / "hash-vectors" / "examples"
BASE_EXAMPLE = VENDORED_EXAMPLES / "epcisDocWithShippingAndTransportingEvent.jsonld"
HAS_RUST_VALIDATOR = importlib.util.find_spec("jsonschema_rs") is not None


def _official_documents() -> list[Path]:
    assert OFFICIAL.is_dir(), f"the official GS1 EPCIS examples are missing: {OFFICIAL}"
    return sorted(OFFICIAL.rglob("*.jsonld"))


def _base() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(BASE_EXAMPLE.read_text(encoding="utf-8"))
    return document


def _errors(document: Any) -> list[dict[str, str]]:
    with pytest.raises(InvalidDocument) as caught:
        validate_document(document)
    errors: list[dict[str, str]] = caught.value.details["errors"]
    assert caught.value.details["error_count"] == len(errors)
    return errors


def _paths(document: Any) -> list[str]:
    return [error["path"] for error in _errors(document)]


def test_every_official_example_validates() -> None:
    documents = _official_documents()
    assert len(documents) == 47
    captured = 0
    for path in documents:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document["type"] == "EPCISQueryDocument":
            validate_document(document, allow_query_document=True)
            continue
        validate_document(document)
        captured += 1
    assert captured == 46


def test_vendored_hash_vector_documents_validate() -> None:
    # The hash vectors are real EPCIS documents too; they double as offline examples.
    for name in (
        "epcisDocWithShippingAndTransportingEvent",
        "epcisDocWithVariousEventTypes",
        "persistentDisposition",
    ):
        validate_document(json.loads((VENDORED_EXAMPLES / f"{name}.jsonld").read_text()))


def test_query_document_is_refused_for_capture() -> None:
    document = _base()
    document["type"] = "EPCISQueryDocument"
    errors = _errors(document)
    assert errors == [
        {
            "path": "/type",
            "message": "an EPCISQueryDocument is a query result; only an EPCISDocument can be captured",
        }
    ]


# Each case below is an invented corruption of an official-style document (labelled "invented").
def _negative_quantity(doc: dict[str, Any]) -> None:
    doc["epcisBody"]["eventList"][1]["quantityList"] = [
        {"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": -3, "uom": "KGM"}
    ]


def _zero_quantity(doc: dict[str, Any]) -> None:
    doc["epcisBody"]["eventList"][0]["quantityList"] = [
        {"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": 0}
    ]


def _unknown_unit(doc: dict[str, Any]) -> None:
    doc["epcisBody"]["eventList"][1]["quantityList"] = [
        {"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": 2, "uom": "CEL"}
    ]


def _unit_without_quantity(doc: dict[str, Any]) -> None:
    doc["epcisBody"]["eventList"][0]["quantityList"] = [
        {"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "uom": "KGM"}
    ]


def _quantity_not_a_number(doc: dict[str, Any]) -> None:
    doc["epcisBody"]["eventList"][1]["quantityList"] = [
        {"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": "ten"}
    ]


def _event_time_without_offset(doc: dict[str, Any]) -> None:
    doc["epcisBody"]["eventList"][0]["eventTime"] = "2022-02-16T12:50:00.000"


def _record_time_without_offset(doc: dict[str, Any]) -> None:
    doc["epcisBody"]["eventList"][1]["recordTime"] = "2022-02-16T12:50:00"


def _missing_time_zone_offset(doc: dict[str, Any]) -> None:
    del doc["epcisBody"]["eventList"][1]["eventTimeZoneOffset"]


def _bad_time_zone_offset(doc: dict[str, Any]) -> None:
    doc["epcisBody"]["eventList"][0]["eventTimeZoneOffset"] = "+25:00"


def _undeclared_prefix(doc: dict[str, Any]) -> None:
    doc["epcisBody"]["eventList"][1]["nowhere:field"] = "x"


def _duplicate_event_id(doc: dict[str, Any]) -> None:
    for event in doc["epcisBody"]["eventList"]:
        event["eventID"] = "urn:uuid:6d1fa2a0-7c3c-4bb1-9d46-0f0b7d3a5a11"


def _self_correction(doc: dict[str, Any]) -> None:
    event = doc["epcisBody"]["eventList"][0]
    event["eventID"] = "urn:uuid:6d1fa2a0-7c3c-4bb1-9d46-0f0b7d3a5a12"
    event["errorDeclaration"] = {
        "declarationTime": "2022-02-17T00:00:00Z",
        "correctiveEventIDs": ["urn:uuid:6d1fa2a0-7c3c-4bb1-9d46-0f0b7d3a5a12"],
    }


def _unknown_action(doc: dict[str, Any]) -> None:
    doc["epcisBody"]["eventList"][0]["action"] = "STEAL"


def _unknown_field(doc: dict[str, Any]) -> None:
    doc["epcisBody"]["eventList"][0]["bogusField"] = 1


def _missing_body(doc: dict[str, Any]) -> None:
    del doc["epcisBody"]


def _vigichem_extension(doc: dict[str, Any], field: str, value: Any) -> None:
    context = doc["@context"] if isinstance(doc["@context"], list) else [doc["@context"]]
    doc["@context"] = [*context, CONTEXT_ENTRY]
    doc["epcisBody"]["eventList"][1][f"vc:{field}"] = value


def _unknown_payment_method(doc: dict[str, Any]) -> None:
    _vigichem_extension(doc, "paymentMethod", "gold bars")  # invented value


def _customer_name_instead_of_reference(doc: dict[str, Any]) -> None:
    _vigichem_extension(doc, "customerRef", "Jane Doe")  # invented: a name where a reference belongs


def _id_verified_not_boolean(doc: dict[str, Any]) -> None:
    _vigichem_extension(doc, "idVerified", "yes")


BROKEN = {
    "negative quantity": (_negative_quantity, ["/epcisBody/eventList/1/quantityList/0/quantity"]),
    "zero quantity": (_zero_quantity, ["/epcisBody/eventList/0/quantityList/0/quantity"]),
    "unknown unit": (_unknown_unit, ["/epcisBody/eventList/1/quantityList/0/uom"]),
    "uom without quantity": (_unit_without_quantity, ["/epcisBody/eventList/0/quantityList/0/uom"]),
    "quantity not a number": (_quantity_not_a_number, ["/epcisBody/eventList/1/quantityList/0/quantity"]),
    "eventTime without offset": (_event_time_without_offset, ["/epcisBody/eventList/0/eventTime"]),
    "recordTime without offset": (_record_time_without_offset, ["/epcisBody/eventList/1/recordTime"]),
    "missing eventTimeZoneOffset": (_missing_time_zone_offset, ["/epcisBody/eventList/1"]),
    "bad eventTimeZoneOffset": (_bad_time_zone_offset, ["/epcisBody/eventList/0/eventTimeZoneOffset"]),
    "undeclared prefix": (
        _undeclared_prefix,
        ["/epcisBody/eventList/1/nowhere:field"],
    ),
    "duplicate eventID": (_duplicate_event_id, ["/epcisBody/eventList/1/eventID"]),
    "self correction": (_self_correction, ["/epcisBody/eventList/0/errorDeclaration/correctiveEventIDs/0"]),
    "unknown action": (_unknown_action, ["/epcisBody/eventList/0/action"]),
    "missing body": (_missing_body, [""]),
    "unknown field": (_unknown_field, ["/epcisBody/eventList/0/bogusField"]),
    "unknown payment method": (_unknown_payment_method, ["/epcisBody/eventList/1/vc:paymentMethod"]),
    "name as customer reference": (
        _customer_name_instead_of_reference,
        ["/epcisBody/eventList/1/vc:customerRef"],
    ),
    "idVerified not boolean": (_id_verified_not_boolean, ["/epcisBody/eventList/1/vc:idVerified"]),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_variant_gives_exact_pointer(case: str) -> None:
    corrupt, expected_paths = BROKEN[case]
    document = _base()
    corrupt(document)
    paths = _paths(document)
    assert sorted(set(paths)) == sorted(expected_paths), paths


def test_semantic_messages_are_precise() -> None:
    document = _base()
    _negative_quantity(document)
    _event_time_without_offset(document)
    messages = {error["path"]: error["message"] for error in _errors(document)}
    assert messages["/epcisBody/eventList/1/quantityList/0/quantity"] == (
        "quantity must be a finite number greater than zero, got -3"
    )
    assert "has no time-zone offset" in messages["/epcisBody/eventList/0/eventTime"]
    unknown = _base()
    _unknown_unit(unknown)
    (error,) = _errors(unknown)
    assert "'CEL' is not a UN/ECE Rec 20 mass or volume code" in error["message"]
    assert "KGM" in error["message"]


def test_all_errors_of_a_document_are_reported_in_document_order() -> None:
    document = _base()
    extra = copy.deepcopy(document["epcisBody"]["eventList"][0])
    document["epcisBody"]["eventList"].extend(copy.deepcopy(extra) for _ in range(10))
    _negative_quantity(document)
    document["epcisBody"]["eventList"][11]["eventTimeZoneOffset"] = "CET"
    document["epcisBody"]["eventList"][3]["action"] = "NOPE"
    with pytest.raises(InvalidDocument) as caught:
        validate_document(document)
    paths = [error["path"] for error in caught.value.details["errors"]]
    assert paths == [
        "/epcisBody/eventList/1/quantityList/0/quantity",
        "/epcisBody/eventList/3/action",
        "/epcisBody/eventList/11/eventTimeZoneOffset",
    ]
    assert caught.value.message.startswith("EPCIS document has 3 errors; first at /epcisBody/eventList/1/")


@pytest.mark.skipif(not HAS_RUST_VALIDATOR, reason="compares the optional Rust validator with the fallback")
@pytest.mark.parametrize("case", sorted(BROKEN))
def test_python_fallback_reports_the_same_schema_paths(case: str) -> None:
    corrupt, _ = BROKEN[case]
    document = _base()
    corrupt(document)
    rust = sorted({error[0] for error in validation._compiled_validator()(document)})
    python = sorted({error[0] for error in validation._python_validator(validation._schema())(document)})
    assert rust == python


def test_python_fallback_accepts_the_official_examples() -> None:
    fallback = validation._python_validator(validation._schema())
    for path in [BASE_EXAMPLE, *_official_documents()]:
        assert list(fallback(json.loads(path.read_text(encoding="utf-8")))) == []


@given(st.floats(min_value=1e-6, max_value=1e9, allow_nan=False))
def test_any_positive_quantity_passes(quantity: float) -> None:
    document = _base()
    document["epcisBody"]["eventList"][0]["quantityList"] = [
        {"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": quantity, "uom": "LTR"}
    ]
    validate_document(document)


@given(st.floats(max_value=0, allow_nan=False, allow_infinity=False))
def test_any_non_positive_quantity_fails(quantity: float) -> None:
    document = _base()
    document["epcisBody"]["eventList"][0]["quantityList"] = [
        {"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": quantity, "uom": "LTR"}
    ]
    assert _paths(document) == ["/epcisBody/eventList/0/quantityList/0/quantity"]


@pytest.mark.parametrize("quantity", [10**400, -(10**400), 2**1024])
def test_a_quantity_beyond_any_float_is_refused_precisely(quantity: int) -> None:
    document = _base()
    document["epcisBody"]["eventList"][0]["quantityList"] = [
        {"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": quantity, "uom": "LTR"}
    ]
    with pytest.raises(InvalidDocument) as caught:
        validate_document(document)
    assert caught.value.details["errors"][0]["path"] == "/epcisBody/eventList/0/quantityList/0/quantity"


def test_text_that_is_not_unicode_is_named_where_it_is() -> None:
    # JSON may escape a lone UTF-16 surrogate; such text cannot be hashed, validated or stored.
    raw = json.dumps(_base()).replace(
        '"type": "ObjectEvent"', '"type": "ObjectEvent", "comment": "a\\ud800"', 1
    )
    raw = raw.replace('"schemaVersion"', '"x\\udfffy": 1, "schemaVersion"', 1)
    document = parse_document(raw.encode(), max_bytes=1_000_000)
    with pytest.raises(InvalidDocument) as caught:
        validate_document(document)
    assert [error["path"] for error in caught.value.details["errors"]] == [
        "/epcisBody/eventList/0/comment",
        "/x\udfffy",
    ]
    assert "lone UTF-16 surrogate" in caught.value.message


# parse_document


def test_size_limit_is_checked_first_and_stated() -> None:
    raw = b"{" + b" " * 2000 + b"not even json"
    with pytest.raises(InputTooLarge) as caught:
        parse_document(raw, max_bytes=1024)
    assert caught.value.message == f"EPCIS document is {len(raw)} bytes; the limit is 1024 bytes"
    assert caught.value.details == {"size_bytes": len(raw), "limit_bytes": 1024}


def test_malformed_json_gives_line_and_column() -> None:
    with pytest.raises(InvalidDocument) as caught:
        parse_document(b'{\n  "type": "EPCISDocument",\n  "epcisBody": {,}\n}', max_bytes=10_000)
    assert caught.value.details["line"] == 3
    assert caught.value.details["column"] == 17
    assert caught.value.message.startswith("malformed JSON at line 3, column 17:")


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"\xff\xfe{}", "not UTF-8: invalid byte at offset 0"),
        (b'{"quantity": NaN}', "NaN is not a JSON number"),
        (b"[1, 2]", "must be a JSON object, not a JSON list"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"quantity": ' + b"7" * 5000 + b"}", "unreadable JSON: Exceeds the limit .4300 digits."),
    ],
)
def test_other_malformed_input(raw: bytes, fragment: str) -> None:
    with pytest.raises(InvalidDocument, match=fragment):
        parse_document(raw, max_bytes=1_000_000)


def test_text_and_bytes_parse_alike() -> None:
    raw = BASE_EXAMPLE.read_bytes()
    assert parse_document(raw, max_bytes=len(raw)) == parse_document(raw.decode("utf-8"), max_bytes=len(raw))


def test_json_pointer_escapes() -> None:
    assert json_pointer(["a/b", "c~d", 3]) == "/a~1b/c~0d/3"
    assert json_pointer([]) == ""


def test_extension_prefixes_are_read_once_per_document_with_the_same_result() -> None:
    """Prefixes bound to the vigichem namespace: the document's, an event's own, and the full IRI.

    Validation and indexing read the document's prefixes once (``namespace_prefixes``); the answer must be
    what reading the raw ``@context`` for each event gives. Invented events.
    """
    from vigichem.ledger.extensions import (
        NAMESPACE,
        check_extensions,
        extension_value,
        namespace_prefixes,
        party_ref_of,
    )
    from vigichem.ledger.service import prepare

    context = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"chem": NAMESPACE}]
    template = _base()["epcisBody"]["eventList"][0]
    by_document_prefix = {
        **copy.deepcopy(template),
        "chem:customerRef": "pty-doc",
        "chem:paymentMethod": "barter",
    }
    by_own_context = {
        **copy.deepcopy(template),
        "@context": [{"own": NAMESPACE}],
        "own:customerRef": "pty-own",
        "own:customerType": "dragon",
    }
    by_iri = {**copy.deepcopy(template), NAMESPACE + "customerRef": "pty-iri"}
    unbound = {**copy.deepcopy(template), "eventTime": "2024-01-01T00:00:00Z", "other:customerRef": "x y"}
    events = [by_document_prefix, by_own_context, by_iri, unbound]
    prefixes = namespace_prefixes(context)
    assert namespace_prefixes(prefixes) is prefixes
    for event in events:
        assert party_ref_of(event, prefixes) == party_ref_of(event, context)
        assert check_extensions(event, "/e", prefixes) == check_extensions(event, "/e", context)
        assert extension_value(event, "customerType", prefixes) == extension_value(
            event, "customerType", context
        )
    assert [party_ref_of(event, prefixes) for event in events] == ["pty-doc", "pty-own", "pty-iri", None]

    document = {**_base(), "@context": context}
    document["epcisBody"] = {"eventList": events[:3]}
    assert _paths(document) == [
        "/epcisBody/eventList/0/vc:paymentMethod",
        "/epcisBody/eventList/1/vc:customerType",
    ]
    document["epcisBody"]["eventList"][0]["chem:paymentMethod"] = "card"
    del document["epcisBody"]["eventList"][1]["own:customerType"]
    indexed, _meta = prepare(copy.deepcopy(document))
    assert [item.columns["party_ref"] for item in indexed] == ["pty-doc", "pty-own", "pty-iri"]


def test_extension_fields_found_in_one_pass_as_each_lookup_finds_them() -> None:
    # check_extensions reads all fields in one pass over the event; _lookup (one field at a time) is the
    # reference: IRI first, then the prefixes in order, on random mixes of spellings.
    randomness = random.Random(7)
    spellings = ["vc", "chem", "zz", "iri", "other"]
    for _ in range(500):
        prefixes = sorted(randomness.sample(["vc", "chem", "zz"], randomness.randint(1, 3)))
        event: dict[str, Any] = {"type": "ObjectEvent", "eventTime": "2024-01-01T00:00:00Z"}
        for field in randomness.sample(extensions.FIELDS, randomness.randint(0, len(extensions.FIELDS))):
            for spelling in randomness.sample(spellings, randomness.randint(1, 3)):
                key = extensions.NAMESPACE + field if spelling == "iri" else f"{spelling}:{field}"
                event[key] = randomness.choice([None, "pty-1", "cash", 3, True, f"{spelling}-{field}"])
        found = extensions._extension_values(event, prefixes)
        expected = {field: extensions._lookup(event, field, prefixes) for field in extensions.FIELDS}
        assert {k: v for k, v in found.items() if v is not None} == {
            k: v for k, v in expected.items() if v is not None
        }
