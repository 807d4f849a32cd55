"""The CBV 2.0 Event Hash IDs as the ledger computes them: compiled when available, pure Python otherwise.

Same functions and results as :mod:`vigichem.ledger.hashid` (the reference). When
:func:`vigichem.ledger.accel.compiled_hashid` offers a current compiled copy, it does the work; if it ever
fails with anything but :class:`~vigichem.errors.InvalidDocument` (mypyc checks declared types at run time,
where Python would carry on), the pure module computes the answer instead, so a caller always gets exactly
what :mod:`vigichem.ledger.hashid` gives.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from vigichem.errors import InvalidDocument
from vigichem.ledger import hashid
from vigichem.ledger.accel import compiled_hashid

__all__ = ["event_hash_id", "event_hash_ids"]


def event_hash_ids(document: dict[str, Any]) -> list[str]:
    """The CBV 2.0 Event Hash IDs of a parsed EPCIS document's events, in document order."""
    compiled = compiled_hashid()
    if compiled is not None:
        try:
            result: list[str] = compiled.event_hash_ids(document)
            return result
        except InvalidDocument:
            raise
        except Exception:  # the reference decides, and raises its own error if there is one
            pass
    return hashid.event_hash_ids(document)


def event_hash_id(
    event: Mapping[str, Any], context: Any = None, *, ignore_fields: Collection[str] = ()
) -> str:
    """The CBV 2.0 Event Hash ID of one event (arguments as in :func:`.hashid.prehash_string`)."""
    compiled = compiled_hashid()
    if compiled is not None:
        try:
            result: str = compiled.event_hash_id(event, context, ignore_fields=ignore_fields)
            return result
        except InvalidDocument:
            raise
        except Exception:  # the reference decides, and raises its own error if there is one
            pass
    return hashid.event_hash_id(event, context, ignore_fields=ignore_fields)
