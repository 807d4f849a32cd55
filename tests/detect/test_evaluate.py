"""Precision, recall and time to alert against labels (invented labels and alerts)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from vigichem.detect.evaluate import evaluate, load_labels, parse_label
from vigichem.detect.models import Alert, Scope, Severity
from vigichem.errors import InvalidInput

T0 = dt.datetime(2023, 1, 2, 9, 0, tzinfo=dt.UTC)


def label(case: str, typology: str, subject: str, hashes: list[str]) -> dict[str, Any]:
    """An invented label in the simulator's format."""
    return {
        "case": case,
        "typology": typology,
        "detail": None,
        "subject": {"type": "party", "id": subject},
        "event_hash_ids": hashes,
        "first_event_time": T0.isoformat(),
    }


def alert(typology: str, subject: str, hashes: tuple[str, ...], hours: float) -> Alert:
    """An invented alert firing ``hours`` after T0."""
    fired = T0 + dt.timedelta(hours=hours)
    return Alert(
        rule=typology,
        typology=typology,
        detail=None,
        basis="invented",
        severity=Severity.HIGH,
        scope=Scope.OPERATOR,
        subject_type="party",
        subject_id=subject,
        jurisdiction="EU",
        event_hash_ids=hashes,
        first_event_time=T0,
        last_event_time=fired,
        detected_at=fired,
        explanation="invented",
        evidence={"fired_at": fired.isoformat()},
    )


def test_precision_recall_and_delay() -> None:
    labels = [
        parse_label(label("split-1", "split_purchase", "pty-a", ["h1", "h2"])),
        parse_label(label("split-2", "split_purchase", "pty-b", ["h3"])),
        parse_label(label("theft-1", "theft_loss", "site-x", ["h9"])),
    ]
    alerts = [
        alert("split_purchase", "pty-a", ("h2",), 48),  # matches split-1 by evidence
        alert("split_purchase", "pty-a", ("h1", "h2", "h5"), 72),  # also split-1: later, still true
        alert("split_purchase", "pty-z", ("h7",), 1),  # false
        alert("quantity_spike", "pty-b", ("h3",), 2),  # on a planted case, but of another typology: false
        alert("theft_loss", "site-x", ("h9",), 0),
    ]
    result = evaluate(alerts, labels)
    scores = {s.typology: s for s in result.typologies}
    assert (scores["split_purchase"].cases, scores["split_purchase"].detected) == (2, 1)
    assert scores["split_purchase"].recall == 0.5
    assert scores["split_purchase"].precision == pytest.approx(2 / 3)
    assert scores["split_purchase"].delays_hours == [48.0]
    assert scores["quantity_spike"].precision == 0.0 and scores["quantity_spike"].recall is None
    assert scores["theft_loss"].recall == 1.0 and scores["theft_loss"].precision == 1.0
    assert result.overall.recall == pytest.approx(2 / 3) and result.overall.precision == pytest.approx(3 / 5)
    assert result.missed == ["split-2"] and result.on_other_case == 1
    assert result.to_dict()["overall"]["medianDelayHours"] == 24.0


def test_labels_file_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "labels.jsonl"
    good = json.dumps(label("c-1", "theft_loss", "s", ["h"]))
    path.write_text(good + "\n\n" + good.replace('"subject"', '"subjekt"') + "\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"labels.jsonl:3: 'subject' must be an object"):
        load_labels(path)
    path.write_text(good + "\n{not json\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"labels.jsonl:2: not JSON"):
        load_labels(path)
    path.write_text(good + "\n", encoding="utf-8")
    assert [item.case for item in load_labels(path)] == ["c-1"]
    with pytest.raises(InvalidInput, match="cannot read labels"):
        load_labels(tmp_path / "absent.jsonl")
