"""GS1 keys for the master data and the balance: GTIN and GLN check digits, product and lot of an epcClass.

An EPCIS ``epcClass`` names a product class, optionally a lot. The forms read here (GS1 EPC Tag Data
Standard 2.0 and GS1 Digital Link 1.2):

* ``urn:epc:class:lgtin:<CompanyPrefix>.<Indicator+ItemRef>.<Lot>``  → GTIN-14 and lot
* ``urn:epc:idpat:sgtin:<CompanyPrefix>.<Indicator+ItemRef>.*``      → GTIN-14, no lot
* ``https://<any host>/01/<GTIN>[/10/<Lot>][/21/<serial>]…``           → GTIN-14 and lot (Digital Link)
* ``urn:vigichem:class:<product local id>[:<lot>]``                   → a product without GTIN (local id)

The GTIN-14 of an EPC URI is the indicator digit, the company prefix, the rest of the item reference and the
GS1 mod-10 check digit. Anything else yields ``None`` and is reported under its raw epcClass.
"""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import quote, unquote, urlsplit

LOCAL_CLASS_PREFIX = "urn:vigichem:class:"

_LGTIN_RE = re.compile(r"^urn:epc:class:lgtin:(\d+)\.(\d+)\.(.+)$")
_SGTIN_PATTERN_RE = re.compile(r"^urn:epc:idpat:sgtin:(\d+)\.(\d+)\.\*$")
_DL_RE = re.compile(r"/01/(\d{14}|\d{13}|\d{12}|\d{8})(?=/|$)(?:/10/([^/?#]+))?")


class ProductLot(NamedTuple):
    """The product key (GTIN-14 or ``local:<id>``) and lot (``None`` when the class names no lot)."""

    product_key: str
    lot: str | None


def gs1_check_digit(body: str) -> int:
    """The GS1 mod-10 check digit of the digits ``body`` (weights 3, 1, 3… from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def _normalise_key(value: str, lengths: tuple[int, ...], kind: str, pad_to: int) -> str:
    digits = value.strip().replace(" ", "")
    if not digits.isdigit() or len(digits) not in lengths:
        allowed = ", ".join(str(n) for n in lengths)
        raise ValueError(f"{value!r} is not a {kind}: expected {allowed} digits")
    expected = gs1_check_digit(digits[:-1])
    if int(digits[-1]) != expected:
        raise ValueError(f"{kind} {value!r} has check digit {digits[-1]}, expected {expected}")
    return digits.zfill(pad_to)


def normalise_gtin(value: str) -> str:
    """A GTIN-8/12/13/14 as GTIN-14 (left zero-padded), check digit verified; ``ValueError`` otherwise."""
    return _normalise_key(value, (8, 12, 13, 14), "GTIN", 14)


def normalise_gln(value: str) -> str:
    """A 13-digit GLN, check digit verified; ``ValueError`` otherwise."""
    return _normalise_key(value, (13,), "GLN", 13)


def gtin_of_epc_parts(company_prefix: str, indicator_and_item: str) -> str | None:
    """The GTIN-14 from an EPC URI's company prefix and indicator+item reference (13 digits together)."""
    if len(company_prefix) + len(indicator_and_item) != 13 or not indicator_and_item:
        return None
    body = indicator_and_item[0] + company_prefix + indicator_and_item[1:]
    return body + str(gs1_check_digit(body))


def parse_epc_class(epc_class: str) -> ProductLot | None:
    """The product key and lot named by an epcClass, or ``None`` when the form is not understood."""
    match = _LGTIN_RE.match(epc_class)
    if match:
        gtin = gtin_of_epc_parts(match.group(1), match.group(2))
        return ProductLot(gtin, unquote(match.group(3))) if gtin else None
    match = _SGTIN_PATTERN_RE.match(epc_class)
    if match:
        gtin = gtin_of_epc_parts(match.group(1), match.group(2))
        return ProductLot(gtin, None) if gtin else None
    if epc_class.startswith(LOCAL_CLASS_PREFIX):
        rest = epc_class[len(LOCAL_CLASS_PREFIX) :]
        product, _, lot = rest.partition(":")
        return ProductLot(f"local:{product}", unquote(lot) or None) if product else None
    if epc_class.startswith(("http://", "https://")):
        match = _DL_RE.search(urlsplit(epc_class).path)
        if match:
            try:
                gtin = normalise_gtin(match.group(1))
            except ValueError:
                return None
            lot_part = match.group(2)
            return ProductLot(gtin, unquote(lot_part) if lot_part else None)
    return None


def digital_link_class(gtin: str, lot: str | None) -> str:
    """The GS1 Digital Link URI of a product class (``https://id.gs1.org/01/<GTIN-14>/10/<lot>``)."""
    uri = f"https://id.gs1.org/01/{normalise_gtin(gtin)}"
    return f"{uri}/10/{quote(lot, safe='')}" if lot else uri


def local_class(product_id: str, lot: str | None) -> str:
    """The vigichem URI of a product class without GTIN (``urn:vigichem:class:<id>[:<lot>]``)."""
    return f"{LOCAL_CLASS_PREFIX}{product_id}" + (f":{quote(lot, safe='')}" if lot else "")


__all__ = [
    "LOCAL_CLASS_PREFIX",
    "ProductLot",
    "digital_link_class",
    "gs1_check_digit",
    "gtin_of_epc_parts",
    "local_class",
    "normalise_gln",
    "normalise_gtin",
    "parse_epc_class",
]
