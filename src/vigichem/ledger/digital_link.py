"""GS1 identifiers in EPCIS events to their canonical GS1 Digital Link URI (for the CBV 2.0 Event Hash ID).

The Event Hash ID must not depend on how an identifier is written, so every EPC URI (``urn:epc:id:…``),
EPC class URI (``urn:epc:class:lgtin:…``), EPC pattern URI (``urn:epc:idpat:…``) and GS1 Digital Link
URI on any domain is rewritten to one form: ``https://id.gs1.org/<AI>/<key>[/<AI>/<qualifier>]`` with
the finest identification level only (a serial wins over a lot, the consumer product variant ``22`` and
any query string are dropped, GTINs are padded to 14 digits). The conversions follow the GS1 EPC Tag
Data Standard (EPC URI → GS1 element strings, with the GS1 General Specifications mod-10 check digit)
and the GS1 Digital Link standard (primary keys, key qualifiers, short names); the output shapes are the
ones the CBV 2.0 reference implementation (RalphTro/epcis-event-hash-generator) accepts.

A value that is not such an identifier gives ``None``: the caller keeps it as written.
"""

from __future__ import annotations

import re

__all__ = ["check_digit", "to_canonical_digital_link"]

_DL_BASE = "https://id.gs1.org/"

# Characters that GS1 Digital Link requires percent-encoded but EPC URIs allow raw.
_PERCENT_ENCODE = str.maketrans(
    {"!": "%21", "(": "%28", ")": "%29", "*": "%2A", "+": "%2B", ",": "%2C", ":": "%3A"}
)

_SHORT_NAMES = {
    "gtin": "01",
    "itip": "8006",
    "cpid": "8010",
    "gln": "414",
    "party": "417",
    "gsrnp": "8017",
    "gsrn": "8018",
    "gcn": "255",
    "sscc": "00",
    "gdti": "253",
    "ginc": "401",
    "gsin": "402",
    "grai": "8003",
    "giai": "8004",
    "cpv": "22",
    "lot": "10",
    "ser": "21",
}
_PRIMARY_KEYS = frozenset(
    ["01", "8006", "8010", "414", "417", "8017", "8018", "255", "00", "253", "401", "402", "8003", "8004"]
)
# The key qualifiers kept after reduction to the finest level, per primary key.
_ALLOWED_QUALIFIERS = {"01": {"10", "21", "235"}, "8006": {"10", "21"}, "414": {"254"}, "8010": {"8011"}}
_DL_CHARS = r"[\x22\x27\x2D\x2E\x30-\x39\x3B-\x3F\x41-\x5A\x5F\x61-\x7A%]"
_KEY_SHAPES = {
    "00": re.compile(r"\d{18}"),
    "01": re.compile(r"\d{14}"),
    "8006": re.compile(r"\d{18}"),
    "414": re.compile(r"\d{13}"),
    "417": re.compile(r"\d{13}"),
    "402": re.compile(r"\d{17}"),
    "8017": re.compile(r"\d{18}"),
    "8018": re.compile(r"\d{18}"),
    "253": re.compile(rf"\d{{13}}{_DL_CHARS}{{0,17}}"),
    "255": re.compile(r"\d{13}\d{0,12}"),
    "8003": re.compile(rf"\d{{14}}{_DL_CHARS}{{0,16}}"),
    "8004": re.compile(rf"{_DL_CHARS}{{1,30}}"),
    "401": re.compile(rf"{_DL_CHARS}{{1,30}}"),
    "8010": re.compile(r"[\x23\x2D\x2F\x30-\x39\x41-\x5A%]{1,30}"),
}
_COMPANY_PREFIX = re.compile(r"^\d{6,12}$")


def check_digit(digits: str) -> str:
    """The GS1 mod-10 check digit of a key written without it (GS1 General Specifications 7.9.1)."""
    # Weights 3, 1, 3, … from the rightmost digit; summing ASCII codes (in C) beats int() per digit.
    codes = digits.encode("ascii")
    weighted_three, weighted_one = codes[-1::-2], codes[-2::-2]
    total = 3 * (sum(weighted_three) - 48 * len(weighted_three)) + sum(weighted_one) - 48 * len(weighted_one)
    return str(-total % 10)


def _split(body: str, parts: int) -> list[str] | None:
    fields = body.split(".", parts - 1)
    return fields if len(fields) == parts else None


def _gtin(company: str, item_ref: str) -> str | None:
    if not (_COMPANY_PREFIX.match(company) and item_ref.isdigit() and len(company) + len(item_ref) == 13):
        return None
    raw = item_ref[0] + company + item_ref[1:]
    return raw + check_digit(raw)


def _twelve_digit_key(company: str, ref: str) -> str | None:
    """GLN, GDTI, GRAI, SGCN bodies: company prefix + reference = 12 digits, then the check digit."""
    if not (_COMPANY_PREFIX.match(company) and (ref.isdigit() or ref == "") and len(company + ref) == 12):
        return None
    raw = company + ref
    return raw + check_digit(raw)


def _from_epc_uri(kind: str, scheme: str, body: str) -> str | None:
    encode = _percent_encode
    if kind == "id":
        if scheme == "sgtin" and (f := _split(body, 3)) and (gtin := _gtin(f[0], f[1])):
            return f"{_DL_BASE}01/{gtin}/21/{encode(f[2])}"
        if scheme == "sscc" and (f := _split(body, 2)):
            company, serial_ref = f
            if _COMPANY_PREFIX.match(company) and serial_ref.isdigit() and len(company + serial_ref) == 17:
                raw = serial_ref[0] + company + serial_ref[1:]
                return f"{_DL_BASE}00/{raw}{check_digit(raw)}"
        if scheme == "sgln" and (f := _split(body, 3)) and (gln := _twelve_digit_key(f[0], f[1])):
            return f"{_DL_BASE}414/{gln}" + ("" if f[2] == "0" else f"/254/{encode(f[2])}")
        if scheme == "grai" and (f := _split(body, 3)) and (key := _twelve_digit_key(f[0], f[1])):
            raw = "0" + key[:-1]
            return f"{_DL_BASE}8003/{raw}{check_digit(raw)}{encode(f[2])}"
        if scheme in ("giai", "ginc") and (f := _split(body, 2)) and _COMPANY_PREFIX.match(f[0]):
            return f"{_DL_BASE}{'8004' if scheme == 'giai' else '401'}/{f[0]}{encode(f[1])}"
        if scheme in ("gsrn", "gsrnp", "gsin") and (f := _split(body, 2)):
            company, ref = f
            width = 16 if scheme == "gsin" else 17
            if _COMPANY_PREFIX.match(company) and ref.isdigit() and len(company + ref) == width:
                ai = {"gsrn": "8018", "gsrnp": "8017", "gsin": "402"}[scheme]
                return f"{_DL_BASE}{ai}/{company}{ref}{check_digit(company + ref)}"
        if scheme == "gdti" and (f := _split(body, 3)) and (key := _twelve_digit_key(f[0], f[1])):
            return f"{_DL_BASE}253/{key}{encode(f[2])}"
        if (
            scheme == "sgcn"
            and (f := _split(body, 3))
            and f[2].isdigit()
            and (key := _twelve_digit_key(f[0], f[1]))
        ):
            return f"{_DL_BASE}255/{key}{f[2]}"
        if scheme == "cpi" and (f := _split(body, 2)) and "." in f[1]:
            ref, serial = f[1].rsplit(".", 1)
            if _COMPANY_PREFIX.match(f[0]) and serial.isdigit():
                return f"{_DL_BASE}8010/{encode(f[0] + ref)}/8011/{serial}"
        if (
            scheme == "itip"
            and (f := _split(body, 5))
            and _is_two_digits(f[2])
            and _is_two_digits(f[3])
            and (gtin := _gtin(f[0], f[1]))
        ):
            return f"{_DL_BASE}8006/{gtin}{f[2]}{f[3]}/21/{encode(f[4])}"
        if scheme == "upui" and (f := _split(body, 3)) and (gtin := _gtin(f[0], f[1])):
            return f"{_DL_BASE}01/{gtin}/235/{encode(f[2])}"
        if scheme == "pgln" and (f := _split(body, 2)) and (gln := _twelve_digit_key(f[0], f[1])):
            return f"{_DL_BASE}417/{gln}"
        return None
    if kind == "class":
        if scheme == "lgtin" and (f := _split(body, 3)) and (gtin := _gtin(f[0], f[1])):
            return f"{_DL_BASE}01/{gtin}/10/{encode(f[2])}"
        return None
    # EPC ID pattern URIs: only the class level (everything but the serial) is identified.
    fields = body.split(".")
    if fields[-1] != "*":
        return None
    if scheme in ("sgtin", "upui") and len(fields) == 3 and (gtin := _gtin(fields[0], fields[1])):
        return f"{_DL_BASE}01/{gtin}"
    if scheme == "itip" and len(fields) == 5 and (gtin := _gtin(fields[0], fields[1])):
        return f"{_DL_BASE}8006/{gtin}{fields[2]}{fields[3]}"
    if scheme in ("grai", "gdti", "sgcn") and len(fields) == 3:
        key = _twelve_digit_key(fields[0], fields[1])
        if key is None:
            return None
        if scheme == "grai":
            raw = "0" + key[:-1]
            return f"{_DL_BASE}8003/{raw}{check_digit(raw)}"
        return f"{_DL_BASE}{'253' if scheme == 'gdti' else '255'}/{key}"
    if scheme == "cpi" and len(fields) == 3 and _COMPANY_PREFIX.match(fields[0]):
        return f"{_DL_BASE}8010/{encode(fields[0] + fields[1])}"
    return None


def _is_two_digits(text: str) -> bool:
    return len(text) == 2 and text.isdigit()


def _percent_encode(text: str) -> str:
    return text.translate(_PERCENT_ENCODE)


def _from_digital_link(uri: str) -> str | None:
    without_query = uri.split("?", 1)[0].split("#", 1)[0]
    scheme_end = without_query.find("://")
    if scheme_end < 0:
        return None
    path_start = without_query.find("/", scheme_end + 3)
    if path_start < 0:
        return None
    segments = [s for s in without_query[path_start:].split("/") if s]
    segments = [_SHORT_NAMES.get(s, s) for s in segments]
    # The primary key may sit under a path prefix on a custom resolver domain.
    start = next(
        (
            i
            for i in range(len(segments) - 1)
            if segments[i] in _PRIMARY_KEYS and segments[i + 1][:4].isdigit()
        ),
        None,
    )
    if start is None:
        return None
    pairs = segments[start:]
    if len(pairs) % 2:
        return None
    primary_ai, key = pairs[0], pairs[1]
    if primary_ai == "01" and len(key) in (8, 12, 13):
        key = key.zfill(14)
    qualifiers = {pairs[i]: pairs[i + 1] for i in range(2, len(pairs), 2)}
    qualifiers.pop("22", None)
    if "21" in qualifiers:
        qualifiers.pop("10", None)
    allowed = _ALLOWED_QUALIFIERS.get(primary_ai, set())
    if len(qualifiers) > 1 or not set(qualifiers) <= allowed:
        return None
    shape = _KEY_SHAPES.get(primary_ai)
    if shape is None or not shape.fullmatch(key):
        return None
    out = f"{_DL_BASE}{primary_ai}/{key}"
    for ai, value in qualifiers.items():
        out += f"/{ai}/{value}"
    return out


def to_canonical_digital_link(value: str) -> str | None:
    """The canonical GS1 Digital Link URI of an EPC / EPC class / EPC pattern / Digital Link URI.

    Returns ``None`` for anything else (a non-GS1 URI, a bare word, a malformed key), which the hash ID
    then keeps exactly as written.
    """
    if value.startswith("urn:epc:"):
        parts = value.split(":", 4)
        if len(parts) == 5 and parts[2] in ("id", "class", "idpat") and parts[3].isalpha():
            return _from_epc_uri(parts[2], parts[3], parts[4])
        return None
    if value.startswith(("https://", "http://")):
        return _from_digital_link(value)
    return None
