"""A small simulated run shared by the simulator tests (everything in it is invented, fake data)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vigichem.sim import SimConfig, simulate

SMALL = SimConfig(seed=11, days=30)


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 30-day run of seed 11 (scale 1), written once per test session."""
    out = tmp_path_factory.mktemp("sim") / "run"
    simulate(SMALL, out)
    return out


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a JSON-lines file."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def all_events(run: Path) -> list[dict[str, Any]]:
    """Every event of a run, in document order."""
    events: list[dict[str, Any]] = []
    for path in sorted((run / "documents").glob("*.json")):
        events.extend(json.loads(path.read_text(encoding="utf-8"))["epcisBody"]["eventList"])
    return events
