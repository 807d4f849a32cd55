"""CAS Registry Numbers: parsing, normalisation and the check digit.

A CAS RN is written ``NNNNNNN-NN-R``: two to seven digits, a hyphen, two digits, a hyphen and one check
digit ``R``. The check digit is the sum of each other digit multiplied by its position counted from the
right (the last digit before ``R`` has position 1), modulo 10 (CAS, "CAS Registry Number and the CAS
Registry", check digit verification).

The check digit catches most typing errors but not all: changing a digit of weight ``w`` by ``d`` goes
unnoticed when ``w * d`` is a multiple of 10 (e.g. a digit of weight 5 changed by 2, or of weight 2 by 5).
"""

from __future__ import annotations

import re

from vigichem.errors import InvalidCAS

# Hyphens that users paste from PDFs and web pages (en dash, non-breaking hyphen, minus sign …).
_HYPHENS = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2212\ufe63\uff0d", "-"))
_CAS_RE = re.compile(r"^(\d{2,7})-(\d{2})-(\d)$")
_CAS_LIKE_RE = re.compile(
    r"^\s*\d{2,7}\s*[-\u2010-\u2014\u2212\ufe63\uff0d]\s*\d{2}\s*[-\u2010-\u2014\u2212\ufe63\uff0d]\s*\d\s*$"
)
_CAS_COMPACT_RE = re.compile(r"^\d{5,10}$")
_PREFIX_RE = re.compile(r"^cas(?:[\s-]*(?:rn|no\.?|number|registry number))?\s*[:#.-]?\s*", re.IGNORECASE)


def check_digit(body: str) -> int:
    """The check digit of a CAS number from its other digits, ``body`` (e.g. ``"772284"`` gives 1)."""
    if not body.isdigit():
        raise InvalidCAS(f"CAS digits must be digits 0-9, got {body!r}")
    return sum(position * int(digit) for position, digit in enumerate(reversed(body), start=1)) % 10


def is_cas_like(text: str) -> bool:
    """True when ``text`` has the shape of a CAS number (``\\d{2,7}-\\d\\d-\\d``), whatever its check digit.

    Used to decide whether a query is meant as a CAS number (and so deserves a precise check-digit error)
    rather than a name.
    """
    return bool(_CAS_LIKE_RE.match(text))


def normalise_cas(text: str) -> str:
    """Return the canonical form of a CAS number (``7722-84-1``) or raise :class:`InvalidCAS`.

    Accepts surrounding blanks, typographic hyphens, leading zeros (``0007722-84-1``) and the prefix ``CAS``
    (``CAS 7722-84-1``, ``CAS-No. 7722-84-1``). A bare run of digits is read as a CAS number only with 5 to
    10 digits, the last being the check digit. The error message says what is wrong: the format, or which
    check digit was expected.
    """
    if not isinstance(text, str):
        raise InvalidCAS(f"a CAS number must be text, got {type(text).__name__}")
    original = text
    candidate = text.strip().translate(_HYPHENS)
    candidate = _PREFIX_RE.sub("", candidate)
    candidate = re.sub(r"\s*-\s*", "-", candidate)
    if _CAS_COMPACT_RE.match(candidate):
        candidate = f"{candidate[:-3]}-{candidate[-3:-1]}-{candidate[-1]}"
    match = _CAS_RE.match(candidate)
    if match is None:
        raise InvalidCAS(
            f"{original!r} is not a CAS number: expected 2-7 digits, a hyphen, 2 digits, a hyphen and one "
            "check digit (e.g. 7722-84-1)",
            details={"cas": original, "reason": "format"},
        )
    first, second, given = match.groups()
    first = first.lstrip("0")
    if len(first) < 2:
        raise InvalidCAS(
            f"{original!r} is not a CAS number: the first part must have 2-7 significant digits",
            details={"cas": original, "reason": "format"},
        )
    expected = check_digit(first + second)
    if int(given) != expected:
        raise InvalidCAS(
            f"{original!r} is not a valid CAS number: check digit is {given}, expected {expected}",
            details={"cas": original, "reason": "check_digit", "given": int(given), "expected": expected},
        )
    return f"{first}-{second}-{given}"


def is_valid_cas(text: str) -> bool:
    """True when ``text`` normalises to a CAS number with a correct check digit."""
    try:
        normalise_cas(text)
    except InvalidCAS:
        return False
    return True


__all__ = ["check_digit", "is_cas_like", "is_valid_cas", "normalise_cas"]
