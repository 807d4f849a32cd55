"""CLI commands of detection: ``detect`` (history or replay), ``decide`` (point of sale), ``evaluate``.

The node is the one the settings name (``VIGICHEM_DATA_DIR``, ``VIGICHEM_DATABASE_URL``).

Exit codes: 0 success; 2 when input is unusable (a bad option or date, a malformed sale, an unreadable
labels file, no node). ``detect`` reports skipped events and still exits 0: a bad event never stops it.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from vigichem.cli.common import FormatOption, OutputFormat, fail, opened_node
from vigichem.errors import InvalidInput, VigichemError

__all__ = ["register"]


def _moment(text: str | None, name: str) -> dt.datetime | None:
    """A date (midnight UTC) or an ISO 8601 date-time with offset."""
    if text is None:
        return None
    try:
        if len(text) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), tzinfo=dt.UTC)
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise fail(f"--{name} {text!r} is not a date (YYYY-MM-DD) or an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        raise fail(f"--{name} {text!r} needs a time-zone offset")
    return moment


def _record(engine: Any, alerts: list[Any]) -> str:
    """Record the alerts as cases (``vigichem.cases.record_alerts``: grouped by subject, never twice)."""
    from vigichem.cases import record_alerts

    return f"recorded: {record_alerts(engine, alerts)}"


def _print_alerts(console: Console, alerts: list[Any]) -> None:
    table = Table(title=f"{len(alerts)} alerts")
    for column in ("typology", "detail", "severity", "scope", "subject", "explanation"):
        table.add_column(column, overflow="fold")
    for alert in alerts:
        table.add_row(
            alert.typology,
            alert.detail or "",
            str(alert.severity),
            str(alert.scope),
            f"{alert.subject_type} {alert.subject_id}",
            alert.explanation,
        )
    console.print(table)


def detect_command(
    since: Annotated[
        str | None, typer.Option(help="judge events from this date (YYYY-MM-DD or ISO 8601)")
    ] = None,
    until: Annotated[str | None, typer.Option(help="stop after this moment")] = None,
    replay: Annotated[
        Path | None, typer.Option(help="capture and judge a directory of EPCIS documents (streaming)")
    ] = None,
    jurisdiction: Annotated[str, typer.Option(help="jurisdiction whose rule parameters apply")] = "EU",
    rule: Annotated[list[str] | None, typer.Option(help="run only this rule (repeatable)")] = None,
    record: Annotated[bool, typer.Option(help="record the alerts as cases (vigichem.cases)")] = False,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Run the detection rules over the ledger's history (--since) or documents as captured (--replay)."""
    from vigichem.detect.engine import detect_history
    from vigichem.detect.replay import replay_directory
    from vigichem.ledger.store import LedgerStore

    if (since is None) == (replay is None):
        raise fail("give exactly one of --since DATE (history) and --replay DIR (streaming)")
    start, end = _moment(since, "since"), _moment(until, "until")
    with opened_node() as node:
        try:
            if replay is not None:
                store = LedgerStore(node.engine)
                report = replay_directory(store, replay, jurisdiction=jurisdiction, record=record)
            else:
                assert start is not None
                report = detect_history(node.engine, start, jurisdiction=jurisdiction, until=end, only=rule)
            # A replay records as it goes; a history run records its alerts at the end.
            note = _record(node.engine, report.alerts) if record else None
        except VigichemError as error:
            raise fail(error.message) from None
    if output is OutputFormat.json:
        payload = report.to_dict()
        if note:
            payload["recorded"] = note
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    console = Console()
    _print_alerts(console, report.alerts)
    console.print(f"{report.events_seen} events judged, {len(report.skipped)} skipped")
    for skipped in report.skipped[:20]:
        console.print(
            f"  skipped {skipped.hash_id}: {skipped.reason}" + (f" ({skipped.rule})" if skipped.rule else "")
        )
    if note:
        console.print(note)


def decide_command(
    quantity: Annotated[float, typer.Option(help="quantity sold (> 0)")],
    product: Annotated[str | None, typer.Option(help="registered product id or GTIN")] = None,
    composition: Annotated[
        str | None, typer.Option(help="mixture, e.g. 'hydrogen peroxide 30%; water 70%'")
    ] = None,
    unit: Annotated[str, typer.Option(help="UN/ECE Rec 20 unit code (KGM, LTR, GRM...)")] = "KGM",
    customer_type: Annotated[str, typer.Option(help="private, farm, pool, laboratory, ...")] = "private",
    party: Annotated[str | None, typer.Option(help="buyer's pseudonymous party reference")] = None,
    payment: Annotated[str | None, typer.Option(help="cash, card, bank_transfer, ...")] = None,
    id_verified: Annotated[bool | None, typer.Option(help="the buyer showed an identity document")] = None,
    delivery_type: Annotated[
        str | None, typer.Option(help="counter, business_address, private_address, po_box")
    ] = None,
    delivery_ref: Annotated[str | None, typer.Option(help="keyed reference of the delivery address")] = None,
    stated_use: Annotated[str | None, typer.Option(help="the end use the buyer stated")] = None,
    licence: Annotated[str | None, typer.Option(help="licence reference the buyer presented")] = None,
    site: Annotated[str | None, typer.Option(help="selling site (location URI)")] = None,
    time: Annotated[str | None, typer.Option(help="moment of the sale (default now)")] = None,
    jurisdiction: Annotated[str, typer.Option(help="jurisdiction whose law applies")] = "EU",
    no_history: Annotated[bool, typer.Option("--no-history", help="decide without a node's ledger")] = False,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Decide on a proposed sale: allow, allow_and_report, licence_required or refuse, with the reasons."""
    from vigichem.detect.decide import Decider, parse_proposed_sale

    raw = {
        "product": product,
        "composition": composition,
        "quantity": quantity,
        "unit": unit,
        "customer_type": customer_type,
        "party_ref": party,
        "payment": payment,
        "id_verified": id_verified,
        "delivery_type": delivery_type,
        "delivery_ref": delivery_ref,
        "stated_use": stated_use,
        "licence": licence,
        "site": site,
        "time": time,
        "jurisdiction": jurisdiction,
    }
    try:
        sale = parse_proposed_sale({k: v for k, v in raw.items() if v is not None})
        if no_history:
            decision = Decider(None).decide(sale)
        else:
            with opened_node() as node:
                decision = Decider(node.engine).decide(sale)
    except VigichemError as error:
        raise fail(error.message) from None
    if output is OutputFormat.json:
        typer.echo(json.dumps(decision.to_dict(), ensure_ascii=False, indent=2))
        return
    console = Console()
    console.print(f"[bold]{decision.outcome}[/bold]")
    for number, reason in enumerate(decision.reasons, start=1):
        console.print(f"{number}. {escape(f'[{reason.outcome}]')} {escape(reason.text)}")
        console.print(f"   basis: {escape(reason.basis)}")


def evaluate_command(
    labels: Annotated[Path, typer.Option(help="labels.jsonl of a simulator run")],
    alerts: Annotated[
        Path | None, typer.Option(help="alerts JSON from 'detect --format json' (default: run detect now)")
    ] = None,
    jurisdiction: Annotated[str, typer.Option(help="jurisdiction of the detection run")] = "EU",
    output: FormatOption = OutputFormat.table,
) -> None:
    """Compare alerts with planted cases: precision and recall per typology, time to alert."""
    from vigichem.detect.evaluate import evaluate, load_labels
    from vigichem.detect.models import Alert

    try:
        planted = load_labels(labels)
        if alerts is not None:
            try:
                payload = json.loads(alerts.read_text(encoding="utf-8"))
                found = [Alert.from_dict(a) for a in payload["alerts"]]
            except (OSError, ValueError, KeyError, TypeError) as error:
                raise InvalidInput(f"cannot read alerts from {str(alerts)!r}: {error}") from None
        else:
            found = _detect_all(jurisdiction)
    except VigichemError as error:
        raise fail(error.message) from None
    result = evaluate(found, planted)
    if output is OutputFormat.json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return
    table = Table(title="detection quality")
    for column in ("typology", "cases", "detected", "alerts", "recall", "precision", "median delay (h)"):
        table.add_column(column, justify="left" if column == "typology" else "right")
    for score in [*result.typologies, result.overall]:
        data = score.to_dict()
        table.add_row(
            score.typology,
            str(score.cases),
            str(score.detected),
            str(score.alerts),
            "-" if score.recall is None else f"{score.recall:.3f}",
            "-" if score.precision is None else f"{score.precision:.3f}",
            "-" if data["medianDelayHours"] is None else f"{data['medianDelayHours']:.1f}",
        )
    console = Console()
    console.print(table)
    if result.missed:
        console.print(f"missed cases: {', '.join(result.missed)}")


def _detect_all(jurisdiction: str) -> list[Any]:
    """Run detection over the node's whole ledger."""
    from sqlalchemy import func, select

    from vigichem.detect.engine import detect_history
    from vigichem.ledger.db import events

    with opened_node() as node:
        with node.engine.connect() as connection:
            first = connection.execute(select(func.min(events.c.event_time))).scalar()
        if first is None:
            raise InvalidInput("the ledger holds no events to judge")
        start = first.replace(tzinfo=dt.UTC) if first.tzinfo is None else first
        return detect_history(node.engine, start, jurisdiction=jurisdiction).alerts


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `vigichem` app."""
    app.command("detect")(detect_command)
    app.command("decide")(decide_command)
    app.command("evaluate")(evaluate_command)
