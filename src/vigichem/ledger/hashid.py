"""The CBV 2.0 EPCIS Event Hash ID: one identity per event, whatever its serialisation.

GS1 CBV 2.0 (section "EPCIS Event Hash ID") defines the identity of an event as the SHA-256 of a
*pre-hash string* built from the event's fields in a fixed order, written as
``ni:///sha-256;<64 hex>?ver=CBV2.0`` (RFC 6920 named information). This module builds that string from a
parsed JSON/JSON-LD event (XML is out of scope for vigichem) and is checked against the test vectors of
the CBV reference implementation (RalphTro/epcis-event-hash-generator).

The pre-hash string is ``eventType=<type>`` followed by, in this order and only when present and
non-empty: eventTime, eventTimeZoneOffset, certificationInfo, parentID, epcList, inputEPCList, childEPCs,
quantityList, childQuantityList, inputQuantityList, outputEPCList, outputQuantityList, action,
transformationID, bizStep, disposition, persistentDisposition (set, unset), readPoint, bizLocation,
sensorElementList (sensorMetadata fields, then sensorReport fields, in the CBV order); then every other
field (bizTransactionList, sourceList, destinationList, ilmd, user extensions …) sorted as text.
Each value is written ``name=value`` with no separator; repeated values (EPCs, quantity elements, sensor
reports, extension values) are sorted. Excluded: ``recordTime``, ``eventID``, ``errorDeclaration``
and comments.

Normalisation, so that equivalent writings hash alike:

* timestamps (``eventTime`` and sensor ``time``/``startTime``/``endTime``) → UTC, ``Z``, exactly three
  fraction digits, rounded half to even on the microsecond value as the reference implementation does;
* EPC URIs, EPC class / pattern URIs and GS1 Digital Link URIs on any domain → the canonical
  ``https://id.gs1.org/…`` Digital Link (see :mod:`vigichem.ledger.digital_link`);
* CBV values: bare words (``shipping``) and CBV 1.x URNs (``urn:epcglobal:cbv:bizstep:shipping``) → the
  CBV 2.0 web URI (``https://ref.gs1.org/cbv/BizStep-shipping``); sensor measurement types and alert
  types → ``https://gs1.org/voc/<term>``; CURIEs → full URIs;
* numbers → no leading ``+``, no leading or trailing zeros, integers without ``.0``;
* extension field names ``prefix:name`` → ``{namespace-URI}name`` using the document's ``@context``.

Known limits are listed in ``docs/ledger-verification.md``.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

from vigichem.errors import InvalidDocument
from vigichem.ledger.digital_link import to_canonical_digital_link

__all__ = [
    "HASH_ID_PREFIX",
    "HASH_ID_SUFFIX",
    "document_events",
    "event_hash_id",
    "event_hash_ids",
    "hash_id_from_prehash",
    "namespaces_from_context",
    "prehash_string",
]

HASH_ID_PREFIX = "ni:///sha-256;"
HASH_ID_SUFFIX = "?ver=CBV2.0"

_CBV = "https://ref.gs1.org/cbv/"
_GS1_VOC = "https://gs1.org/voc/"
_STANDARD_PREFIXES = {"cbv": _CBV, "gs1": _GS1_VOC}
_CBV_URNS = (
    ("urn:epcglobal:cbv:bizstep:", _CBV + "BizStep-"),
    ("urn:epcglobal:cbv:disp:", _CBV + "Disp-"),
    ("urn:epcglobal:cbv:btt:", _CBV + "BTT-"),
    ("urn:epcglobal:cbv:sdt:", _CBV + "SDT-"),
    ("urn:epcglobal:cbv:er:", _CBV + "ER-"),
)
# Fields whose bare-word values are CBV/GS1 vocabulary terms (the EPCIS 2.0 JSON-LD context types them
# "@vocab"), with the URI prefix the term expands to.
_BIZ_STEP = _CBV + "BizStep-"
_DISPOSITION = _CBV + "Disp-"
_BTT = _CBV + "BTT-"
_SDT = _CBV + "SDT-"
_COMPONENT = _CBV + "Comp-"

_IGNORED_EVERYWHERE = frozenset(["#text", "rdfs:comment", "comment"])
_EXCLUDED_FROM_HASH = frozenset(["recordTime", "eventID", "type", "errorDeclaration", "@context"])
_PAIR_LISTS = {
    "bizTransactionList": "bizTransaction",
    "sourceList": "source",
    "destinationList": "destination",
}
_PAIR_KEYS = {name: frozenset(["type", value]) for name, value in _PAIR_LISTS.items()}
_PAIR_TYPE_PREFIX = {"bizTransactionList": _BTT, "sourceList": _SDT, "destinationList": _SDT}

_EPC_LISTS = ("epcList", "inputEPCList", "childEPCs")
_QUANTITY_LISTS = ("quantityList", "childQuantityList", "inputQuantityList")
_QUANTITY_FIELDS = ("epcClass", "quantity", "uom")
_QUANTITY_KEYS = frozenset(_QUANTITY_FIELDS)
_SENSOR_METADATA_FIELDS = (
    "time",
    "startTime",
    "endTime",
    "deviceID",
    "deviceMetadata",
    "rawData",
    "dataProcessingMethod",
    "bizRules",
)
_SENSOR_REPORT_FIELDS = (
    "type",
    "exception",
    "deviceID",
    "deviceMetadata",
    "rawData",
    "dataProcessingMethod",
    "time",
    "microorganism",
    "chemicalSubstance",
    "value",
    "component",
    "stringValue",
    "booleanValue",
    "hexBinaryValue",
    "uriValue",
    "minValue",
    "maxValue",
    "meanValue",
    "sDev",
    "percRank",
    "percValue",
    "uom",
    "coordinateReferenceSystem",
)
_SENSOR_REPORT_VOCAB = {"type": _GS1_VOC, "exception": _GS1_VOC, "component": _COMPONENT}
_TIME_FIELDS = frozenset(["eventTime", "time", "startTime", "endTime"])
_HANDLED_TOP = frozenset(
    [
        "eventTime",
        "eventTimeZoneOffset",
        "certificationInfo",
        "parentID",
        *_EPC_LISTS,
        *_QUANTITY_LISTS,
        "outputEPCList",
        "outputQuantityList",
        "action",
        "transformationID",
        "bizStep",
        "disposition",
        "persistentDisposition",
        "readPoint",
        "bizLocation",
        "sensorElementList",
    ]
)

_NOT_IN_REMAINDER = _HANDLED_TOP | _EXCLUDED_FROM_HASH
# Fixed-order fields that most events lack; the common ones are eventTime, eventTimeZoneOffset, epcList,
# quantityList, action, bizStep, disposition, readPoint, bizLocation.
_RARE_TOP = frozenset(
    [
        "certificationInfo",
        "parentID",
        "inputEPCList",
        "childEPCs",
        "outputEPCList",
        "outputQuantityList",
        "transformationID",
    ]
)

_MEMO_LIMIT = 100_000  # canonical values memoised per namespace map; bounded so memory stays flat

_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$", re.IGNORECASE
)


def namespaces_from_context(context: Any) -> dict[str, str]:
    """The ``prefix → namespace URI`` map declared in a JSON-LD ``@context`` (strings are remote contexts)."""
    found: dict[str, str] = {}
    entries = context if isinstance(context, list) else [context]
    for entry in entries:
        if isinstance(entry, dict):
            for prefix, uri in entry.items():
                if isinstance(uri, str) and not prefix.startswith("@"):
                    found[prefix] = uri
    return found


def _text(value: Any) -> str:
    """A JSON scalar as text; JSON booleans as XML Schema writes them, so JSON and XML agree."""
    if type(value) is str:
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def _expand_curie(text: str, namespaces: Mapping[str, str]) -> str:
    colon = text.find(":")
    if colon > 0 and text[:colon] in namespaces and not text.startswith("//", colon + 1):
        return namespaces[text[:colon]] + text[colon + 1 :]
    return text


def _canonical_number(text: str) -> str:
    # float() decides what a number is, as in the reference implementation; non-finite values are text.
    try:
        number = float(text)
    except ValueError:
        return text
    if not math.isfinite(number):
        return text
    if number == int(number):
        return str(int(number))
    return str(number)


def _canonical_value(value: Any, namespaces: _NamespaceMap) -> str:
    """Any value: CURIE expansion, CBV 1.x URNs → web URIs, number and GS1 identifier normalisation."""
    kind = type(value)
    if kind is str:
        # Memoised per namespace map (one document): locations, classes, parties and codes repeat.
        memo = namespaces.memo
        cached = memo.get(value)
        if cached is not None:
            return cached
        text: str = value.strip()
        if text:
            if ":" in text and namespaces:
                text = _expand_curie(text, namespaces)
            text = _canonical_text(text)
        if len(memo) >= _MEMO_LIMIT:
            memo.clear()
        memo[value] = text
        return text
    if kind is float:
        # Same result as the reference's str → float → str round trip, without the round trip.
        return str(int(value)) if value.is_integer() else str(value)
    if kind is int:
        return str(value)
    text = _text(value)
    if not text:
        return ""
    if namespaces and ":" in text:
        text = _expand_curie(text, namespaces)
    return _canonical_text(text)


@lru_cache(maxsize=65536)
def _canonical_text(text: str) -> str:
    # Cached: product classes, locations, vocabulary values and units repeat across a ledger's events.
    if text.startswith("urn:epcglobal:cbv:"):
        for urn, web in _CBV_URNS:
            if text.startswith(urn):
                text = web + text[len(urn) :]
                break
    # float() also reads "inf" or "nan", but those are non-finite and stay text: only these can change.
    if text[0].isdigit() or text[0] in "+-.":
        text = _canonical_number(text)
    return to_canonical_digital_link(text) or text


def _vocabulary_value(value: Any, term_prefix: str, namespaces: _NamespaceMap) -> str:
    """A CBV/GS1 vocabulary field: a bare word is a term of the vocabulary; anything else as usual."""
    if type(value) is str:
        key = (term_prefix, value)
        cached = namespaces.vocab_memo.get(key)
        if cached is not None:
            return cached
        result = _vocabulary_text(value.strip(), term_prefix, namespaces)
        if len(namespaces.vocab_memo) >= _MEMO_LIMIT:
            namespaces.vocab_memo.clear()
        namespaces.vocab_memo[key] = result
        return result
    return _vocabulary_text(_text(value), term_prefix, namespaces)


def _vocabulary_text(text: str, term_prefix: str, namespaces: _NamespaceMap) -> str:
    if text and ":" not in text:
        return term_prefix + text
    if text:
        text = _expand_curie(text, _STANDARD_PREFIXES)
    return _canonical_value(text, namespaces)


def _canonical_timestamp(value: Any) -> str:
    text = value.strip() if type(value) is str else _text(value)
    match = _TIMESTAMP.match(text)
    if not match:
        return text
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if not fraction:
        milliseconds = 0
    elif len(fraction) <= 3:
        milliseconds = int(fraction) * (1, 100, 10, 1)[len(fraction)]
    else:
        # Digits past the microsecond are dropped, then the value is rounded to the millisecond half to
        # even (Python's round on an int), as the CBV reference implementation does.
        milliseconds = round(int(fraction[:6].ljust(6, "0")), -3) // 1000
    if milliseconds < 1000 and second < "60":
        if zone == "Z" or zone == "+00:00":
            # Already UTC: no calendar arithmetic needed (the common case for machine-written events).
            return f"{year}-{month}-{day}T{hour}:{minute}:{second}.{milliseconds:03d}Z"
        if zone != "z":
            shift = int(zone[1:3]) * 60 + int(zone[4:6])
            minutes = int(hour) * 60 + int(minute) + (shift if zone[0] == "-" else -shift)
            clock = f"{minutes % 1440 // 60:02d}:{minutes % 60:02d}:{second}.{milliseconds:03d}Z"
            if 0 <= minutes < 1440:
                # Same calendar day in UTC: only the clock moves.
                return f"{year}-{month}-{day}T{clock}"
            try:
                utc_day = date(int(year), int(month), int(day)) + timedelta(days=minutes // 1440)
            except (ValueError, OverflowError):
                return text
            return f"{utc_day.isoformat()}T{clock}"
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=_zone(zone.upper())
        )
    except ValueError:
        return text
    moment = moment.astimezone(UTC) + timedelta(milliseconds=milliseconds)
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:{moment.minute:02d}:"
        f"{moment.second:02d}.{moment.microsecond // 1000:03d}Z"
    )


@lru_cache(maxsize=64)
def _zone(zone: str) -> timezone:
    if zone == "Z":
        return UTC
    sign = -1 if zone[0] == "-" else 1
    return timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))


def _expand_key(key: str, namespaces: Mapping[str, str]) -> str:
    prefix, sep, rest = key.partition(":")
    if sep and prefix in namespaces:
        return "{" + namespaces[prefix] + "}" + rest
    return key


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _generic(name: str, value: Any, namespaces: _NamespaceMap) -> list[str]:
    """Pre-hash strings of a field outside the fixed order (extensions, ilmd …), one per occurrence."""
    if name.endswith("List") and name not in _PAIR_LISTS:
        # A list is one element whose children are named after it without "List" (the XML shape).
        item_name = name[:-4]
        children = [s for item in _as_list(value) for s in _generic(item_name, item, namespaces)]
        return [name + "".join(sorted(children))] if children else []
    if isinstance(value, list):
        return [s for item in value for s in _generic(name, item, namespaces)]
    if isinstance(value, dict):
        return [name + _remainder(value, namespaces, exclude=frozenset())]
    text = _canonical_value(value, namespaces)
    return [f"{name}={text}"] if text else []


def _remainder(obj: Mapping[str, Any], namespaces: _NamespaceMap, exclude: frozenset[str]) -> str:
    """The fields of ``obj`` not in ``exclude``, each as generic strings, all sorted as text."""
    parts: list[str] = []
    for key, value in obj.items():
        if key in exclude or key in _IGNORED_EVERYWHERE:
            continue
        if key in _PAIR_LISTS:
            parts.extend(_pair_list(key, value, namespaces))
        else:
            parts.extend(_generic(_expand_key(key, namespaces), value, namespaces))
    parts.sort()
    return "".join(parts)


def _pair_list(name: str, value: Any, namespaces: _NamespaceMap) -> list[str]:
    """bizTransactionList / sourceList / destinationList: sorted ``type=…<value-name>=…`` pairs."""
    value_key = _PAIR_LISTS[name]
    key = _simple_pairs_key(name, value_key, value)
    if key is not None:
        # The common shape (each item exactly {type, value}, both text) is memoised per document: the
        # same parties and transaction types recur from event to event.
        memo = namespaces.pair_memo
        cached = memo.get(key)
        if cached is None:
            computed = _pair_list_of(name, value_key, value, namespaces)
            cached = computed[0] if computed else ""
            if len(memo) >= _MEMO_LIMIT:
                memo.clear()
            memo[key] = cached
        return [cached] if cached else []
    return _pair_list_of(name, value_key, value, namespaces)


def _simple_pairs_key(name: str, value_key: str, value: Any) -> tuple[str, ...] | None:
    """``(name, type, value, type, value, ...)`` when every item is exactly ``{type, value}`` as text."""
    if type(value) is not list:
        return None
    key = [name]
    for item in value:
        if type(item) is not dict or len(item) != 2:
            return None
        kind = item.get("type")
        ident = item.get(value_key)
        if type(kind) is not str or type(ident) is not str:
            return None
        key.append(kind)
        key.append(ident)
    return tuple(key)


def _pair_list_of(name: str, value_key: str, value: Any, namespaces: _NamespaceMap) -> list[str]:
    pairs: list[str] = []
    for item in _as_list(value):
        if not isinstance(item, dict):
            continue
        text = ""
        if "type" in item and (kind := _vocabulary_value(item["type"], _PAIR_TYPE_PREFIX[name], namespaces)):
            text += f"type={kind}"
        if value_key in item and (ident := _canonical_value(item[value_key], namespaces)):
            text += f"{value_key}={ident}"
        if len(item) > 2 or not ("type" in item and value_key in item):
            text += _remainder(item, namespaces, exclude=_PAIR_KEYS[name])
        if text:
            pairs.append(text)
    return [name + "".join(sorted(pairs))] if pairs else []


def _scalars(name: str, value: Any, render: Callable[..., str], *args: Any) -> str:
    """``name=value`` for one value, or the sorted ``name=value`` strings of a list of values."""
    if not isinstance(value, list):
        text = render(value, *args)
        return f"{name}={text}" if text else ""
    return "".join(sorted(f"{name}={t}" for item in value if (t := render(item, *args))))


def _ordered(
    obj: Mapping[str, Any],
    fields: Sequence[str],
    namespaces: _NamespaceMap,
    vocab: Mapping[str, str] | None = None,
) -> str:
    """``fields`` of a nested object in the given order, then its other fields (extensions) sorted."""
    out = []
    for field in fields:
        if field not in obj:
            continue
        if field in _TIME_FIELDS:
            out.append(_scalars(field, obj[field], _canonical_timestamp))
        elif vocab and field in vocab:
            out.append(_scalars(field, obj[field], _vocabulary_value, vocab[field], namespaces))
        else:
            out.append(_scalars(field, obj[field], _canonical_value, namespaces))
    if len(obj) > len(out):
        out.append(_remainder(obj, namespaces, exclude=frozenset(fields)))
    return "".join(out)


def _wrapped(name: str, parts: list[str]) -> str:
    """``name`` followed by its sorted non-empty parts, or nothing when all parts are empty."""
    kept = sorted(p for p in parts if p)
    return name + "".join(kept) if kept else ""


def _epc_list(name: str, value: Any, namespaces: _NamespaceMap) -> str:
    return _wrapped(name, [f"epc={t}" for epc in _as_list(value) if (t := _canonical_value(epc, namespaces))])


def _quantity_list(name: str, value: Any, namespaces: _NamespaceMap) -> str:
    elements = []
    for element in _as_list(value):
        if type(element) is dict and _QUANTITY_KEYS.issuperset(element):
            body = "".join(
                f"{field}={text}"
                for field in _QUANTITY_FIELDS
                if field in element and (text := _canonical_value(element[field], namespaces))
            )
        elif isinstance(element, dict):
            body = _ordered(element, _QUANTITY_FIELDS, namespaces)
        else:
            continue
        if body:
            elements.append("quantityElement" + body)
    return _wrapped(name, elements)


def _sensor_element_list(value: Any, namespaces: _NamespaceMap) -> str:
    elements = []
    for element in _as_list(value):
        if not isinstance(element, dict):
            continue
        body = ""
        metadata = element.get("sensorMetadata")
        if isinstance(metadata, dict) and (inner := _ordered(metadata, _SENSOR_METADATA_FIELDS, namespaces)):
            body += "sensorMetadata" + inner
        reports = []
        for report in _as_list(element.get("sensorReport", [])):
            if isinstance(report, dict) and (
                inner := _ordered(report, _SENSOR_REPORT_FIELDS, namespaces, _SENSOR_REPORT_VOCAB)
            ):
                reports.append("sensorReport" + inner)
        body += "".join(sorted(reports))
        body += _remainder(element, namespaces, exclude=frozenset(["sensorMetadata", "sensorReport"]))
        if body:
            elements.append("sensorElement" + body)
    return _wrapped("sensorElementList", elements)


def prehash_string(
    event: Mapping[str, Any], context: Any = None, *, ignore_fields: Collection[str] = ()
) -> str:
    """The CBV 2.0 pre-hash string of one EPCIS 2.0 JSON event.

    ``context`` is the document's ``@context`` (or a ``prefix → URI`` mapping already extracted with
    :func:`namespaces_from_context`); it names the namespaces of extension fields. ``ignore_fields``
    names top-level extension fields (as written, ``prefix:name``) that a community has agreed to leave
    out of the hash, such as a repository's own capture bookkeeping; by default nothing else is left out.
    """
    if not isinstance(event, dict):
        raise InvalidDocument("an EPCIS event must be a JSON object")
    namespaces = context if type(context) is _NamespaceMap else _namespace_map(context)
    if "@context" in event:
        namespaces = _NamespaceMap({**namespaces, **namespaces_from_context(event["@context"])})
    canon = _canonical_value
    out = ["eventType=", _text(event.get("type"))]
    get = event.get
    if "eventTime" in event:
        out.append(_scalars("eventTime", get("eventTime"), _canonical_timestamp))
    # The frequent single-text fields are written inline (no _scalars call); lists take the general path.
    if type(value := get("eventTimeZoneOffset")) is str:
        if text := canon(value, namespaces):
            out.append("eventTimeZoneOffset=" + text)
    elif "eventTimeZoneOffset" in event:
        out.append(_scalars("eventTimeZoneOffset", value, canon, namespaces))
    rare = not _RARE_TOP.isdisjoint(event)  # one set operation skips the fields most events lack
    if rare:
        for name in ("certificationInfo", "parentID"):
            if name in event:
                out.append(_scalars(name, get(name), canon, namespaces))
        for name in _EPC_LISTS:
            if name in event:
                out.append(_epc_list(name, get(name), namespaces))
    elif "epcList" in event:
        out.append(_epc_list("epcList", get("epcList"), namespaces))
    for name in _QUANTITY_LISTS:
        if name in event:
            out.append(_quantity_list(name, get(name), namespaces))
    if rare:
        if "outputEPCList" in event:
            out.append(_epc_list("outputEPCList", get("outputEPCList"), namespaces))
        if "outputQuantityList" in event:
            out.append(_quantity_list("outputQuantityList", get("outputQuantityList"), namespaces))
    if type(value := get("action")) is str:
        if text := canon(value, namespaces):
            out.append("action=" + text)
    elif "action" in event:
        out.append(_scalars("action", value, canon, namespaces))
    if rare and "transformationID" in event:
        out.append(_scalars("transformationID", get("transformationID"), canon, namespaces))
    if type(value := get("bizStep")) is str:
        if text := _vocabulary_value(value, _BIZ_STEP, namespaces):
            out.append("bizStep=" + text)
    elif "bizStep" in event:
        out.append(_scalars("bizStep", value, _vocabulary_value, _BIZ_STEP, namespaces))
    if type(value := get("disposition")) is str:
        if text := _vocabulary_value(value, _DISPOSITION, namespaces):
            out.append("disposition=" + text)
    elif "disposition" in event:
        out.append(_scalars("disposition", value, _vocabulary_value, _DISPOSITION, namespaces))
    if isinstance(persistent := get("persistentDisposition"), dict):
        body = "".join(
            _scalars(part, persistent.get(part, []), _vocabulary_value, _DISPOSITION, namespaces)
            for part in ("set", "unset")
        )
        body += _remainder(persistent, namespaces, exclude=frozenset(["set", "unset"]))
        if body:
            out.append("persistentDisposition" + body)
    for name in ("readPoint", "bizLocation"):
        place = get(name)
        if type(place) is dict and len(place) == 1 and "id" in place:
            if identifier := canon(place["id"], namespaces):
                out.append(f"{name}id={identifier}")
        elif isinstance(place, dict) and (body := _ordered(place, ("id",), namespaces)):
            out.append(name + body)
    if "sensorElementList" in event:
        out.append(_sensor_element_list(get("sensorElementList"), namespaces))
    excluded = _NOT_IN_REMAINDER
    if ignore_fields:
        excluded = excluded | frozenset(ignore_fields)
    out.append(_remainder(event, namespaces, exclude=excluded))
    return "".join(out)


class _NamespaceMap(dict[str, str]):
    """A ``prefix → URI`` map already extracted from a context (so it is not inspected again per event).

    It also carries the memo of canonical values under these namespaces: the same value written in two
    events of a document is canonicalised once.
    """

    __slots__ = ("memo", "pair_memo", "vocab_memo")

    def __init__(self, mapping: Mapping[str, str] | None = None) -> None:
        super().__init__(mapping or {})
        self.memo: dict[str, str] = {}
        self.vocab_memo: dict[tuple[str, str], str] = {}
        self.pair_memo: dict[tuple[str, ...], str] = {}


def _namespace_map(context: Any) -> _NamespaceMap:
    plain_map = (
        isinstance(context, dict)
        and all(isinstance(v, str) for v in context.values())
        and not any(k.startswith("@") for k in context)
    )
    return _NamespaceMap(context if plain_map else namespaces_from_context(context))


def hash_id_from_prehash(prehash: str) -> str:
    """``ni:///sha-256;<hex>?ver=CBV2.0`` for a pre-hash string."""
    return HASH_ID_PREFIX + hashlib.sha256(prehash.encode("utf-8")).hexdigest() + HASH_ID_SUFFIX


def event_hash_id(
    event: Mapping[str, Any], context: Any = None, *, ignore_fields: Collection[str] = ()
) -> str:
    """The CBV 2.0 Event Hash ID of one event (arguments as in :func:`prehash_string`)."""
    return hash_id_from_prehash(prehash_string(event, context, ignore_fields=ignore_fields))


def document_events(document: Mapping[str, Any]) -> list[Any]:
    """The events of an ``EPCISDocument`` (``epcisBody.eventList`` or a single ``epcisBody.event``).

    An ``EPCISQueryDocument``'s ``queryResults.resultsBody.eventList`` is read too, so query results can
    be hashed and compared; only ``EPCISDocument`` is accepted for capture (see validation).
    """
    body = document.get("epcisBody")
    if not isinstance(body, dict):
        raise InvalidDocument("the document has no epcisBody object", details={"path": "/epcisBody"})
    if "eventList" in body:
        events = body["eventList"]
    elif "event" in body:
        events = [body["event"]]
    elif isinstance(results := body.get("queryResults"), dict) and isinstance(
        results_body := results.get("resultsBody"), Mapping
    ):
        events = results_body.get("eventList", [])
    else:
        events = []
    if not isinstance(events, list):
        raise InvalidDocument(
            "epcisBody.eventList must be an array", details={"path": "/epcisBody/eventList"}
        )
    return events


def event_hash_ids(document: dict[str, Any]) -> list[str]:
    """The CBV 2.0 Event Hash IDs of a parsed EPCIS document's events, in document order."""
    namespaces = _namespace_map(document.get("@context"))
    return [event_hash_id(event, namespaces) for event in document_events(document)]
