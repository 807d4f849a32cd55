"""The inventory CLI: masterdata load/show, import-csv, balance (table and JSON), erase-party.

Runs against SQLite in a temporary data directory; the data are invented (tests/ledger/factories.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tests.ledger.factories import H2O2_GTIN, PLANT_LOCATION, chain_csv, masterdata_dict
from vigichem.cli import app
from vigichem.ledger.node import load_node
from vigichem.ledger.vault import PersonalData, Vault
from vigichem.settings import get_settings


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An initialised node with the invented master data loaded through the CLI."""
    directory = tmp_path / "node"
    monkeypatch.setenv("VIGICHEM_DATA_DIR", str(directory))
    monkeypatch.delenv("VIGICHEM_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(app, ["init", "--name", "Test node", "--country", "FR"]).exit_code == 0
    path = tmp_path / "masterdata.yaml"
    path.write_text(yaml.safe_dump(masterdata_dict()), encoding="utf-8")
    result = runner.invoke(app, ["masterdata", "load", str(path)])
    assert result.exit_code == 0, result.output
    assert "3 product(s)" in result.output and "controlled products: h2o2-30" in result.output
    yield directory
    get_settings.cache_clear()


def test_import_csv_then_balance_json(data_dir: Path, tmp_path: Path) -> None:
    movements = tmp_path / "movements.csv"
    movements.write_text(chain_csv(), encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["import-csv", str(movements)])
    assert result.exit_code == 0, result.output
    assert "8 new event(s)" in result.output
    again = runner.invoke(app, ["import-csv", "--format", "json", str(movements)])
    assert again.exit_code == 0 and len(json.loads(again.stdout)["duplicates"]) == 8
    balance = runner.invoke(
        app, ["balance", "--format", "json", "--as-of", "2026-03-01T00:00:00+00:00", "--site", "plant"]
    )
    assert balance.exit_code == 0, balance.output
    report = json.loads(balance.stdout)
    (lot,) = report["lots"]
    assert (lot["site"], lot["lot"], lot["expected"], lot["discrepancy"]) == (
        PLANT_LOCATION,
        "L1",
        540.0,
        -10.0,
    )
    assert {issue["kind"] for issue in report["transit"]} == {"not_received", "quantity_mismatch"}


def test_balance_table_and_cwc_year(data_dir: Path, tmp_path: Path) -> None:
    movements = tmp_path / "movements.csv"
    movements.write_text(chain_csv(), encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(app, ["import-csv", str(movements)]).exit_code == 0
    wide = {"COLUMNS": "250"}  # room for every column of the rich tables
    table = runner.invoke(
        app, ["balance", "--year", "2026", "--product", H2O2_GTIN, "--transit-days", "7"], env=wide
    )
    assert table.exit_code == 0, table.output
    assert "Balance per site × product × lot" in table.output and "h2o2-30" in table.output
    assert "not_received" in table.output and "quantity_mismatch" in table.output


def test_bad_inputs_exit_2_with_precise_messages(data_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text(chain_csv([f"2026-01-05T08:00:00,production,plant,{H2O2_GTIN},L1,10,KGM,,,,"]))
    result = runner.invoke(app, ["import-csv", str(bad_csv)])
    assert result.exit_code == 2 and "line 2, column event_time" in result.output
    assert runner.invoke(app, ["balance", "--as-of", "yesterday"]).exit_code == 2
    assert runner.invoke(app, ["balance", "--as-of", "2026-01-01T00:00:00"]).exit_code == 2
    unknown_site = runner.invoke(app, ["balance", "--site", "nowhere"])
    assert unknown_site.exit_code == 2 and "unknown site 'nowhere'" in unknown_site.output
    bad_md = tmp_path / "bad.yaml"
    data = masterdata_dict()
    data["products"][0]["composition"][0]["percent"] = 95  # 95 + 70 > 100
    bad_md.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = runner.invoke(app, ["masterdata", "load", str(bad_md)])
    assert (
        result.exit_code == 2
        and "products[0].composition" in result.output
        and "above 100 %" in result.output
    )


def test_erase_party(data_dir: Path) -> None:
    node = load_node(get_settings(), require_key=False)
    try:
        ref = Vault(node.engine).register_party(PersonalData(full_name="Invented Person"), actor="test")
    finally:
        node.close()
    runner = CliRunner()
    result = runner.invoke(app, ["erase-party", ref, "--reason", "end of retention period"])
    assert result.exit_code == 0, result.output
    assert f"erased {ref}" in result.output
    again = runner.invoke(app, ["erase-party", ref, "--reason", "again"])
    assert again.exit_code == 2 and "already erased" in again.output
    unknown = runner.invoke(app, ["erase-party", "pty-nobody", "--reason", "x"])
    assert unknown.exit_code == 2 and "no party" in unknown.output


def test_masterdata_show(data_dir: Path) -> None:
    result = CliRunner().invoke(app, ["masterdata", "show", "--format", "json"])
    assert result.exit_code == 0
    shown = json.loads(result.stdout)
    assert {s["id"] for s in shown["sites"]} == {"plant", "store", "de-site"}
    assert {p["id"] for p in shown["products"]} == {"h2o2-30", "tdg", "tea-85"}
    table = CliRunner().invoke(app, ["masterdata", "show"], env={"COLUMNS": "250"})
    assert table.exit_code == 0 and "CWC Schedule 2" in table.output
