"""CAS Registry Number parsing: format, check digit, normalisation (vigichem.chem.cas)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigichem.chem.cas import check_digit, is_cas_like, is_valid_cas, normalise_cas
from vigichem.errors import InvalidCAS, InvalidInput

# Real CAS numbers printed in the regulations (hydrogen peroxide, sarin, thiodiglycol, water, BZ).
REAL = ["7722-84-1", "107-44-8", "111-48-8", "7732-18-5", "6581-06-2", "2387495-99-8"]

digits = st.text(alphabet="0123456789", min_size=1, max_size=1)
# The digits before the check digit: 2-7 of the first group plus the 2 of the middle group (4-9 in all);
# the first is non-zero so that the canonical form keeps every digit.
bodies = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from("123456789"),
    st.text(alphabet="0123456789", min_size=3, max_size=8),
)


def _format(body: str) -> str:
    return f"{body[:-2]}-{body[-2:]}-{check_digit(body)}"


@pytest.mark.parametrize("cas", REAL)
def test_real_cas_numbers_are_valid_and_canonical(cas: str) -> None:
    assert normalise_cas(cas) == cas
    assert is_valid_cas(cas)
    assert is_cas_like(cas)


def test_check_digit_of_hydrogen_peroxide() -> None:
    # 7722-84-1: 4*1 + 8*2 + 2*3 + 2*4 + 7*5 + 7*6 = 111, 111 mod 10 = 1
    assert check_digit("772284") == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  7722-84-1 ", "7722-84-1"),
        ("CAS 7722-84-1", "7722-84-1"),
        ("CAS-No. 7722-84-1", "7722-84-1"),
        ("cas rn: 111-48-8", "111-48-8"),
        ("7722\u201384\u20131", "7722-84-1"),  # en dashes pasted from a PDF
        ("7722 - 84 - 1", "7722-84-1"),
        ("0007722-84-1", "7722-84-1"),
        ("7722841", "7722-84-1"),
    ],
)
def test_normalise_accepts_common_spellings(text: str, expected: str) -> None:
    assert normalise_cas(text) == expected


def test_wrong_check_digit_says_which_digit_was_expected() -> None:
    with pytest.raises(InvalidCAS) as caught:
        normalise_cas("7722-84-3")
    assert "check digit is 3, expected 1" in caught.value.message
    assert caught.value.details == {"cas": "7722-84-3", "reason": "check_digit", "given": 3, "expected": 1}
    assert caught.value.code == "invalid_cas"


@pytest.mark.parametrize(
    "text", ["", "abc", "7722-84", "7722-8-41", "1-11-1", "12345678-12-3", "77a2-84-1", "7722841x"]
)
def test_malformed_text_is_a_format_error(text: str) -> None:
    with pytest.raises(InvalidCAS) as caught:
        normalise_cas(text)
    assert caught.value.details["reason"] == "format"
    assert "is not a CAS number" in caught.value.message


def test_invalid_cas_is_invalid_input() -> None:
    # The CLI and the API map InvalidInput to exit code 2 / HTTP 4xx.
    assert issubclass(InvalidCAS, InvalidInput)
    assert not is_valid_cas("7722-84-3")


@pytest.mark.parametrize("text", ["water", "hydrogen peroxide 35 %", "2847 00 00", "7722841"])
def test_is_cas_like_rejects_other_text(text: str) -> None:
    assert not is_cas_like(text)


def test_is_cas_like_ignores_the_check_digit() -> None:
    assert is_cas_like("7722-84-3")


@given(bodies)
def test_every_valid_cas_round_trips(body: str) -> None:
    cas = _format(body)
    assert normalise_cas(cas) == cas
    assert normalise_cas(f" CAS {cas} ") == cas
    assert normalise_cas(cas.replace("-", "")) == cas
    assert is_cas_like(cas)


@given(bodies, st.data())
def test_a_single_changed_digit_is_detected_unless_the_weighted_change_is_a_multiple_of_ten(
    body: str, data: st.DataObject
) -> None:
    cas = _format(body)
    digit_positions = [i for i, c in enumerate(cas) if c.isdigit()]
    position = data.draw(st.sampled_from(digit_positions))
    # A leading digit changed to 0 would be a different (shorter) number, not a typo of this one.
    choices = [d for d in "0123456789" if d != cas[position] and not (position == 0 and d == "0")]
    replacement = data.draw(st.sampled_from(choices))
    corrupted = cas[:position] + replacement + cas[position + 1 :]
    # Weight of the changed digit: 1 for the check digit itself (compared directly), else its position
    # from the right among the body digits.
    index_in_digits = digit_positions.index(position)
    weight = 1 if index_in_digits == len(digit_positions) - 1 else len(digit_positions) - 1 - index_in_digits
    difference = int(replacement) - int(cas[position])
    if (weight * difference) % 10 == 0:
        # The CAS scheme cannot see this change: the corrupted number is itself valid.
        assert normalise_cas(corrupted) == corrupted
    else:
        with pytest.raises(InvalidCAS):
            normalise_cas(corrupted)


@given(bodies, st.data())
def test_a_changed_check_digit_is_always_detected(body: str, data: st.DataObject) -> None:
    cas = _format(body)
    wrong = data.draw(st.sampled_from([d for d in "0123456789" if d != cas[-1]]))
    with pytest.raises(InvalidCAS) as caught:
        normalise_cas(cas[:-1] + wrong)
    assert f"check digit is {wrong}, expected {cas[-1]}" in caught.value.message
