"""The vigichem EPCIS 2.0 extension namespace: fields that EPCIS lacks for chemical security.

EPCIS 2.0 lets a user add fields to an event as long as they live in their own namespace (EPCIS 2.0 §7.1.2;
in JSON-LD a compact IRI ``prefix:name`` whose prefix is bound in the document's ``@context``). vigichem's
namespace is :data:`NAMESPACE` (``https://vigichem.org/epcis/ext/``), written with the prefix ``vc``::

    "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
                 {"vc": "https://vigichem.org/epcis/ext/"}]
    ...
    "vc:customerRef": "pty-3kq7...",          the buyer's pseudonymous party reference (never personal data)
    "vc:paymentMethod": "card",               one of PAYMENT_METHODS
    "vc:statedEndUse": "swimming pool care",  the end use the buyer stated (free text, no personal data)
    "vc:concentration": [{"substance": "7722-84-1", "percent": 30.0}]   % w/w as sold
    "vc:idVerified": true,                    the buyer showed an identity document
    "vc:customerType": "farm",                one of CUSTOMER_TYPES
    "vc:deliveryType": "po_box",              one of DELIVERY_TYPES
    "vc:deliveryRef": "adr-5c1e...",          keyed pseudonymous reference of the delivery address

The fields are part of the hashed event record (CBV 2.0 hashes user extensions too), so nothing in them may
ever need erasing: personal data stays in the vault (:mod:`vigichem.ledger.vault`) and the event carries the
reference only. Readers accept the ``vc:`` prefix, the full IRI, or any other prefix that the document's
``@context`` binds to :data:`NAMESPACE`. ``docs/events.md`` documents every field with examples.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from vigichem.errors import InvalidDocument

NAMESPACE = "https://vigichem.org/epcis/ext/"
PREFIX = "vc"
CONTEXT_ENTRY: dict[str, str] = {PREFIX: NAMESPACE}
"""The object to append to a document's ``@context`` list."""

CUSTOMER_REF = "customerRef"
PAYMENT_METHOD = "paymentMethod"
STATED_END_USE = "statedEndUse"
CONCENTRATION = "concentration"
ID_VERIFIED = "idVerified"
CUSTOMER_TYPE = "customerType"
DELIVERY_TYPE = "deliveryType"
DELIVERY_REF = "deliveryRef"
FIELDS = (
    CUSTOMER_REF,
    PAYMENT_METHOD,
    STATED_END_USE,
    CONCENTRATION,
    ID_VERIFIED,
    CUSTOMER_TYPE,
    DELIVERY_TYPE,
    DELIVERY_REF,
)

PAYMENT_METHODS = ("cash", "card", "bank_transfer", "invoice", "cheque", "mobile", "crypto", "other")
"""Payment methods as recorded; ``cash`` and ``crypto`` matter to detection rules (EU 2019/1148 Art. 9)."""

CUSTOMER_TYPES = (
    "private",
    "farm",
    "pool",
    "laboratory",
    "mine",
    "manufacturer",
    "distributor",
    "shop",
    "school",
    "hospital",
    "public_body",
    "other",
)
"""Kinds of buyer; detection compares a purchase with the buyer's own history and with its type's."""

DELIVERY_TYPES = ("counter", "business_address", "private_address", "po_box")
"""How the goods reach the buyer (EU 2019/1148 guidelines: a private address or PO box for a firm's order)."""

PARTY_REF_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
"""A party reference: 1–128 characters, letters, digits and ``. _ : -``; no spaces, so no names."""

MAX_END_USE_CHARS = 500


def _prefixes_for_namespace(context: Any) -> set[str]:
    """Prefixes that a JSON-LD ``@context`` (string, object or list of them) binds to :data:`NAMESPACE`."""
    found = {PREFIX}
    items = context if isinstance(context, list) else [context]
    for item in items:
        if isinstance(item, Mapping):
            for key, value in item.items():
                iri = value.get("@id") if isinstance(value, Mapping) else value
                if iri == NAMESPACE:
                    found.add(str(key))
    return found


class NamespacePrefixes(tuple[str, ...]):
    """The prefixes a ``@context`` binds to :data:`NAMESPACE`, sorted (see :func:`namespace_prefixes`)."""

    __slots__ = ()


def namespace_prefixes(context: Any) -> NamespacePrefixes:
    """The prefixes bound to :data:`NAMESPACE` by a document's ``@context``, computed once.

    Pass the result as the ``context`` argument of :func:`extension_value`, :func:`party_ref_of` and
    :func:`check_extensions` for every event of the document: the context is then not inspected again per
    event and per field (that inspection was most of the cost of checking a large document).
    """
    if type(context) is NamespacePrefixes:
        return context
    return NamespacePrefixes(sorted(_prefixes_for_namespace(context)))


def _event_prefixes(event: Mapping[str, Any], context: Any) -> Sequence[str]:
    """The prefixes in force for one event: the document's plus any its own ``@context`` binds, sorted."""
    prefixes = namespace_prefixes(context)
    own = event.get("@context")
    if own is None:
        return prefixes
    return sorted(set(prefixes) | _prefixes_for_namespace(own))


def _lookup(event: Mapping[str, Any], field: str, prefixes: Sequence[str]) -> Any:
    iri = NAMESPACE + field
    if iri in event:
        return event[iri]
    for prefix in prefixes:
        key = f"{prefix}:{field}"
        if key in event:
            return event[key]
    return None


@lru_cache(maxsize=256)
def _field_keys(prefixes: tuple[str, ...]) -> dict[str, tuple[str, int]]:
    """Every key naming a field of :data:`FIELDS` under ``prefixes``: ``key → (field, rank)``.

    Rank 0 is the full IRI, then the prefixes in order: the precedence :func:`_lookup` applies.
    """
    keys: dict[str, tuple[str, int]] = {}
    for field in FIELDS:
        keys[NAMESPACE + field] = (field, 0)
        for rank, prefix in enumerate(prefixes, 1):
            keys.setdefault(f"{prefix}:{field}", (field, rank))
    return keys


def _extension_values(event: Mapping[str, Any], prefixes: Sequence[str]) -> dict[str, Any]:
    """The :data:`FIELDS` an event carries, ``field → value``, as :func:`_lookup` would find each.

    One pass over the event's keys instead of a lookup per field and prefix (this runs for every event).
    """
    keys = _field_keys(tuple(prefixes))
    found: dict[str, tuple[int, Any]] = {}
    for key, value in event.items():
        hit = keys.get(key)
        if hit is not None:
            field, rank = hit
            if field not in found or rank < found[field][0]:
                found[field] = (rank, value)
    return {field: value for field, (_, value) in found.items()}


def extension_value(event: Mapping[str, Any], field: str, context: Any = None) -> Any:
    """The value of a vigichem extension ``field`` in an event, or ``None``.

    ``context``: the document's ``@context`` (or its :func:`namespace_prefixes`) when the event does not
    carry its own; extra prefixes bound to the namespace there are honoured.
    """
    return _lookup(event, field, _event_prefixes(event, context))


def party_ref_of(event: Mapping[str, Any], context: Any = None) -> str | None:
    """The pseudonymous party reference of an event (``vc:customerRef``), or ``None``.

    This is what the store writes to ``ledger_events.party_ref``. A value that is not a well-formed
    reference (see :data:`PARTY_REF_RE`) is not returned; :func:`check_extensions` reports it.
    """
    value = extension_value(event, CUSTOMER_REF, context)
    if isinstance(value, str) and PARTY_REF_RE.match(value):
        return value
    return None


def check_extensions(
    event: Mapping[str, Any], pointer: str = "", context: Any = None
) -> list[dict[str, str]]:
    """Semantic errors in an event's vigichem extension fields, as ``{"path", "message"}`` (JSON pointers).

    An empty list means the fields are absent or well-formed. ``pointer`` is the event's own JSON pointer
    (e.g. ``/epcisBody/eventList/3``) so that errors point into the whole document.
    """
    errors: list[dict[str, str]] = []
    values = _extension_values(event, _event_prefixes(event, context))  # one pass over the event
    if not values:
        return errors

    def error(field: str, message: str) -> None:
        errors.append({"path": f"{pointer}/{PREFIX}:{field}", "message": message})

    ref = values.get(CUSTOMER_REF)
    if ref is not None and not (isinstance(ref, str) and PARTY_REF_RE.match(ref)):
        error(
            CUSTOMER_REF, "must be a party reference of 1-128 letters, digits or . _ : - (no personal data)"
        )
    payment = values.get(PAYMENT_METHOD)
    if payment is not None and payment not in PAYMENT_METHODS:
        error(PAYMENT_METHOD, f"unknown payment method {payment!r}; known: {', '.join(PAYMENT_METHODS)}")
    end_use = values.get(STATED_END_USE)
    if end_use is not None and not (isinstance(end_use, str) and 0 < len(end_use) <= MAX_END_USE_CHARS):
        error(STATED_END_USE, f"must be a non-empty text of at most {MAX_END_USE_CHARS} characters")
    concentration = values.get(CONCENTRATION)
    if concentration is not None:
        errors.extend(_check_concentration(concentration, f"{pointer}/{PREFIX}:{CONCENTRATION}"))
    id_verified = values.get(ID_VERIFIED)
    if id_verified is not None and not isinstance(id_verified, bool):
        error(ID_VERIFIED, "must be true or false (whether the buyer showed an identity document)")
    customer_type = values.get(CUSTOMER_TYPE)
    if customer_type is not None and customer_type not in CUSTOMER_TYPES:
        error(CUSTOMER_TYPE, f"unknown customer type {customer_type!r}; known: {', '.join(CUSTOMER_TYPES)}")
    delivery_type = values.get(DELIVERY_TYPE)
    if delivery_type is not None and delivery_type not in DELIVERY_TYPES:
        error(DELIVERY_TYPE, f"unknown delivery type {delivery_type!r}; known: {', '.join(DELIVERY_TYPES)}")
    delivery_ref = values.get(DELIVERY_REF)
    if delivery_ref is not None and not (isinstance(delivery_ref, str) and PARTY_REF_RE.match(delivery_ref)):
        error(
            DELIVERY_REF,
            "must be an address reference of 1-128 letters, digits or . _ : - (never the address itself)",
        )
    return errors


def _check_concentration(value: Any, path: str) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        return [{"path": path, "message": "must be a non-empty list of {substance, percent} objects"}]
    errors: list[dict[str, str]] = []
    total = 0.0
    for index, item in enumerate(value):
        where = f"{path}/{index}"
        if (
            not isinstance(item, Mapping)
            or not isinstance(item.get("substance"), str)
            or not item["substance"]
        ):
            errors.append({"path": where, "message": "needs a non-empty 'substance' (CAS number or name)"})
            continue
        percent = item.get("percent")
        if isinstance(percent, bool) or not isinstance(percent, int | float) or not math.isfinite(percent):
            errors.append({"path": f"{where}/percent", "message": "must be a number (% w/w)"})
        elif not 0 < percent <= 100:
            errors.append({"path": f"{where}/percent", "message": f"{percent} is outside (0, 100] % w/w"})
        else:
            total += float(percent)
    if total > 100.0 + 1e-9:
        errors.append({"path": path, "message": f"concentrations sum to {total:g} % w/w, above 100 %"})
    return errors


def build_extensions(
    *,
    customer_ref: str | None = None,
    payment_method: str | None = None,
    stated_end_use: str | None = None,
    concentration: list[tuple[str, float]] | None = None,
    id_verified: bool | None = None,
    customer_type: str | None = None,
    delivery_type: str | None = None,
    delivery_ref: str | None = None,
) -> dict[str, Any]:
    """The extension members to merge into an event (``vc:``-prefixed keys); absent values are left out.

    Raises :class:`~vigichem.errors.InvalidDocument` with every problem when a value is malformed.
    """
    fields: dict[str, Any] = {}
    if customer_ref is not None:
        fields[f"{PREFIX}:{CUSTOMER_REF}"] = customer_ref
    if payment_method is not None:
        fields[f"{PREFIX}:{PAYMENT_METHOD}"] = payment_method
    if stated_end_use is not None:
        fields[f"{PREFIX}:{STATED_END_USE}"] = stated_end_use
    if concentration is not None:
        fields[f"{PREFIX}:{CONCENTRATION}"] = [{"substance": s, "percent": p} for s, p in concentration]
    optional = {
        ID_VERIFIED: id_verified,
        CUSTOMER_TYPE: customer_type,
        DELIVERY_TYPE: delivery_type,
        DELIVERY_REF: delivery_ref,
    }
    for name, value in optional.items():
        if value is not None:
            fields[f"{PREFIX}:{name}"] = value
    errors = check_extensions(fields)
    if errors:
        raise InvalidDocument(
            "; ".join(f"{e['path']}: {e['message']}" for e in errors), details={"errors": errors}
        )
    return fields


def with_context(context: Any) -> list[Any]:
    """A document ``@context`` with the vigichem prefix bound (added once)."""
    items = list(context) if isinstance(context, list) else ([context] if context is not None else [])
    already_bound = any(isinstance(item, Mapping) and item.get(PREFIX) == NAMESPACE for item in items)
    if not already_bound:
        items.append(dict(CONTEXT_ENTRY))
    return items


__all__ = [
    "CONCENTRATION",
    "CONTEXT_ENTRY",
    "CUSTOMER_REF",
    "CUSTOMER_TYPE",
    "CUSTOMER_TYPES",
    "DELIVERY_REF",
    "DELIVERY_TYPE",
    "DELIVERY_TYPES",
    "FIELDS",
    "ID_VERIFIED",
    "NAMESPACE",
    "PARTY_REF_RE",
    "PAYMENT_METHOD",
    "PAYMENT_METHODS",
    "PREFIX",
    "STATED_END_USE",
    "NamespacePrefixes",
    "build_extensions",
    "check_extensions",
    "extension_value",
    "namespace_prefixes",
    "party_ref_of",
    "with_context",
]
