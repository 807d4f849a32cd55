"""Reading labels back: the written file round-trips; malformed lines are refused with their line number."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.sim.conftest import read_jsonl
from vigichem.errors import InvalidInput
from vigichem.sim import read_labels

# An invented, well-formed label line.
GOOD = {
    "case": "theft_loss-0001",
    "typology": "theft_loss",
    "detail": None,
    "subject": {"type": "site", "id": "https://id.gs1.org/414/3012345000017"},
    "event_hash_ids": ["ni:///sha-256;00?ver=CBV2.0"],
    "first_event_time": "2023-01-05T22:10:00+01:00",
}


def test_written_labels_read_back_unchanged(run_dir: Path) -> None:
    labels = read_labels(run_dir / "labels.jsonl")
    assert [label.to_json() for label in labels] == read_jsonl(run_dir / "labels.jsonl")


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"typology": "smurfing"}, "unknown typology 'smurfing'"),
        ({"subject": {"type": "planet", "id": "x"}}, "'subject.type' must be one of"),
        ({"event_hash_ids": []}, "'event_hash_ids' must be a non-empty list"),
        ({"first_event_time": "2023-01-05T22:10:00"}, "with an offset"),
        ({"detail": 3}, "'detail' must be a string or null"),
    ],
)
def test_malformed_label_is_refused_with_its_line(
    tmp_path: Path, change: dict[str, object], fragment: str
) -> None:
    path = tmp_path / "labels.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + json.dumps({**GOOD, "case": "b", **change}) + "\n")
    with pytest.raises(InvalidInput, match=fragment) as raised:
        read_labels(path)
    assert "line 2" in raised.value.message


def test_not_json_and_duplicates_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "labels.jsonl"
    path.write_text("{oops\n")
    with pytest.raises(InvalidInput, match="line 1: not JSON"):
        read_labels(path)
    path.write_text(json.dumps(GOOD) + "\n\n" + json.dumps(GOOD) + "\n")
    with pytest.raises(InvalidInput, match="line 3: case 'theft_loss-0001' appears twice"):
        read_labels(path)
    with pytest.raises(InvalidInput, match="cannot read"):
        read_labels(tmp_path / "missing.jsonl")
