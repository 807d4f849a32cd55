"""EPCIS 2.0 capture input: parse within a size limit, then schema and semantic validation.

A document is all or nothing. :func:`validate_document` collects **every** error it finds and raises one
:class:`~vigichem.errors.InvalidDocument` whose ``details["errors"]`` lists
``{"path": <JSON pointer>, "message": <text>}`` in document order (at most :data:`MAX_REPORTED_ERRORS`;
``details["error_count"]`` gives the total). Nothing is stored by the caller when it raises.

Checks, in addition to the official EPCIS 2.0 JSON Schema (``schema/EPCIS-JSON-Schema.json``, draft-07,
with its ``uri`` and ``date-time`` formats enforced):

* the document is an ``EPCISDocument`` (an ``EPCISQueryDocument`` is a query *result*; it is refused for
  capture unless ``allow_query_document=True``);
* all text is Unicode: JSON can escape a lone UTF-16 surrogate (``"\\ud800"``), which nothing downstream
  can hash or store; such text is named alone (the schema validator cannot read it);
* every ``quantity`` of a quantity list is greater than zero and at most about 1.8e308 (a float), and
  every ``uom`` there is a UN/ECE Rec 20 mass or volume code (:mod:`vigichem.ledger.units`); a ``uom``
  needs a ``quantity``;
* ``eventTime`` and ``recordTime`` carry a time-zone offset (``Z`` or ``±hh:mm``);
  ``eventTimeZoneOffset`` is required and well-formed by the schema itself;
* references inside the document resolve: every extension field's namespace prefix (``prefix:name``) is
  declared in ``@context`` (or by the EPCIS 2.0 context), every ``eventID`` is used once, and no event
  names itself in its own ``errorDeclaration.correctiveEventIDs``. References to things outside the
  document (corrected events already in the ledger, sites, products) are the capture service's and master
  data's checks.

The schema validator is compiled once per process: the Rust ``jsonschema_rs`` when installed (about
10 µs per event), else the pure-Python ``jsonschema`` (same paths, slower, different message wording).
Formats are checked by both: ``jsonschema``'s own ``uri`` and ``date-time`` checks silently do nothing
without the optional ``rfc3987`` / ``rfc3339-validator`` packages, so vigichem registers its own (an
absolute URI with a scheme and no white space; an RFC 3339 date-time, offset required).
"""

from __future__ import annotations

import importlib
import json
import math
import re
import sys
from collections.abc import Iterator, Mapping
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any, Protocol

import orjson

from vigichem.errors import InputTooLarge, InvalidDocument
from vigichem.ledger.extensions import check_extensions, namespace_prefixes
from vigichem.ledger.jsonio import NOT_PARSED, parse_exactly
from vigichem.ledger.units import accepted_codes, is_known_unit

__all__ = [
    "MAX_REPORTED_ERRORS",
    "QUANTITY_LISTS",
    "json_pointer",
    "parse_document",
    "schema_errors",
    "semantic_errors",
    "validate_document",
]

MAX_REPORTED_ERRORS = 1000
"""At most this many errors are listed in ``details["errors"]``; ``details["error_count"]`` has the total."""

QUANTITY_LISTS = ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList")

# Prefixes the EPCIS 2.0 JSON-LD context itself declares (epcis-context.jsonld, 2.0.0).
_CONTEXT_PREFIXES = frozenset(["epcis", "cbv", "cbvmda", "gs1", "rdfs", "owl", "xsd", "dcterms"])
# Fields whose content the schema closes (strings, or objects without extension points): not walked.
_NO_EXTENSIONS_BELOW = frozenset(
    [
        "@context",
        "epcList",
        "childEPCs",
        "inputEPCList",
        "outputEPCList",
        *QUANTITY_LISTS,
        "bizTransactionList",
        "sourceList",
        "destinationList",
        "persistentDisposition",
    ]
)
_URI_SCHEMES_NOT_PREFIXES = ("http:", "https:", "urn:")
_COMBINATORS = frozenset(["anyOf", "oneOf", "not"])
# jsonschema_rs error kinds → the schema keyword they stand for (those we treat specially).
_RUST_KINDS = {"AnyOf": "anyOf", "OneOfNotValid": "oneOf", "OneOfMultipleValid": "oneOf", "Not": "not"}
_MAX_MESSAGE = 300
_OFFSET_AT_END = re.compile(r"(?:Z|z|[+-]\d{2}:\d{2})$")
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))$"
)
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s\"<>\\^`{|}]*$")


def json_pointer(tokens: Iterator[str | int] | list[str | int] | tuple[str | int, ...]) -> str:
    """An RFC 6901 JSON pointer from path tokens (``~`` and ``/`` escaped)."""
    return "".join("/" + str(token).replace("~", "~0").replace("/", "~1") for token in tokens)


def parse_document(raw: bytes | str, max_bytes: int) -> dict[str, Any]:
    """Parse an EPCIS JSON document, refusing anything above ``max_bytes`` before reading it.

    Raises :class:`InputTooLarge` stating the limit, and :class:`InvalidDocument` for bytes that are not
    UTF-8, malformed JSON (with line and column), ``NaN``/``Infinity`` literals, or a top level that is
    not an object.
    """
    size = len(raw) if isinstance(raw, bytes | bytearray) else len(raw.encode("utf-8"))
    if size > max_bytes:
        raise InputTooLarge(
            f"EPCIS document is {size} bytes; the limit is {max_bytes} bytes",
            details={"size_bytes": size, "limit_bytes": max_bytes},
        )
    parsed = parse_exactly(bytes(raw) if isinstance(raw, bytearray) else raw)
    if parsed is NOT_PARSED:
        parsed = _parse_with_json(raw)
    if not isinstance(parsed, dict):
        raise InvalidDocument(
            f"an EPCIS document must be a JSON object, not a JSON {type(parsed).__name__}",
            details={"errors": [{"path": "", "message": "expected a JSON object"}]},
        )
    return parsed


def _parse_with_json(raw: bytes | bytearray | str) -> Any:
    """The standard library's parse, which explains what is wrong (and reads what orjson leaves to it)."""
    if isinstance(raw, bytes | bytearray):
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as error:
            raise InvalidDocument(
                f"EPCIS document is not UTF-8: invalid byte at offset {error.start}",
                details={"position": error.start},
            ) from None
    else:
        text = raw
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise InvalidDocument(
            f"malformed JSON at line {error.lineno}, column {error.colno}: {error.msg}",
            details={"line": error.lineno, "column": error.colno, "position": error.pos},
        ) from None
    except ValueError as error:  # a number of more digits than Python converts (sys.get_int_max_str_digits)
        raise InvalidDocument(f"unreadable JSON: {str(error).split(';')[0]}") from None
    except RecursionError:
        raise InvalidDocument("malformed JSON: nested too deeply") from None


def _refuse_constant(name: str) -> Any:
    raise InvalidDocument(f"malformed JSON: {name} is not a JSON number", details={"constant": name})


class _ErrorSource(Protocol):
    """Yields ``(pointer, message, keyword, schema pointer)`` for each schema violation."""

    def __call__(self, document: Any) -> Iterator[tuple[str, str, str, str]]: ...


def _check_uri(value: object) -> bool:
    return not isinstance(value, str) or bool(_URI.match(value))


def _check_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    match = _RFC3339.match(value)
    if not match:
        return False
    year, month, day, hour, minute, second, offset_hours, offset_minutes = match.groups()
    try:
        date(int(year), int(month), int(day))
    except ValueError:
        return False
    if int(hour) > 23 or int(minute) > 59 or int(second) > 60:
        return False
    return offset_hours is None or (int(offset_hours) <= 23 and int(offset_minutes) <= 59)


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    text = resources.files("vigichem.ledger").joinpath("schema/EPCIS-JSON-Schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@lru_cache(maxsize=1)
def _compiled_validator() -> _ErrorSource:
    """The EPCIS 2.0 schema validator, built once per process."""
    schema = _schema()
    try:
        # Imported by name: the Rust validator is optional, and its absence must not trouble type checks.
        jsonschema_rs: Any = importlib.import_module("jsonschema_rs")
    except ImportError:
        return _python_validator(schema)
    validator = jsonschema_rs.Draft7Validator(schema, validate_formats=True)

    def iterate(document: Any) -> Iterator[tuple[str, str, str, str]]:
        if validator.is_valid(document):
            return
        for error in validator.iter_errors(document):
            path = list(error.instance_path)
            schema_path = list(error.schema_path)
            if "propertyNames" in schema_path:
                yield _field_name_error(path, error.kind.error.instance, schema_path)
                continue
            keyword = _RUST_KINDS.get(type(error.kind).__name__, type(error.kind).__name__)
            yield json_pointer(path), error.message, keyword, json_pointer(schema_path)

    return iterate


def _python_validator(schema: dict[str, Any]) -> _ErrorSource:
    from jsonschema import Draft7Validator, FormatChecker

    checker = FormatChecker(formats=())
    checker.checks("uri")(_check_uri)
    checker.checks("date-time")(_check_date_time)
    validator = Draft7Validator(schema, format_checker=checker)

    def iterate(document: Any) -> Iterator[tuple[str, str, str, str]]:
        for error in validator.iter_errors(document):
            path = list(error.absolute_path)
            schema_path = list(error.absolute_schema_path)
            if "propertyNames" in schema_path:
                yield _field_name_error(path, error.instance, schema_path)
                continue
            yield json_pointer(path), error.message, str(error.validator), json_pointer(schema_path)

    return iterate


def _field_name_error(object_path: list[Any], name: Any, schema_path: list[Any]) -> tuple[str, str, str, str]:
    """A field name the schema refuses (``propertyNames``), pointed at the field itself."""
    return (
        json_pointer([*object_path, str(name)]),
        f"field {name!r} is not an EPCIS field here and not a namespaced extension field (prefix:name)",
        "propertyNames",
        json_pointer(schema_path),
    )


def schema_errors(document: Any) -> list[dict[str, str]]:
    """Every EPCIS 2.0 JSON Schema violation of ``document`` as ``{"path", "message"}``.

    A failed ``anyOf``/``oneOf``/``not`` at a path where a more precise error lies deeper is a consequence
    of that error and is left out; one that stands alone is reported without dumping the whole value.
    """
    raw = list(_compiled_validator()(document))
    paths = [path for path, _, _, _ in raw]
    found: list[dict[str, str]] = []
    for path, message, keyword, schema_path in raw:
        if keyword in _COMBINATORS:
            if any(other.startswith(path + "/") for other in paths):
                continue
            message = f"value matches none of the forms the EPCIS schema allows here (schema #{schema_path})"
        elif len(message) > _MAX_MESSAGE:
            message = message[: _MAX_MESSAGE - 1] + "…"
        found.append({"path": path, "message": message})
    return found


def _declared_prefixes(context: Any) -> set[str]:
    declared = set(_CONTEXT_PREFIXES)
    for entry in context if isinstance(context, list) else [context]:
        if isinstance(entry, Mapping):
            declared.update(key for key in entry if isinstance(key, str))
    return declared


def _undeclared_prefixes(value: Any, path: str, declared: set[str]) -> list[tuple[str, str]]:
    """Field names ``prefix:name`` anywhere below ``value`` whose prefix no @context declares."""
    found: list[tuple[str, str]] = []
    _collect_undeclared(value, (), path, declared, found)
    return found


def _collect_undeclared(
    value: Any, trail: tuple[str | int, ...], base: str, declared: set[str], found: list[tuple[str, str]]
) -> None:
    # This runs over every event: a plain recursive function (no generators), and a pointer is built only
    # for an error; ``trail`` holds the path tokens below ``base`` until then. dict and list are tested
    # first: the abstract Mapping check is slow and JSON gives plain dicts.
    if isinstance(value, dict) or (not isinstance(value, list) and isinstance(value, Mapping)):
        for key, child in value.items():
            if ":" in key and key != "@context" and not key.startswith(_URI_SCHEMES_NOT_PREFIXES):
                prefix = key.split(":", 1)[0]
                if prefix not in declared:
                    found.append(
                        (
                            base + json_pointer((*trail, key)),
                            f"namespace prefix {prefix!r} of field {key!r} is not declared in @context",
                        )
                    )
            if isinstance(child, (dict, list)) and key not in _NO_EXTENSIONS_BELOW:
                _collect_undeclared(child, (*trail, key), base, declared, found)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            if isinstance(child, (dict, list)):
                _collect_undeclared(child, (*trail, index), base, declared, found)


_LARGEST_QUANTITY = sys.float_info.max


def _quantity_errors(event: Mapping[str, Any], base: str) -> Iterator[tuple[str, str]]:
    for list_name in QUANTITY_LISTS:
        elements = event.get(list_name)
        if not isinstance(elements, list):
            continue
        for index, element in enumerate(elements):
            if not isinstance(element, Mapping):
                continue
            where = f"{base}/{list_name}/{index}"
            quantity = element.get("quantity")
            if isinstance(quantity, int) and not isinstance(quantity, bool) and quantity > _LARGEST_QUANTITY:
                # Checked before isfinite, which cannot convert such an integer to a float.
                yield (
                    f"{where}/quantity",
                    f"quantity is too large: an integer of about {int(quantity.bit_length() * 0.30103)} "
                    "digits (the largest accepted is about 1.8e308)",
                )
            elif (
                isinstance(quantity, int | float)
                and not isinstance(quantity, bool)
                and (not quantity > 0 or not math.isfinite(quantity))
            ):
                yield (
                    f"{where}/quantity",
                    f"quantity must be a finite number greater than zero, got {quantity}",
                )
            uom = element.get("uom")
            if uom is None:
                continue
            if "quantity" not in element:
                yield f"{where}/uom", f"uom {uom!r} is given without a quantity"
            if isinstance(uom, str) and not is_known_unit(uom):
                yield (
                    f"{where}/uom",
                    f"unit {uom!r} is not a UN/ECE Rec 20 mass or volume code accepted for quantities "
                    f"(accepted: {', '.join(accepted_codes())})",
                )


def semantic_errors(document: Mapping[str, Any]) -> list[dict[str, str]]:
    """The checks the schema cannot express (see the module docstring), as ``{"path", "message"}``."""
    found: list[dict[str, str]] = []
    body = document.get("epcisBody")
    events = body.get("eventList") if isinstance(body, Mapping) else None
    if not isinstance(events, list):
        return found
    declared = _declared_prefixes(document.get("@context"))
    extension_prefixes = namespace_prefixes(document.get("@context"))  # once per document
    seen_ids: dict[str, int] = {}
    for position, event in enumerate(events):
        if not isinstance(event, Mapping):
            continue
        base = f"/epcisBody/eventList/{position}"
        problems: list[tuple[str, str]] = []
        for field in ("eventTime", "recordTime"):
            stamp = event.get(field)
            if isinstance(stamp, str) and not _OFFSET_AT_END.search(stamp):
                problems.append(
                    (
                        f"{base}/{field}",
                        f"{field} {stamp!r} has no time-zone offset (end it with Z or ±hh:mm)",
                    )
                )
        problems.extend(_quantity_errors(event, base))
        event_declared = declared
        if "@context" in event:
            event_declared = declared | _declared_prefixes(event["@context"])
        problems.extend(_undeclared_prefixes(event, base, event_declared))
        event_id = event.get("eventID")
        if isinstance(event_id, str):
            if event_id in seen_ids:
                problems.append(
                    (
                        f"{base}/eventID",
                        f"eventID {event_id!r} is already used by event {seen_ids[event_id]} "
                        "of this document",
                    )
                )
            else:
                seen_ids[event_id] = position
            declaration = event.get("errorDeclaration")
            corrective = declaration.get("correctiveEventIDs") if isinstance(declaration, Mapping) else None
            if isinstance(corrective, list):
                for index, ref in enumerate(corrective):
                    if ref == event_id:
                        problems.append(
                            (
                                f"{base}/errorDeclaration/correctiveEventIDs/{index}",
                                "an event cannot name itself as its own corrective event",
                            )
                        )
        found.extend({"path": path, "message": message} for path, message in problems)
        found.extend(check_extensions(event, base, extension_prefixes))
    return found


_SURROGATE = re.compile("[\ud800-\udfff]")


def _not_unicode(document: Mapping[str, Any]) -> list[dict[str, str]]:
    """Text holding a lone UTF-16 surrogate (JSON can escape one, ``"\\ud800"``; it is not Unicode)."""
    try:
        orjson.dumps(document)  # refuses any surrogate, in about a microsecond per event
        return []
    except TypeError:  # or a big integer, or something not JSON: look for surrogates only
        pass
    found: list[dict[str, str]] = []
    stack: list[tuple[str, Any]] = [("", document)]
    while stack:
        pointer, value = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                found.append({"path": pointer, "message": _SURROGATE_MESSAGE})
        elif isinstance(value, Mapping):
            for key, child in value.items():
                path = pointer + json_pointer((str(key),))
                if isinstance(key, str) and _SURROGATE.search(key):
                    found.append({"path": path, "message": "the member name " + _SURROGATE_MESSAGE})
                stack.append((path, child))
        elif isinstance(value, list):
            stack.extend((f"{pointer}/{index}", child) for index, child in enumerate(value))
    return found


_SURROGATE_MESSAGE = "holds a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff escape): not Unicode text"


def _pointer_order(path: str) -> tuple[tuple[int, int | str], ...]:
    # Numbers sort as numbers so event 10 comes after event 2.
    return tuple((0, int(t)) if t.isdigit() else (1, t) for t in path.split("/")[1:])


def validate_document(document: Any, *, allow_query_document: bool = False) -> None:
    """Raise :class:`InvalidDocument` listing every schema and semantic error of ``document``.

    Only ``EPCISDocument`` is accepted for capture; ``allow_query_document`` also admits an
    ``EPCISQueryDocument`` (for checking query results).
    """
    if not isinstance(document, Mapping):
        raise InvalidDocument(
            "an EPCIS document must be a JSON object",
            details={"errors": [{"path": "", "message": "expected a JSON object"}], "error_count": 1},
        )
    kind = document.get("type")
    if kind != "EPCISDocument" and not (allow_query_document and kind == "EPCISQueryDocument"):
        message = (
            "an EPCISQueryDocument is a query result; only an EPCISDocument can be captured"
            if kind == "EPCISQueryDocument"
            else f"document type must be 'EPCISDocument', got {kind!r}"
        )
        raise InvalidDocument(
            message, details={"errors": [{"path": "/type", "message": message}], "error_count": 1}
        )
    # Text that is not Unicode is named alone: the schema validator cannot even read it.
    errors = _not_unicode(document)
    if not errors:
        semantic = semantic_errors(document)
        semantic_paths = {error["path"] for error in semantic}
        # Where a semantic check already explains a path (e.g. a missing offset), its message is kept.
        errors = semantic + [
            error for error in schema_errors(document) if error["path"] not in semantic_paths
        ]
    if not errors:
        return
    errors.sort(key=lambda error: _pointer_order(error["path"]))
    count = len(errors)
    first = errors[0]
    summary = f"EPCIS document has {count} error{'s' if count > 1 else ''}; first at {first['path'] or '/'}: "
    raise InvalidDocument(
        summary + first["message"],
        details={"errors": errors[:MAX_REPORTED_ERRORS], "error_count": count},
    )
