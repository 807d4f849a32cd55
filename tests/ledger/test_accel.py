"""The compiled copy of the CBV hash ID (``vigichem_accel``) gives exactly the pure module's results.

The copy is built by ``make`` (``python -m vigichem.ledger.accel_build``). On CI it must be there
(``VIGICHEM_REQUIRE_ACCEL=1``); on a developer's machine without a C compiler these tests say they were
skipped and why, and vigichem runs the pure module.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.ledger.test_hashid import EXAMPLES, IGNORED_FIELDS, OFFICIAL_EXAMPLES, VECTORS
from vigichem.errors import InvalidDocument
from vigichem.ledger import accel, hashid, hashing
from vigichem.settings import get_settings
from vigichem.sim import SimConfig, simulate


@pytest.fixture(scope="module")
def compiled() -> ModuleType:
    module = accel.compiled_hashid()
    if module is None:
        reason = f"compiled hash ID unavailable: {accel.status().reason}"
        if os.environ.get("VIGICHEM_REQUIRE_ACCEL") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return module


def _documents(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Any]]]:
    for path in [*EXAMPLES, *sorted((VECTORS / "expected_equal").glob("*.json"))]:
        yield path.stem, json.loads(path.read_text(encoding="utf-8"))
    for path in sorted(OFFICIAL_EXAMPLES.rglob("*.jsonld")):
        yield path.stem, json.loads(path.read_text(encoding="utf-8"))
    # A simulated supply chain (invented operators and products): the shapes vigichem itself writes.
    out = tmp_path_factory.mktemp("sim")
    simulate(SimConfig(seed=3, days=20, events_per_document=200), out)
    for path in sorted((out / "documents").glob("*.json")):
        yield path.stem, json.loads(path.read_text(encoding="utf-8"))


def test_compiled_prehash_strings_equal_the_pure_ones_on_every_vector_and_simulated_document(
    compiled: ModuleType, tmp_path_factory: pytest.TempPathFactory
) -> None:
    events = 0
    for name, document in _documents(tmp_path_factory):
        ignore = IGNORED_FIELDS.get(name, set())
        namespaces = hashid.namespaces_from_context(document.get("@context"))
        for event in hashid.document_events(document):
            expected = hashid.prehash_string(event, namespaces, ignore_fields=ignore)
            assert compiled.prehash_string(event, namespaces, ignore_fields=ignore) == expected, name
            events += 1
        assert compiled.event_hash_ids(document) == hashid.event_hash_ids(document), name
    assert events > 1000


def test_the_ledger_uses_the_compiled_copy(compiled: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    document = json.loads(EXAMPLES[0].read_text(encoding="utf-8"))
    expected = hashid.event_hash_ids(document)

    def refuse(_document: dict[str, Any]) -> list[str]:
        raise AssertionError("the pure module was called")

    monkeypatch.setattr(hashid, "event_hash_ids", refuse)
    assert hashing.event_hash_ids(document) == expected


def test_a_copy_built_from_other_sources_is_not_used(
    compiled: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(accel, "source_digest", lambda: "0" * 64)
    accel.reset()
    try:
        assert accel.compiled_hashid() is None
        assert "rebuild" in accel.status().reason
    finally:
        monkeypatch.undo()
        accel.reset()
    assert accel.compiled_hashid() is compiled


def test_the_setting_turns_it_off(compiled: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGICHEM_ACCEL", "false")
    get_settings.cache_clear()
    accel.reset()
    try:
        assert accel.compiled_hashid() is None
        assert "VIGICHEM_ACCEL" in accel.status().reason
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        accel.reset()
    assert accel.compiled_hashid() is compiled


# Random events, well-formed or not: values of every JSON type in every field, CURIEs, URNs, Digital
# Links, timestamps with odd offsets, nested extension objects. Invented identifiers (GS1 example prefix).
_TEXT = st.sampled_from(
    [
        "shipping",
        "urn:epcglobal:cbv:bizstep:receiving",
        "https://ref.gs1.org/cbv/Disp-in_transit",
        "urn:epc:id:sgln:4012345.00001.0",
        "urn:epc:class:lgtin:4012345.012345.L7",
        "urn:epc:id:sgtin:4012345.011111.987",
        "https://example.com/01/04012345111118/10/L1?x=1",
        "ex:thing",
        "vc:value",
        "2026-03-01T10:00:00.123456+05:45",
        "2026-03-01T23:59:59Z",
        "+01:00",
        " 42.50 ",
        "KGM",
        "",
        "ADD",
    ]
)
_SCALAR = _TEXT | st.integers(-(10**20), 10**20) | st.floats(allow_nan=False) | st.booleans() | st.none()
_VALUE = st.recursive(
    _SCALAR,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(_TEXT | st.sampled_from(["type", "id"]), inner, max_size=3)
    ),
    max_leaves=8,
)
_FIELDS = [
    "eventTime",
    "eventTimeZoneOffset",
    "epcList",
    "quantityList",
    "action",
    "bizStep",
    "disposition",
    "readPoint",
    "bizLocation",
    "sourceList",
    "destinationList",
    "bizTransactionList",
    "sensorElementList",
    "persistentDisposition",
    "ilmd",
    "parentID",
    "childEPCs",
    "ex:extension",
    "vc:customerRef",
]
_EVENT = st.fixed_dictionaries(
    {"type": st.sampled_from(["ObjectEvent", "AggregationEvent", "TransformationEvent"])},
    optional=dict.fromkeys(_FIELDS, _VALUE),
)
_CONTEXT = {"ex": "https://example.com/ext/", "vc": "https://vigichem.org/epcis/ext/"}


def _outcome(function: Any, *args: Any) -> tuple[str, Any]:
    try:
        return "value", function(*args)
    except InvalidDocument as error:
        return "invalid", str(error)


@settings(max_examples=400, deadline=None)
@given(_EVENT)
def test_any_event_hashes_as_the_pure_module_hashes_it(compiled: ModuleType, event: dict[str, Any]) -> None:
    assert _outcome(hashing.event_hash_id, event, _CONTEXT) == _outcome(hashid.event_hash_id, event, _CONTEXT)


@settings(max_examples=400, deadline=None)
@given(_EVENT)
def test_compiled_prehash_of_any_event_equals_the_pure_one(
    compiled: ModuleType, event: dict[str, Any]
) -> None:
    expected = _outcome(hashid.prehash_string, event, _CONTEXT)
    assert _outcome(compiled.prehash_string, event, _CONTEXT) == expected


def test_document_errors_are_the_pure_modules(compiled: ModuleType) -> None:
    for bad in ({"epcisBody": {"eventList": {}}}, {"epcisBody": []}, {}):
        with pytest.raises(InvalidDocument) as pure_error:
            hashid.event_hash_ids(bad)
        with pytest.raises(InvalidDocument) as compiled_error:
            hashing.event_hash_ids(bad)
        assert str(compiled_error.value) == str(pure_error.value)


def test_sources_are_found_for_the_digest() -> None:
    assert all(accel.source_path(module).suffix == ".py" for module in accel.ACCELERATED_MODULES)
    assert len(accel.source_digest()) == 64
    assert Path(accel.source_path("vigichem.ledger.hashid")).name == "hashid.py"
