"""Read a ``labels.jsonl`` file back into :class:`~vigichem.sim.models.Label` records (for evaluation).

Every line is checked against the shared contract; a malformed file is refused with the line number and
what is wrong (``InvalidInput``), never half read.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from vigichem.errors import InputTooLarge, InvalidInput
from vigichem.sim.models import TYPOLOGIES, Label

SUBJECT_TYPES = ("party", "site", "shipment", "address")
MAX_LABEL_FILE_BYTES = 256 * 1024 * 1024


def _label(raw: Any) -> Label:
    if not isinstance(raw, dict):
        raise ValueError("a label must be a JSON object")
    missing = {"case", "typology", "detail", "subject", "event_hash_ids", "first_event_time"} - set(raw)
    if missing:
        raise ValueError(f"missing {', '.join(sorted(missing))}")
    if not isinstance(raw["case"], str) or not raw["case"]:
        raise ValueError("'case' must be a non-empty string")
    if raw["typology"] not in TYPOLOGIES:
        raise ValueError(f"unknown typology {raw['typology']!r}; known: {', '.join(TYPOLOGIES)}")
    if raw["detail"] is not None and not isinstance(raw["detail"], str):
        raise ValueError("'detail' must be a string or null")
    subject = raw["subject"]
    if not isinstance(subject, dict) or subject.get("type") not in SUBJECT_TYPES:
        raise ValueError(f"'subject.type' must be one of {', '.join(SUBJECT_TYPES)}")
    if not isinstance(subject.get("id"), str) or not subject["id"]:
        raise ValueError("'subject.id' must be a non-empty string")
    hashes = raw["event_hash_ids"]
    if not isinstance(hashes, list) or not hashes or not all(isinstance(h, str) and h for h in hashes):
        raise ValueError("'event_hash_ids' must be a non-empty list of Event Hash IDs")
    first = raw["first_event_time"]
    try:
        moment = dt.datetime.fromisoformat(first) if isinstance(first, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValueError("'first_event_time' must be an ISO 8601 date-time with an offset")
    return Label(
        case=raw["case"],
        typology=raw["typology"],
        detail=raw["detail"],
        subject_type=subject["type"],
        subject_id=subject["id"],
        event_hash_ids=tuple(hashes),
        first_event_time=first,
    )


def read_labels(path: Path) -> list[Label]:
    """The planted cases of a ``labels.jsonl`` file (blank lines ignored; duplicate case ids refused)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read the labels file ({exc.strerror})") from exc
    if size > MAX_LABEL_FILE_BYTES:
        raise InputTooLarge(f"{path}: {size} bytes, above the limit of {MAX_LABEL_FILE_BYTES} bytes")
    labels: list[Label] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                label = _label(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"{path}, line {number}: not JSON ({exc.msg})") from None
            except ValueError as exc:
                raise InvalidInput(f"{path}, line {number}: {exc}") from None
            if label.case in seen:
                raise InvalidInput(f"{path}, line {number}: case {label.case!r} appears twice")
            seen.add(label.case)
            labels.append(label)
    return labels


__all__ = ["SUBJECT_TYPES", "read_labels"]
