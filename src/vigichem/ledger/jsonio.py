"""JSON in and out of the ledger's hot paths: orjson's speed, the standard library's results.

Capture parses every document and writes every event's JSON; verification parses every stored event
again. ``orjson`` does both several times faster than :mod:`json` (about 0.6 µs instead of 8 µs to write a
typical event). Its results are taken only where they are provably the standard library's: anything
``orjson`` refuses (integers beyond 64 bits, lone surrogates, ``NaN`` literals, non-text keys …) goes to
:mod:`json`, so a value, or an error, is always what :mod:`json` gives.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["NOT_PARSED", "dumps_compact", "loads", "parse_exactly"]

NOT_PARSED: Any = object()
"""What :func:`parse_exactly` returns when :mod:`json` must parse the text."""

# One encoder for every call: json.dumps with options builds a new JSONEncoder each time.
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


# orjson reads an integer beyond 64 bits as a float where json keeps it exact. Such an integer has at least
# 19 digits, so text without a run of 19 ASCII digits cannot hold one (a long digit run inside a string
# only costs the slower path). Mapping every digit to "0" and searching for 19 of them is several times
# cheaper than a regular expression on digit-heavy EPCIS text.
_DIGITS_AS_ZERO = bytes.maketrans(b"0123456789", b"0" * 10)
_LONG_DIGIT_RUN = b"0" * 19


def parse_exactly(text: str | bytes) -> Any:
    """``orjson``'s value for ``text`` where it is provably :func:`json.loads`'s, else :data:`NOT_PARSED`.

    ``orjson`` parses RFC 8259 JSON to the values :mod:`json` builds (same strings, correctly rounded
    floats, last duplicate key wins) except for integers beyond 64 bits, which it turns into floats. Text
    that may hold one, and everything ``orjson`` refuses (``NaN``, lone surrogates, a byte-order mark,
    invalid UTF-8, malformed JSON …), is left to the caller's :mod:`json` path, which gives the error.
    """
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    if _LONG_DIGIT_RUN in data.translate(_DIGITS_AS_ZERO):
        return NOT_PARSED
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return NOT_PARSED


def loads(text: str | bytes) -> Any:
    """``json.loads(text)``: the same value, or the same error (see :func:`parse_exactly`)."""
    value = parse_exactly(text)
    return json.loads(text) if value is NOT_PARSED else value


def dumps_compact(value: Any) -> str:
    """``json.dumps(value, ensure_ascii=False, separators=(",", ":"))`` or text that parses to the same.

    ``orjson`` writes the same structure (key order kept, UTF-8 text unescaped); its float and escape
    spellings may differ (``1e16`` for ``1e+16``) but read back to equal values. It writes ``NaN`` and
    infinities as ``null``, where :mod:`json` writes ``NaN``: output containing ``null`` is therefore
    written again by :mod:`json` (events seldom hold a JSON null), as is anything ``orjson`` refuses.
    """
    try:
        written = orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError is a TypeError: big integers, surrogates, odd keys
        return _encode(value)
    if b"null" in written:
        return _encode(value)
    return written.decode("utf-8")
