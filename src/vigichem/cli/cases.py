"""CLI commands of cases and reports: ``vigichem cases list|show|assign|triage|investigate|report|close|
comment|link|audit`` and ``vigichem report CASE --pdf FILE [--lang fr] [--json]``.

The node is the one the settings name (``VIGICHEM_DATA_DIR``, ``VIGICHEM_DATABASE_URL``). Every action is
written to the case's audit trail under ``--actor`` (default: the operating-system user).

Exit codes: 0 success; 1 when ``cases audit --verify`` finds the audit trail broken; 2 when input is unusable
(an unknown case, an illegal move, a bad option, no node).
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from vigichem.cli.common import EXIT_FAILED, FormatOption, OutputFormat, fail, opened_node
from vigichem.errors import VigichemError

__all__ = ["register"]


cases_app = typer.Typer(help="Alerts grouped into cases: list, act on, audit.", no_args_is_help=True)


def _default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        return "cli"


ActorOption = Annotated[str, typer.Option(help="who acts (recorded in the audit trail)")]
CaseArgument = Annotated[int, typer.Argument(help="case number")]
AsOfOption = Annotated[
    str | None, typer.Option(help="judge deadlines at this moment (ISO 8601; default now)")
]


@contextmanager
def _engine() -> Iterator[Any]:
    with opened_node() as node:
        try:
            yield node.engine
        except VigichemError as error:
            raise fail(error.message) from None


def _moment(text: str | None) -> dt.datetime:
    if text is None:
        return dt.datetime.now(dt.UTC).replace(tzinfo=None)
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise fail(f"--as-of {text!r} is not an ISO 8601 date-time") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def _when(moment: dt.datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M")


@cases_app.command("list")
def list_command(
    status: Annotated[list[str] | None, typer.Option(help="only this status (repeatable)")] = None,
    assignee: Annotated[str | None, typer.Option(help="only cases assigned to this person")] = None,
    subject: Annotated[str | None, typer.Option(help="only cases about this subject id")] = None,
    overdue: Annotated[bool, typer.Option(help="only cases past their 24-hour deadline")] = False,
    as_of: AsOfOption = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """List cases, oldest first."""
    from vigichem.cases import list_cases

    moment = _moment(as_of)
    with _engine() as engine:
        found = list_cases(
            engine,
            statuses=status or (),
            assignee=assignee,
            subject_id=subject,
            overdue_at=moment if overdue else None,
        )
    if output is OutputFormat.json:
        typer.echo(json.dumps([case.to_dict(moment) for case in found], indent=2))
        return
    table = Table(title=f"{len(found)} cases")
    for column in ("case", "status", "severity", "subject", "typologies", "assignee", "deadline", "overdue"):
        table.add_column(column, overflow="fold")
    for case in found:
        table.add_row(
            str(case.id),
            str(case.status) + (f" ({case.resolution})" if case.resolution else ""),
            case.severity,
            f"{case.subject_type} {case.subject_id}",
            ", ".join(case.typologies),
            case.assignee or "",
            _when(case.deadline),
            "OVERDUE" if case.overdue(moment) else "",
        )
    Console().print(table)


@cases_app.command("show")
def show_command(
    case: CaseArgument, as_of: AsOfOption = None, output: FormatOption = OutputFormat.table
) -> None:
    """Show one case: alerts, evidence, comments and the audit trail."""
    from vigichem.cases import get_case

    moment = _moment(as_of)
    with _engine() as engine:
        found = get_case(engine, case)
    if output is OutputFormat.json:
        typer.echo(json.dumps(found.to_dict(moment), indent=2))
        return
    console = Console()
    console.print(
        f"[bold]Case {found.id}[/bold] {found.status}"
        + (f" ({found.resolution})" if found.resolution else "")
        + f", {found.severity}, {found.subject_type} {found.subject_id}, assignee {found.assignee or '-'}"
    )
    console.print(
        f"deadline {_when(found.deadline)} UTC" + (" [red]OVERDUE[/red]" if found.overdue(moment) else "")
    )
    for alert in found.alerts:
        console.print(
            f"- {alert.typology}{f' ({alert.detail})' if alert.detail else ''}: {alert.explanation}"
        )
    console.print(f"{len(found.evidence)} evidence events")
    audit = Table(title="audit trail")
    for column in ("at", "actor", "action", "old", "new"):
        audit.add_column(column, overflow="fold")
    for entry in found.audit:
        audit.add_row(
            _when(entry.at), entry.actor, entry.action, entry.old_value or "", entry.new_value or ""
        )
    console.print(audit)


def _act(action: Callable[[Any], Any], done: str) -> None:
    with _engine() as engine:
        case = action(engine)
    typer.echo(f"case {case.id}: {done} (status {case.status})")


@cases_app.command("assign")
def assign_command(case: CaseArgument, assignee: str, actor: ActorOption = _default_actor()) -> None:
    """Give a case to someone."""
    from vigichem.cases import assign

    _act(lambda engine: assign(engine, case, assignee, actor=actor), f"assigned to {assignee}")


@cases_app.command("triage")
def triage_command(case: CaseArgument, actor: ActorOption = _default_actor()) -> None:
    """Move a new case to triage."""
    from vigichem.cases import triage

    _act(lambda engine: triage(engine, case, actor=actor), "in triage")


@cases_app.command("investigate")
def investigate_command(case: CaseArgument, actor: ActorOption = _default_actor()) -> None:
    """Move a case in triage to investigating."""
    from vigichem.cases import investigate

    _act(lambda engine: investigate(engine, case, actor=actor), "under investigation")


@cases_app.command("report")
def reported_command(case: CaseArgument, actor: ActorOption = _default_actor()) -> None:
    """Mark a case under investigation as reported (the STR was filed)."""
    from vigichem.cases import mark_reported

    _act(lambda engine: mark_reported(engine, case, actor=actor), "reported")


class ResolutionChoice(StrEnum):
    """Why a case is closed."""

    false_positive = "false_positive"
    no_action = "no_action"


@cases_app.command("close")
def close_command(
    case: CaseArgument,
    resolution: Annotated[ResolutionChoice, typer.Option(help="false_positive or no_action")],
    actor: ActorOption = _default_actor(),
) -> None:
    """Close a case without a report."""
    from vigichem.cases import close

    _act(lambda engine: close(engine, case, str(resolution), actor=actor), f"closed as {resolution}")


@cases_app.command("comment")
def comment_command(case: CaseArgument, text: str, actor: ActorOption = _default_actor()) -> None:
    """Add a comment (comments are audit entries: never edited or removed)."""
    from vigichem.cases import comment

    _act(lambda engine: comment(engine, case, text, actor=actor), "comment added")


@cases_app.command("link")
def link_command(
    case: CaseArgument,
    hash_ids: Annotated[list[str], typer.Argument(help="Event Hash IDs of ledger events")],
    actor: ActorOption = _default_actor(),
) -> None:
    """Link ledger events to a case as evidence (each must be in this node's ledger)."""
    from vigichem.cases import link_evidence

    _act(lambda engine: link_evidence(engine, case, hash_ids, actor=actor), f"{len(hash_ids)} events linked")


@cases_app.command("audit")
def audit_command(
    case: Annotated[int | None, typer.Argument(help="case number (default: every case)")] = None,
    verify: Annotated[bool, typer.Option(help="check the hash chain of the whole trail")] = False,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Print the audit trail; with --verify, check that no entry was forged, altered or removed."""
    from vigichem.cases import audit_trail, verify_audit

    with _engine() as engine:
        entries = audit_trail(engine, case)
        report = verify_audit(engine) if verify else None
    if output is OutputFormat.json:
        payload: dict[str, Any] = {"entries": [entry.to_dict() for entry in entries]}
        if report is not None:
            payload["verify"] = {"ok": report.ok, "brokenAt": report.broken_at, "reason": report.reason}
        typer.echo(json.dumps(payload, indent=2))
    else:
        for entry in entries:
            typer.echo(
                f"{entry.id}\t{_when(entry.at)}\tcase {entry.case_id}\t{entry.actor}\t{entry.action}\t"
                f"{entry.old_value or ''} -> {entry.new_value or ''}"
            )
        if report is not None:
            typer.echo(
                f"audit trail intact ({report.entries} entries)"
                if report.ok
                else f"audit trail BROKEN at entry {report.broken_at}: {report.reason}"
            )
    if report is not None and not report.ok:
        raise typer.Exit(EXIT_FAILED)


class Language(StrEnum):
    """Languages of the PDF."""

    en = "en"
    fr = "fr"


class Outcome(StrEnum):
    """Whether the sale was completed, refused or attempted."""

    completed = "completed"
    refused = "refused"
    attempted = "attempted"


def report_command(
    case: CaseArgument,
    pdf: Annotated[Path | None, typer.Option(help="write the report as a PDF to this file")] = None,
    lang: Annotated[Language, typer.Option(help="language of the PDF: en or fr")] = Language.en,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    reporter: Annotated[str | None, typer.Option(help="reporter's name (default: --actor)")] = None,
    outcome: Annotated[
        Outcome | None, typer.Option(help="completed, refused or attempted (default: from the evidence)")
    ] = None,
    text: Annotated[str | None, typer.Option(help="free text to include")] = None,
    actor: ActorOption = _default_actor(),
) -> None:
    """Build the suspicious-transaction report of a case (JSON, and PDF with --pdf); reads the vault."""
    from vigichem.cases import build_report

    # Checked before the report is built: building reads the vault and writes the audit trail.
    if pdf is not None and (pdf.is_dir() or not pdf.parent.is_dir() or not os.access(pdf.parent, os.W_OK)):
        raise fail(f"cannot write {pdf}: not a writable file path")
    with _engine() as engine:
        report = build_report(
            engine,
            case,
            reporter=reporter or actor,
            actor=actor,
            outcome=None if outcome is None else str(outcome),
            free_text=text,
        )
    if pdf is not None:
        from vigichem.cases import render_pdf  # reportlab is only needed for the PDF

        try:
            render_pdf(report, pdf, lang=str(lang))
        except OSError as error:
            raise fail(f"cannot write {pdf}: {error.strerror or error}") from None
        typer.echo(f"wrote {pdf}", err=as_json)
    if as_json or pdf is None:
        typer.echo(json.dumps(report, indent=2, ensure_ascii=False))


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `vigichem` app."""
    app.add_typer(cases_app, name="cases")
    app.command("report")(report_command)
