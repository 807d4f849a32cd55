"""``vigichem simulate``: writes a run, reports its cases, refuses unusable options with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vigichem.cli import app
from vigichem.ledger import init_node
from vigichem.settings import get_settings


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


def test_load_parties_registers_them_in_the_node_vault(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "node"
    init_node(data_dir, "load-parties test", "FR").close()
    monkeypatch.setenv("VIGICHEM_DATA_DIR", str(data_dir))
    monkeypatch.delenv("VIGICHEM_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    parties = tmp_path / "parties.jsonl"
    # Invented fake record.
    parties.write_text(
        json.dumps({"ref": "pty-x1", "fake": True, "kind": "person", "personal": {"full_name": "A"}})
    )
    try:
        result = CliRunner().invoke(app, ["load-parties", str(parties)])
        missing = CliRunner().invoke(app, ["load-parties", str(tmp_path / "none.jsonl")])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "1 fake parties registered" in result.output
    assert missing.exit_code == 2 and "cannot read the parties file" in missing.output
