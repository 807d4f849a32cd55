"""The real ``vigichem screen``, ``lists`` and ``demo-screening`` commands, run through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rdkit import RDConfig
from typer.testing import CliRunner

from vigichem.chem import screen_safely
from vigichem.chem.knowledge import load_knowledge_base
from vigichem.cli import app
from vigichem.cli import screen as screen_cli
from vigichem.cli.screen import result_to_json
from vigichem.settings import get_settings

runner = CliRunner()
FINDING_KEYS = {"list", "entry", "jurisdiction", "basis", "status", "reason", "source"}
IDENTITY_KEYS = {"cas", "name", "smiles", "inchikey"}


def _json_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def _run(*args: str) -> Any:
    return runner.invoke(app, list(args), env={"COLUMNS": "160"})


def test_table_output_names_list_entry_and_status() -> None:
    result = _run("screen", "hydrogen peroxide 30%; water 70%", "--jurisdiction", "EU")
    assert result.exit_code == 0, result.output
    assert "EU 2019/1148 Annex I" in result.output
    assert "restricted" in result.output
    assert "licence may be granted up to 35" in result.output


def test_json_lines_have_exactly_the_documented_shape() -> None:
    result = _run("screen", "--format", "json", "111-48-8", "CCO")
    assert result.exit_code == 0, result.output
    first, second = _json_lines(result.output)
    for obj in (first, second):
        assert set(obj) == {"query", "identity", "findings", "errors", "notes"}
        assert set(obj["identity"]) == IDENTITY_KEYS
    assert first["query"] == "111-48-8" and first["identity"]["cas"] == "111-48-8"
    assert first["findings"], "thiodiglycol is listed"
    for finding in first["findings"]:
        assert set(finding) >= FINDING_KEYS
        assert finding["basis"] in {"cas", "structure", "family", "name"}
        assert finding["status"] in {"controlled", "restricted", "reportable", "declarable", "watch"}
    entries = {(f["list"], f["entry"]) for f in first["findings"]}
    assert ("CWC Schedule 2", "2B(13)") in entries
    assert second["findings"] == [] and second["errors"] == []


def test_batch_file_with_a_bad_line_goes_on(tmp_path: Path) -> None:
    batch = tmp_path / "queries.txt"
    batch.write_text("# one query per line\n7722-84-1\n7722-84-2\n\nOCCSCCO\n", encoding="utf-8")
    result = _run("screen", "--file", str(batch), "--format", "json")
    assert result.exit_code == 0, result.output
    lines = _json_lines(result.output)
    assert [line["query"] for line in lines] == ["7722-84-1", "7722-84-2", "OCCSCCO"]
    assert lines[0]["errors"] == [] and lines[0]["findings"]
    assert lines[1]["identity"] is None and lines[1]["findings"] == []
    assert lines[1]["errors"][0]["code"] == "invalid_cas"
    assert "expected 1" in lines[1]["errors"][0]["message"]
    assert lines[2]["findings"]


def test_batch_file_gives_one_by_one_results_across_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Real structures (RDKit's NCI sample), listed chemicals, names, a mixture and bad lines, over several
    # of the command's chunks: each line's JSON is what screening that query alone gives.
    nci = Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi"
    smiles = [line.split()[0] for line in nci.read_text(encoding="utf-8").splitlines()[:60]]
    queries = [*smiles, "7722-84-1", "7722-84-2", "thiodiglycol", "hydrogen peroxide 30%; water 70%", "C1CC"]
    batch = tmp_path / "queries.txt"
    batch.write_text("\n".join(queries) + "\n", encoding="utf-8")
    monkeypatch.setattr(screen_cli, "_PRINT_CHUNK", 7)
    result = _run("screen", "--file", str(batch), "--format", "json", "--jurisdiction", "EU")
    assert result.exit_code == 0, result.output
    expected = [json.loads(json.dumps(result_to_json(screen_safely(q, jurisdiction="EU")))) for q in queries]
    assert _json_lines(result.output) == expected


def test_batch_where_every_line_fails_exits_2(tmp_path: Path) -> None:
    batch = tmp_path / "bad.txt"
    batch.write_text("7722-84-2\nacetonne\n", encoding="utf-8")
    assert _run("screen", "--file", str(batch)).exit_code == 2


@pytest.mark.parametrize(
    ("query", "code", "fragment"),
    [
        ("7722-84-2", "invalid_cas", "check digit is 2, expected 1"),
        ("C1CC(", "invalid_structure", "cannot read SMILES"),
        ("InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3/zz", "invalid_structure", "InChI"),
        ("acetonne", "unknown_name", "did you mean: Acetone"),
        ("hydrogen peroxide 130%", "invalid_composition", "outside 0–100 %"),
        ("hydrogen peroxide 60%; water 50%", "invalid_composition", "above 100 %"),
    ],
)
def test_single_unusable_query_exits_2_with_a_precise_message(query: str, code: str, fragment: str) -> None:
    result = _run("screen", "--format", "json", query)
    assert result.exit_code == 2
    (line,) = _json_lines(result.output)
    assert line["errors"][0]["code"] == code
    assert fragment in line["errors"][0]["message"]
    table = _run("screen", query)
    assert table.exit_code == 2 and fragment in " ".join(table.output.split())


def test_oversized_query_states_the_limit() -> None:
    limit = get_settings().max_query_chars
    result = _run("screen", "--format", "json", "C" * (limit + 1))
    assert result.exit_code == 2
    (line,) = _json_lines(result.output)
    assert line["errors"][0]["code"] == "input_too_large" and str(limit) in line["errors"][0]["message"]


def test_empty_input_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n# nothing\n", encoding="utf-8")
    result = _run("screen", "--file", str(empty))
    assert result.exit_code == 2 and "give a query" in result.output
    blank = _run("screen", "--format", "json", "   ")
    assert blank.exit_code == 2 and "empty query" in blank.output


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        (["--jurisdiction", "XX"], "unknown jurisdiction 'XX'"),
        (["--quantity", "3 furlong"], "unknown unit 'furlong'"),
        (["--quantity", "-3 kg"], "cannot read quantity"),
        (["--as-of", "2021-13-01"], "not a date"),
    ],
)
def test_bad_options_exit_2(options: list[str], fragment: str) -> None:
    result = _run("screen", "7722-84-1", *options)
    assert result.exit_code == 2
    assert fragment in result.output


def test_as_of_before_and_after_a_schedule_1_addition() -> None:
    schedule_1 = load_knowledge_base().lists["cwc-1"]
    entry = next(e for e in schedule_1.entries if e.effective_from and e.cas)
    assert entry.effective_from is not None
    year = entry.effective_from.year
    before = _json_lines(
        _run("screen", "--format", "json", "--as-of", f"{year - 1}-01-01", entry.cas[0]).output
    )
    after = _json_lines(
        _run("screen", "--format", "json", "--as-of", f"{year + 1}-01-01", entry.cas[0]).output
    )
    statuses_before = {f["status"] for f in before[0]["findings"] if f["list"] == schedule_1.short}
    statuses_after = {f["status"] for f in after[0]["findings"] if f["list"] == schedule_1.short}
    assert statuses_before == {"watch"}
    assert statuses_after == {schedule_1.status}


def test_jurisdiction_option_keeps_only_its_lists() -> None:
    lines = _json_lines(_run("screen", "--format", "json", "--jurisdiction", "UK", "7722-84-1").output)
    assert lines[0]["findings"]
    assert {f["jurisdiction"] for f in lines[0]["findings"]} == {"UK"}
    assert not [f for f in lines[0]["findings"] if f["list"].startswith("EU ")]


def test_quantity_option_reaches_the_threshold() -> None:
    lines = _json_lines(_run("screen", "--format", "json", "-j", "INTL", "-q", "2 t", "111-48-8").output)
    (finding,) = [f for f in lines[0]["findings"] if f["list"] == "CWC Schedule 2"]
    assert "2 t of thiodiglycol is above the threshold of 1 t" in finding["reason"]


def test_lists_command_shows_lists_and_jurisdictions_with_sources() -> None:
    kb = load_knowledge_base()
    result = _run("lists", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {row["id"] for row in data["lists"]} == set(kb.lists)
    assert all(row["source"] for row in data["lists"])
    assert {row["code"] for row in data["jurisdictions"]} == set(kb.jurisdictions)
    table = _run("lists")
    assert table.exit_code == 0 and "CWC Schedule 1" in table.output


def test_demo_screening_runs_and_shows_findings_and_the_error() -> None:
    result = _run("demo-screening")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "restricted" in text and "reportable" in text
    assert "not on any list screened" in text
    assert "expected 1" in text
