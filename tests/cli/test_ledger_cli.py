"""The ledger CLI: init, capture (per-file reports, exit codes), verify, events, checkpoint and proofs.

Runs against SQLite (a temporary data directory); the PostgreSQL paths are the same library code, tested
under tests/ledger. ``proof --url`` is checked against a real uvicorn server on loopback.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import text
from typer.testing import CliRunner

from tests.ledger.conftest import example_documents, make_document
from vigichem.accounts import Role, create_user, issue_token
from vigichem.api import create_app
from vigichem.cli import app
from vigichem.ledger.db import create_engine_from_url
from vigichem.settings import get_settings


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An initialised node in a temporary data directory, named by the environment as users do."""
    directory = tmp_path / "node"
    monkeypatch.setenv("VIGICHEM_DATA_DIR", str(directory))
    monkeypatch.delenv("VIGICHEM_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["init", "--name", "Test node", "--country", "FR"])
    assert result.exit_code == 0, result.output
    yield directory
    get_settings.cache_clear()


def _write(tmp_path: Path, name: str, count: int, start: int = 0) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(make_document(count, start)), encoding="utf-8")
    return path


def test_init_refuses_a_second_node(data_dir: Path) -> None:
    result = CliRunner().invoke(app, ["init", "--name", "Other", "--country", "FR"])
    assert result.exit_code == 2 and "already" in result.output


def test_capture_reports_each_file_and_fails_when_one_is_rejected(data_dir: Path, tmp_path: Path) -> None:
    good = _write(tmp_path, "good.json", 3)
    bad = tmp_path / "bad.json"
    document = make_document(2, start=10)
    document["epcisBody"]["eventList"][1]["quantityList"][0]["uom"] = "XYZ"
    bad.write_text(json.dumps(document), encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["capture", "--format", "json", str(good), str(bad), str(good)])
    assert result.exit_code == 2
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(reports[0]["new"]) == 3
    assert reports[1]["error"]["code"] in ("invalid_document", "unknown_unit")
    assert any(
        e["path"].startswith("/epcisBody/eventList/1") for e in reports[1]["error"]["details"]["errors"]
    )
    assert reports[2]["new"] == [] and len(reports[2]["duplicates"]) == 3
    table = runner.invoke(app, ["capture", str(bad)])
    assert "rejected" in table.output and "/epcisBody/eventList/1" in table.output


def test_capture_many_official_examples_then_verify(data_dir: Path) -> None:
    files = [str(path) for path in example_documents()]
    runner = CliRunner()
    assert runner.invoke(app, ["capture", *files]).exit_code == 0
    verified = runner.invoke(app, ["verify"])
    assert verified.exit_code == 0 and verified.output.startswith("ok:")


def test_verify_names_the_tampered_event(data_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    runner.invoke(app, ["capture", str(_write(tmp_path, "d.json", 4))])
    engine = create_engine_from_url(get_settings().resolved_database_url)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE ledger_events SET event_json = replace(event_json, '25.0', '2.5') WHERE seq = 2")
        )
    engine.dispose()
    result = runner.invoke(app, ["verify", "--format", "json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["discrepancy"]["kind"] == "modified" and report["discrepancy"]["seq"] == 2


def test_events_query_and_local_proofs(data_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    captured = runner.invoke(app, ["capture", "-f", "json", str(_write(tmp_path, "a.json", 5))])
    hash_ids = json.loads(captured.stdout)["new"]
    runner.invoke(app, ["capture", str(_write(tmp_path, "b.json", 4, start=5))])
    result = runner.invoke(
        app, ["events", "-f", "json", "--epc-class", "urn:epc:class:lgtin:0614141.107346.LOT7"]
    )
    assert result.exit_code == 0
    found = json.loads(result.stdout)["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert len(found) == 1 and found[0]["quantityList"][0]["epcClass"].endswith("LOT7")
    assert runner.invoke(app, ["events", "--param", "EQ_nonsense=1"]).exit_code == 2
    table = runner.invoke(app, ["events", "--biz-step", "shipping"])
    assert table.exit_code == 0 and "ObjectEvent" in table.output
    inclusion = runner.invoke(app, ["proof", "inclusion", hash_ids[3]])
    assert inclusion.exit_code == 0 and "leaf 3 of the signed tree of 9" in inclusion.output
    consistency = runner.invoke(app, ["proof", "consistency", "5"])
    assert consistency.exit_code == 0, consistency.output
    wrong_root = runner.invoke(app, ["proof", "consistency", "5", "--old-root", "A" * 43 + "="])
    assert wrong_root.exit_code == 1 and "does not hold" in wrong_root.output
    checkpoint = runner.invoke(app, ["checkpoint"])
    assert json.loads(checkpoint.stdout)["checkpoint"]["treeSize"] == 9


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_proofs_fetched_from_a_running_node(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    captured = runner.invoke(app, ["capture", "-f", "json", str(_write(tmp_path, "a.json", 7))])
    hash_ids = json.loads(captured.stdout)["new"]
    engine = create_engine_from_url(get_settings().resolved_database_url)
    reader = create_user(engine, "reader", "invented-password-1", Role.NODE_ADMIN)
    monkeypatch.setenv("VIGICHEM_API_TOKEN", issue_token(engine, reader, "proofs", ["ledger:read"])[1])
    engine.dispose()
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(get_settings()), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):  # wait for the socket, not for a duration
            if server.started:
                break
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port}"
        inclusion = runner.invoke(app, ["proof", "inclusion", hash_ids[6], "--url", url])
        assert inclusion.exit_code == 0, inclusion.output
        consistency = runner.invoke(app, ["proof", "consistency", "3", "--url", url])
        assert consistency.exit_code == 0, consistency.output
        pinned = runner.invoke(
            app, ["proof", "inclusion", hash_ids[0], "--url", url, "--public-key", "A" * 43 + "="]
        )
        assert pinned.exit_code == 1
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_many_files_in_worker_processes_report_in_file_order(data_dir: Path, tmp_path: Path) -> None:
    paths = [_write(tmp_path, f"d{i:02d}.json", 2, start=2 * i) for i in range(11)]
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    missing = tmp_path / "missing.json"
    files = [str(p) for p in paths[:4]] + [str(broken)] + [str(p) for p in paths[4:]] + [str(missing)]
    result = CliRunner().invoke(app, ["capture", "-f", "json", "--workers", "2", *files])
    assert result.exit_code == 2
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["file"] for r in reports] == files
    assert [("error" in r) for r in reports] == [False] * 4 + [True] + [False] * 7 + [True]
    assert [r["firstSeq"] for r in reports if "error" not in r] == list(range(0, 22, 2))
