"""``POST /decide`` (FastAPI TestClient) and the ``decide``/``detect``/``evaluate`` commands (CliRunner)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.detect.factories import at, document, masterdata, sale
from vigichem.accounts import Role, create_user, issue_token
from vigichem.api import create_app
from vigichem.cli import app
from vigichem.ledger.node import Node
from vigichem.ledger.service import capture
from vigichem.settings import Settings, get_settings


@pytest.fixture
def client(node: Node) -> Iterator[TestClient]:
    from vigichem.ledger.masterdata import MasterData

    MasterData(node.engine).load(masterdata())
    clerk = create_user(
        node.engine, "clerk", "invented-password-1", Role.OPERATOR_CLERK, organisation="shops"
    )
    with TestClient(
        create_app(Settings(data_dir=node.data_dir), node=node), raise_server_exceptions=False
    ) as c:
        c.headers["Authorization"] = (
            f"Bearer {issue_token(node.engine, clerk, 'tests')[1]}"  # an invented clerk
        )
        yield c


def test_post_decide(client: TestClient) -> None:
    response = client.post(
        "/decide", json={"product": "h2o2-30", "quantity": 2, "stated_use": "pool", "site": "shop-a"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["outcome"] == "licence_required" and body["reasons"][0]["basis"]


@pytest.mark.parametrize(
    ("body", "status", "code", "fragment"),
    [
        ({"product": "h2o2-30", "quantity": 0, "site": "shop-a"}, 400, "invalid_input", "quantity"),
        ({"product": "nope", "quantity": 1, "site": "shop-a"}, 404, "not_found", "not registered"),
        ([1, 2], 400, "invalid_input", "JSON object"),
    ],
)
def test_post_decide_errors_use_the_envelope(
    client: TestClient, body: object, status: int, code: str, fragment: str
) -> None:
    response = client.post("/decide", json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and fragment in error["message"]


@pytest.fixture
def cli_node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Node]:
    from vigichem.ledger.masterdata import MasterData
    from vigichem.ledger.node import init_node

    directory = tmp_path / "node"
    monkeypatch.setenv("VIGICHEM_DATA_DIR", str(directory))
    monkeypatch.delenv("VIGICHEM_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    node = init_node(directory, "Test node (invented)", "FR")
    MasterData(node.engine).load(masterdata())
    yield node
    node.close()
    get_settings.cache_clear()


def test_cli_detect_decide_evaluate(cli_node: Node, tmp_path: Path) -> None:
    from vigichem.ledger.store import LedgerStore

    store = LedgerStore(cli_node.engine)
    events = [sale(at(day), "pty-cli", 6.0) for day in range(4)]
    for event in events:
        capture(store, document(event))
    runner = CliRunner()
    result = runner.invoke(app, ["detect", "--since", "2022-01-01", "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert [a["typology"] for a in report["alerts"]] == ["split_purchase"] and report["eventsSeen"] == 4
    alerts_file = tmp_path / "alerts.json"
    alerts_file.write_text(result.output, encoding="utf-8")
    labels = tmp_path / "labels.jsonl"  # an invented label for the planted split
    labels.write_text(
        json.dumps(
            {
                "case": "split_purchase-0001",
                "typology": "split_purchase",
                "detail": None,
                "subject": {"type": "party", "id": "pty-cli"},
                "event_hash_ids": report["alerts"][0]["eventHashIds"],
                "first_event_time": "2022-03-02T09:00:00Z",
            }
        )
        + "\n",
        encoding="utf-8",
    )
    for extra in (["--alerts", str(alerts_file)], []):
        result = runner.invoke(app, ["evaluate", "--labels", str(labels), "--format", "json", *extra])
        assert result.exit_code == 0, result.output
        overall = json.loads(result.output)["overall"]
        assert overall["recall"] == 1.0 and overall["precision"] == 1.0
    decide = ["decide", "--product", "h2o2-30", "--quantity", "2"]
    result = runner.invoke(app, [*decide, "--customer-type", "pool"])
    assert result.exit_code == 0 and "allow" in result.output
    result = runner.invoke(app, [*decide, "--unit", "XYZ"])
    assert result.exit_code == 2 and "unit" in result.output
    result = runner.invoke(app, ["detect"])
    assert result.exit_code == 2 and "exactly one of --since" in result.output
    result = runner.invoke(app, ["detect", "--since", "yesterday"])
    assert result.exit_code == 2 and "not a date" in result.output


def test_cli_replay_reports_a_rejected_document_and_goes_on(cli_node: Node, tmp_path: Path) -> None:
    replay = tmp_path / "replay" / "documents"
    replay.mkdir(parents=True)
    (replay / "000001.json").write_text("{not json", encoding="utf-8")
    events = [sale(at(day), "pty-replay", 6.0) for day in range(4)]
    (replay / "000002.json").write_text(json.dumps(document(*events)), encoding="utf-8")
    result = CliRunner().invoke(app, ["detect", "--replay", str(tmp_path / "replay"), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert [s["hashId"] for s in report["skipped"]] == ["document:000001.json"]
    assert [a["typology"] for a in report["alerts"]] == ["split_purchase"]


def test_cli_unknown_rule_is_refused(cli_node: Node) -> None:
    result = CliRunner().invoke(app, ["detect", "--since", "2022-01-01", "--rule", "made_up"])
    assert result.exit_code == 2 and "unknown rule 'made_up'" in result.output


def test_cli_detect_records_alerts_as_cases_once(cli_node: Node) -> None:
    from vigichem.ledger.store import LedgerStore

    store = LedgerStore(cli_node.engine)
    for day in range(4):
        capture(store, document(sale(at(day), "pty-record", 6.0)))
    runner = CliRunner()
    first = runner.invoke(app, ["detect", "--since", "2022-01-01", "--record", "--format", "json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["recorded"].startswith(
        "recorded: 1 new alerts (0 already recorded), 1 cases"
    )
    again = runner.invoke(app, ["detect", "--since", "2022-01-01", "--record", "--format", "json"])
    assert json.loads(again.output)["recorded"].startswith("recorded: 0 new alerts (1 already recorded)")
