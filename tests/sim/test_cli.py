"""``vigichem simulate``: writes a run, reports its cases, refuses unusable options with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from vigichem.cli import app


def test_simulate_writes_a_run_and_reports_it(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["simulate", "--seed", "4", "--days", "20", "--out", str(out), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert f"{manifest['counts']['events']} events" in result.output
    assert "theft_loss:" in result.output
    assert (out / "masterdata.yaml").is_file() and (out / "labels.jsonl").is_file()


def test_unusable_options_exit_2_with_a_message(tmp_path: Path) -> None:
    runner = CliRunner()
    bad_days = runner.invoke(
        app, ["simulate", "--seed", "1", "--days", "0", "--out", str(tmp_path / "a"), "-q"]
    )
    assert bad_days.exit_code == 2
    assert "days must be between 1 and 3660" in bad_days.output
    bad_date = runner.invoke(
        app, ["simulate", "--seed", "1", "--days", "5", "--out", str(tmp_path / "b"), "--start", "2023-02-30"]
    )
    assert bad_date.exit_code == 2
    assert "is not a date" in bad_date.output
    unknown = runner.invoke(
        app, ["simulate", "--seed", "1", "--days", "5", "--out", str(tmp_path / "c"), "--jurisdiction", "XX"]
    )
    assert unknown.exit_code == 2
    assert "unknown jurisdiction" in unknown.output
    assert not (tmp_path / "c").exists()


def test_a_directory_holding_a_run_is_refused_before_any_work(tmp_path: Path) -> None:
    out = tmp_path / "run"
    (out / "documents").mkdir(parents=True)
    (out / "documents" / "000001.json").write_text("{}")
    result = CliRunner().invoke(app, ["simulate", "--seed", "1", "--days", "5", "--out", str(out)])
    assert result.exit_code == 2
    assert "already holds a simulation" in result.output
    assert "simulating" not in result.output  # refused before the progress bar started
    assert sorted(p.name for p in out.iterdir()) == ["documents"]
