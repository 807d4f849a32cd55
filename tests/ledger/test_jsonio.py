"""The ledger's JSON reading and writing give the standard library's values and errors (``jsonio``)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigichem.ledger.jsonio import NOT_PARSED, dumps_compact, loads, parse_exactly

# Any JSON value, including what orjson handles differently from json: integers beyond 64 bits, lone
# surrogates, non-ASCII text, control characters, large and small floats.
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**62, max_value=2**80)
    | st.integers(min_value=-(2**80), max_value=-(2**62))
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=2)
)
_JSON = st.recursive(
    _SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


def _same(left: Any, right: Any) -> bool:
    """Equal JSON values, with the same Python types (an int must not come back as a float)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, list):
        return len(left) == len(right) and all(_same(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, dict):
        return list(left) == list(right) and all(_same(left[k], right[k]) for k in left)
    if isinstance(left, float):
        if math.isnan(left):
            return math.isnan(right)
        return left == right and math.copysign(1, left) == math.copysign(1, right)
    return bool(left == right)


@settings(max_examples=300)
@given(_JSON)
def test_loads_gives_json_loads_value_for_any_json_text(value: Any) -> None:
    for text in (json.dumps(value), json.dumps(value, ensure_ascii=False, separators=(",", ":"))):
        assert _same(loads(text), json.loads(text))
        if not any(0xD800 <= ord(c) <= 0xDFFF for c in text):  # else it has no UTF-8 form
            encoded = text.encode("utf-8")
            assert _same(loads(encoded), json.loads(encoded))


@settings(max_examples=300)
@given(_JSON)
def test_dumps_compact_reads_back_as_the_same_value(value: Any) -> None:
    assert _same(json.loads(dumps_compact(value)), value)


def test_integers_beyond_64_bits_stay_exact() -> None:
    text = '{"a": 18446744073709551616, "b": -9223372036854775809, "c": 123}'
    assert parse_exactly(text) is NOT_PARSED
    assert loads(text) == {"a": 18446744073709551616, "b": -9223372036854775809, "c": 123}
    assert dumps_compact({"a": 2**70}) == '{"a":1180591620717411303424}'


def test_non_finite_floats_are_written_as_json_writes_them() -> None:
    assert dumps_compact({"a": math.nan, "b": -math.inf}) == '{"a":NaN,"b":-Infinity}'


@pytest.mark.parametrize(
    "text",
    ["{", "[1]x", '{"a": NaN}', "\ufeff{}", '{"a": "\\ud800"}', " ", "1e400", '{"a":01}'],
)
def test_errors_and_oddities_are_json_loads_own(text: str) -> None:
    try:
        expected: Any = json.loads(text)
    except json.JSONDecodeError as error:
        with pytest.raises(json.JSONDecodeError) as raised:
            loads(text)
        assert (raised.value.msg, raised.value.pos) == (error.msg, error.pos)
    else:
        assert _same(loads(text), expected)
