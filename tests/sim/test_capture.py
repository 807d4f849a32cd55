"""A simulated run goes through the real capture into a SQLite node; the balance shows what was planted.

The run is the invented 30-day chain of ``conftest.SMALL``; nothing else is stored in the node.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from tests.sim.conftest import SMALL, all_events, read_jsonl
from vigichem.cli import app
from vigichem.errors import InvalidInput
from vigichem.ledger import MasterData, capture, compute_balance, init_node
from vigichem.ledger.node import Node
from vigichem.ledger.vault import Vault
from vigichem.settings import get_settings
from vigichem.sim import load_parties


@pytest.fixture(scope="module")
def captured(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    """A node with the run's master data loaded and every document captured."""
    node = init_node(tmp_path_factory.mktemp("node") / "data", "simulation test", "FR")
    MasterData(node.engine).load(run_dir / "masterdata.yaml")
    for path in sorted((run_dir / "documents").glob("*.json")):
        result = capture(node.store, path.read_bytes(), signer=node.signer)
        assert result.duplicates == []  # every simulated event is distinct
    yield node
    node.close()


def test_every_document_is_accepted_and_every_event_stored(captured: Node, run_dir: Path) -> None:
    with captured.engine.connect() as connection:
        stored = connection.execute(text("SELECT count(*) FROM ledger_events")).scalar_one()
    assert stored == len(all_events(run_dir))


def test_every_label_names_stored_events(captured: Node, run_dir: Path) -> None:
    with captured.engine.connect() as connection:
        stored = {row[0] for row in connection.execute(text("SELECT hash_id FROM ledger_events"))}
    labels = read_jsonl(run_dir / "labels.jsonl")
    assert labels
    for label in labels:
        assert set(label["event_hash_ids"]) <= stored, label["case"]


def test_balance_shows_exactly_the_planted_losses(captured: Node, run_dir: Path) -> None:
    end = dt.datetime.combine(SMALL.end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    report = compute_balance(captured.engine, as_of=end)
    labels = read_jsonl(run_dir / "labels.jsonl")

    def subjects(typology: str) -> set[str]:
        return {label["subject"]["id"] for label in labels if label["typology"] == typology}

    short_sites = {
        lot.site
        for lot in report.lots
        if lot.movements.counted is not None
        and lot.movements.expected_at_count is not None
        and lot.movements.counted < lot.movements.expected_at_count - 1e-9
    }
    over_sites = {
        lot.site
        for lot in report.lots
        if lot.movements.counted is not None
        and lot.movements.expected_at_count is not None
        and lot.movements.counted > lot.movements.expected_at_count + 1e-9
    }
    assert short_sites == subjects("theft_loss")
    assert over_sites == set()
    not_received = {issue.shipment_event for issue in report.transit if issue.kind == "not_received"}
    mismatched = {issue.shipment_event for issue in report.transit if issue.kind == "quantity_mismatch"}
    assert not_received == subjects("shipment_not_received")
    assert mismatched == subjects("shipment_short")


def test_vigichem_balance_shows_the_theft_and_the_lost_shipment(
    captured: Node, run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIGICHEM_DATA_DIR", str(captured.data_dir))
    monkeypatch.delenv("VIGICHEM_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        as_of = f"{SMALL.end + dt.timedelta(days=1)}T00:00:00+00:00"
        result = CliRunner().invoke(app, ["balance", "--as-of", as_of, "--format", "json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    labels = read_jsonl(run_dir / "labels.jsonl")
    thefts = {label["subject"]["id"] for label in labels if label["typology"] == "theft_loss"}
    lost = {label["subject"]["id"] for label in labels if label["typology"] == "shipment_not_received"}
    assert {lot["site"] for lot in report["lots"] if (lot["discrepancy"] or 0) < 0} == thefts
    assert {t["shipment_event"] for t in report["transit"] if t["kind"] == "not_received"} == lost


def test_fake_parties_load_into_the_vault_under_their_event_references(captured: Node, run_dir: Path) -> None:
    parties = read_jsonl(run_dir / "parties.jsonl")
    assert load_parties(captured.engine, run_dir / "parties.jsonl", actor="test") == len(parties)
    assert load_parties(captured.engine, run_dir / "parties.jsonl", actor="test") == 0  # idempotent
    vault = Vault(captured.engine, secret_key="test-key-not-a-secret")
    label = next(x for x in read_jsonl(run_dir / "labels.jsonl") if x["typology"] == "split_purchase")
    record = next(p for p in parties if p["ref"] == label["subject"]["id"])
    person = vault.read_party(label["subject"]["id"], actor="test", purpose="test of the simulation")
    assert person.full_name == record["personal"]["full_name"]
    assert any(entry.action == "register" for entry in vault.access_log(label["subject"]["id"]))


def test_records_not_marked_fake_are_refused_and_nothing_is_stored(tmp_path: Path) -> None:
    node = init_node(tmp_path / "node", "refusal test", "FR")
    try:
        path = tmp_path / "parties.jsonl"
        # Invented records: the second one lacks the fake marker.
        good = {"ref": "pty-a", "fake": True, "kind": "person", "personal": {"full_name": "Invented One"}}
        bad = {"ref": "pty-b", "kind": "person", "personal": {"full_name": "Invented Two"}}
        path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
        with pytest.raises(InvalidInput, match='line 2: only records marked "fake": true'):
            load_parties(node.engine, path, actor="test")
        path.write_text(json.dumps({**good, "personal": {"full_name": "x", "country": "France"}}) + "\n")
        with pytest.raises(InvalidInput, match=r"line 1: personal\.country"):
            load_parties(node.engine, path, actor="test")
        with node.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM parties")).scalar_one() == 0
    finally:
        node.close()
