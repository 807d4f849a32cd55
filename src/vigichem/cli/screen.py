"""CLI commands: ``vigichem screen`` and ``vigichem lists``.

``vigichem screen QUERY...`` screens each query (CAS, name, SMILES, InChI, InChIKey, or a mixture written
``"hydrogen peroxide 30%; water 70%"``); ``--file PATH`` reads one query per line (``-`` for stdin; blank
lines and lines starting with ``#`` are skipped). Output is a table per query, or with ``--format json``
one JSON object per query per line: ``query``, ``identity``, ``findings``, ``errors``, ``notes``.

Exit codes: 0 when the queries were screened (a batch goes on past bad lines, each reported in its own
``errors``); 2 when a single query is unusable, when every query of a batch is, or when an option is
invalid (unknown jurisdiction, bad date, quantity or unit).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from vigichem.chem.coverage import coverage_rows
from vigichem.chem.knowledge import KnowledgeBase, load_knowledge_base
from vigichem.chem.mixtures import Quantity, parse_quantity
from vigichem.chem.models import ScreeningResult
from vigichem.chem.service import screen_batch
from vigichem.errors import InputTooLarge, VigichemError
from vigichem.settings import get_settings

EXIT_UNUSABLE = 2
_PRINT_CHUNK = 1024  # queries screened before their results are printed
_STATUS_STYLE = {
    "controlled": "bold red",
    "restricted": "red",
    "declarable": "yellow",
    "reportable": "yellow",
    "watch": "cyan",
}


class OutputFormat(StrEnum):
    """How results are printed."""

    table = "table"
    json = "json"


def result_to_json(result: ScreeningResult) -> dict[str, Any]:
    """The JSON object of one result, as ``--format json`` prints it (one per line)."""
    return {
        "query": result.query,
        "identity": result.identity.model_dump() if result.identity is not None else None,
        "findings": [finding.model_dump() for finding in result.findings],
        "errors": [dict(error) for error in result.errors],
        "notes": list(result.notes),
    }


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_UNUSABLE)


def _read_queries(path: Path) -> list[str]:
    limit = get_settings().max_batch_lines
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise _fail(f"cannot read {path}: {error}") from None
    queries = [line.strip() for line in text.splitlines()]
    queries = [line for line in queries if line and not line.startswith("#")]
    if len(queries) > limit:
        raise _fail(
            InputTooLarge(
                f"{path} has {len(queries)} queries, above the limit of {limit} (VIGICHEM_MAX_BATCH_LINES)"
            ).message
        )
    return queries


_WIDE_TERMINAL = 120


def print_result(console: Console, result: ScreeningResult) -> None:
    identity = result.identity
    title = result.query
    if identity is not None:
        known = [
            part for part in (identity.name, identity.cas and f"CAS {identity.cas}", identity.smiles) if part
        ]
        if known:
            title += "  →  " + " | ".join(known)
    if result.errors:
        console.print(f"[bold]{title}[/bold]")
        for error in result.errors:
            console.print(f"  [red]error ({error.get('code')}):[/red] {error.get('message')}")
        return
    with_component = any(f.component for f in result.findings)
    # On a narrow terminal the reasons go under the table, numbered, instead of in a squeezed column.
    reasons_below = console.width < _WIDE_TERMINAL
    table = Table(title=title, title_justify="left", show_lines=not reasons_below, expand=True)
    if reasons_below:
        table.add_column("#", no_wrap=True)
    if with_component:
        table.add_column("Component")
    for column in ("List", "Entry", "Where", "Basis", "Status"):
        table.add_column(column, no_wrap=column in ("Entry", "Where", "Basis", "Status"))
    if not reasons_below:
        table.add_column("Reason", ratio=1)
    reasons: list[str] = []
    for number, finding in enumerate(result.findings, start=1):
        reason = finding.reason.removeprefix(f"{finding.list}: ").removeprefix(
            f"{finding.list} {finding.entry}: "
        )
        row = [
            finding.list,
            finding.entry,
            finding.jurisdiction,
            finding.basis,
            f"[{_STATUS_STYLE[finding.status]}]{finding.status}[/]",
        ]
        if with_component:
            row.insert(0, finding.component or "")
        if reasons_below:
            reasons.append(f"  [dim]{number}.[/dim] {reason}")
            row.insert(0, str(number))
        else:
            row.append(reason)
        table.add_row(*row)
    if result.findings:
        console.print(table)
        for line in reasons:
            console.print(line)
    else:
        console.print(f"[bold]{title}[/bold]\n  [green]not on any list screened[/green]")
    for note in result.notes:
        console.print(f"  [dim]note:[/dim] {note}")


def _parse_as_of(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _fail(f"--as-of {value!r} is not a date in the form YYYY-MM-DD") from None


def screen_command(
    queries: Annotated[
        list[str] | None,
        typer.Argument(
            help="CAS, name, SMILES, InChI, InChIKey, or a mixture: 'hydrogen peroxide 30%; water 70%'.",
            show_default=False,
        ),
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Read one query per line ('-': stdin).")
    ] = None,
    jurisdiction: Annotated[
        str | None, typer.Option("--jurisdiction", "-j", help="Only the lists that apply there (e.g. EU).")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Apply the law in force on this date (YYYY-MM-DD).")
    ] = None,
    quantity: Annotated[
        str | None, typer.Option("--quantity", "-q", help="Amount of the product, e.g. '500 kg', '2 L'.")
    ] = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="table or json (one line per query).")] = (
        OutputFormat.table
    ),
) -> None:
    """Screen chemicals and products against the regulatory lists."""
    all_queries = list(queries or [])
    if file is not None:
        all_queries += _read_queries(file)
    if not all_queries:
        raise _fail("give a query (CAS number, name, SMILES, InChI, InChIKey or mixture) or --file PATH")
    date = _parse_as_of(as_of)
    amount: Quantity | None = None
    try:
        if jurisdiction is not None:
            load_knowledge_base().jurisdiction(jurisdiction)
        if quantity is not None:
            amount = parse_quantity(quantity)
    except VigichemError as error:
        raise _fail(error.message) from None

    console = Console(highlight=False, soft_wrap=False)
    failed = 0
    # A file of structures is screened a chunk at a time (screen_batch: same results, less CPU per
    # structure), and each chunk printed before the next is screened.
    for start in range(0, len(all_queries), _PRINT_CHUNK):
        chunk = all_queries[start : start + _PRINT_CHUNK]
        for result in screen_batch(chunk, jurisdiction=jurisdiction, as_of=date, quantity=amount):
            failed += bool(result.errors)
            if output is OutputFormat.json:
                typer.echo(json.dumps(result_to_json(result), ensure_ascii=False))
            else:
                print_result(console, result)
    if failed == len(all_queries):
        raise typer.Exit(EXIT_UNUSABLE)


def lists_command(
    output: Annotated[OutputFormat, typer.Option("--format", help="table or json.")] = OutputFormat.table,
) -> None:
    """Show the regulatory lists and jurisdictions screened, with their legal sources."""
    try:
        kb = load_knowledge_base()
    except VigichemError as error:
        raise _fail(error.message) from None
    lists: list[dict[str, Any]] = [
        {
            "id": item.id,
            "short": item.short,
            "title": item.title,
            "status": item.status,
            "entries": len(item.entries),
            "effective_from": item.effective_from.isoformat() if item.effective_from else None,
            "jurisdictions": kb.jurisdictions_of(item.id),
            "source": item.source,
        }
        for item in kb.lists.values()
    ]
    jurisdictions: list[dict[str, Any]] = [
        {
            "code": j.code,
            "name": j.name,
            "lists": [r.id for r in kb.lists_for(j.code)],
            "inherits": list(j.inherits),
            "source": " ".join(j.source.split()),
        }
        for j in kb.jurisdictions.values()
    ]
    coverage = _coverage_rows(kb)
    if output is OutputFormat.json:
        typer.echo(json.dumps({"lists": lists, "jurisdictions": jurisdictions, "coverage": coverage}))
        return
    console = Console(highlight=False)
    table = Table(title="Regulatory lists", title_justify="left", show_lines=True, expand=True)
    for column in ("List", "Status", "Entries", "In force", "Jurisdictions"):
        table.add_column(column)
    table.add_column("Source", ratio=1)
    for row in lists:
        table.add_row(
            f"{row['short']}\n[dim]{row['id']}[/dim]",
            str(row["status"]),
            str(row["entries"]),
            str(row["effective_from"] or ""),
            ", ".join(row["jurisdictions"]),
            str(row["source"]),
        )
    console.print(table)
    table = Table(title="Jurisdictions", title_justify="left", show_lines=True, expand=True)
    for column in ("Code", "Name", "Lists (own and inherited)"):
        table.add_column(column)
    table.add_column("Source", ratio=1)
    for jrow in jurisdictions:
        table.add_row(str(jrow["code"]), str(jrow["name"]), ", ".join(jrow["lists"]), str(jrow["source"]))
    console.print(table)
    if coverage:
        table = Table(title="Coverage", title_justify="left", show_lines=True, expand=True)
        for column in coverage[0]:
            table.add_column(str(column))
        for crow in coverage:
            table.add_row(*(str(value) for value in crow.values()))
        console.print(table)


def _coverage_rows(kb: KnowledgeBase) -> list[dict[str, Any]]:
    """The coverage table of :mod:`vigichem.chem.coverage` (how each list's entries are identified)."""
    return [dataclasses.asdict(row) for row in coverage_rows(kb)]


def register(app: typer.Typer) -> None:
    """Add ``screen`` and ``lists`` to the ``vigichem`` app."""
    app.command("screen")(screen_command)
    app.command("lists")(lists_command)
