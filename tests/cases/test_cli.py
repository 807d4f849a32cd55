"""``vigichem cases ...`` and ``vigichem report``: list, act, refuse illegal moves, audit, PDF and JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from tests.cases.factories import alert
from vigichem.cases import record_alerts
from vigichem.cli import app
from vigichem.ledger.node import Node
from vigichem.settings import get_settings

runner = CliRunner()


@pytest.fixture
def cli_node(node: Node, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Node]:
    """The parametrised node, named by the settings the CLI reads."""
    monkeypatch.setenv("VIGICHEM_DATA_DIR", str(node.data_dir))
    monkeypatch.setenv("VIGICHEM_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield node
    get_settings.cache_clear()


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_cases_cli_workflow(cli_node: Node, tmp_path: Path) -> None:
    case_id = str(record_alerts(cli_node.engine, [alert(subject="pty-cli")]).cases_opened[0])

    code, out = _run("cases", "list", "--format", "json", "--as-of", "2026-03-04T00:00:00Z")
    assert code == 0
    listed = json.loads(out)
    assert [(c["id"], c["status"], c["overdue"]) for c in listed] == [(int(case_id), "new", True)]

    assert _run("cases", "assign", case_id, "analyst-1", "--actor", "lead")[0] == 0
    code, out = _run("cases", "investigate", case_id, "--actor", "analyst-1")
    assert code == 2 and "cannot move from new to investigating (allowed: closed, triage)" in out
    assert _run("cases", "triage", case_id, "--actor", "analyst-1")[0] == 0
    assert _run("cases", "comment", case_id, "Looks like a split purchase.", "--actor", "analyst-1")[0] == 0
    assert _run("cases", "investigate", case_id, "--actor", "analyst-1")[0] == 0

    pdf = tmp_path / "str.pdf"
    code, out = _run("report", case_id, "--pdf", str(pdf), "--lang", "fr", "--json", "--actor", "analyst-1")
    assert code == 0
    report = json.loads(out[out.index("{") :])
    assert report["case"]["id"] == int(case_id) and report["saleOutcome"] == "attempted"
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "Déclaration de transaction suspecte" in text and "tentée" in text

    code, out = _run("cases", "report", case_id, "--actor", "analyst-1")
    assert code == 0 and "status reported" in out
    code, out = _run("cases", "show", case_id, "--format", "json")
    shown = json.loads(out)
    assert shown["assignee"] == "analyst-1"
    assert [c["text"] for c in shown["comments"]] == ["Looks like a split purchase."]
    assert [e["action"] for e in shown["audit"]][-2:] == ["report", "transition"]

    code, out = _run("cases", "audit", "--verify")
    assert code == 0 and "audit trail intact" in out


def test_cases_cli_errors(cli_node: Node) -> None:
    code, out = _run("cases", "show", "41")
    assert code == 2 and "no case 41" in out
    code, out = _run("cases", "close", "41", "--resolution", "bored")
    assert code == 2
    code, out = _run("cases", "list", "--status", "archived")
    assert code == 2 and "statuses are" in out
    code, out = _run("cases", "link", "41", "ni:///sha-256;" + "0" * 64 + "?ver=CBV2.0")
    assert code == 2 and "no case 41" in out
    code, out = _run("report", "41", "--pdf", "/nonexistent-dir/str.pdf")
    assert code == 2 and "not a writable file path" in out
    code, out = _run("cases", "list", "--as-of", "yesterday")
    assert code == 2 and "not an ISO 8601 date-time" in out
