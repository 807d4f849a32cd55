"""CLI commands of the inventory side of the ledger: balance, import-csv, erase-party, masterdata load/show.

The node is the one the settings name (``VIGICHEM_DATA_DIR``, ``VIGICHEM_DATABASE_URL``); create it with
``vigichem init``. Exit codes: 0 success; 2 when input is unusable (a rejected file, a bad option, no node,
an unknown party).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from vigichem.cli.common import EXIT_UNUSABLE, FormatOption, OutputFormat, fail, opened_node
from vigichem.errors import VigichemError
from vigichem.ledger.balance import DEFAULT_TRANSIT_DAYS, compute_balance
from vigichem.ledger.balance_models import BalanceReport
from vigichem.ledger.csv_import import import_csv
from vigichem.ledger.masterdata import MasterData
from vigichem.ledger.vault import Vault

__all__ = ["register"]


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:,.3f}".rstrip("0").rstrip(".")


def _print_balance(report: BalanceReport) -> None:
    console = Console()
    lots = Table(title=f"Balance per site × product × lot (as of {report.as_of:%Y-%m-%d %H:%M} UTC)")
    for column in ("site", "product", "lot", "unit", "in", "out", "consumed", "destroyed", "expected"):
        lots.add_column(
            column, justify="right" if column not in ("site", "product", "lot", "unit") else "left"
        )
    lots.add_column("counted", justify="right")
    lots.add_column("discrepancy", justify="right")
    for row in report.lots:
        m = row.movements
        lots.add_row(
            row.site_id or row.site,
            row.product_id or row.product_key or row.epc_class,
            row.lot or "",
            row.unit,
            _number(m.quantity_in),
            _number(m.quantity_out),
            _number(m.consumed),
            _number(m.destroyed),
            _number(m.expected),
            _number(m.counted),
            _number(m.discrepancy),
        )
    console.print(lots)
    substances = Table(title="Balance per site × substance (kg of substance)")
    for column in (
        "site",
        "substance",
        "in",
        "out",
        "consumed",
        "destroyed",
        "expected",
        "counted",
        "discrepancy",
    ):
        substances.add_column(column, justify="left" if column in ("site", "substance") else "right")
    for srow in report.substances:
        m = srow.movements
        label = f"{srow.name} ({srow.substance})" if srow.name else srow.substance
        substances.add_row(
            srow.site_id or srow.site,
            label,
            _number(m.quantity_in),
            _number(m.quantity_out),
            _number(m.consumed),
            _number(m.destroyed),
            _number(m.expected),
            _number(m.counted),
            _number(m.discrepancy),
        )
    console.print(substances)
    transit = Table(title=f"Transit (not received within {report.transit_days:g} days, quantity mismatches)")
    for column in ("issue", "shipped at", "from", "to", "epcClass", "shipped", "received", "unit"):
        transit.add_column(column)
    for issue in report.transit:
        transit.add_row(
            issue.kind,
            f"{issue.shipped_at:%Y-%m-%d}",
            issue.origin or "",
            issue.destination,
            issue.epc_class,
            _number(issue.shipped_quantity),
            _number(issue.received_quantity),
            issue.unit,
        )
    console.print(transit)
    if report.cwc:
        cwc = Table(title="CWC declaration aggregates (kg per calendar year)")
        for column in ("facility", "year", "chemical", "schedule", "produced", "processed", "consumed"):
            cwc.add_column(column)
        for column in ("imported", "exported", "declarable"):
            cwc.add_column(column)
        for agg in report.cwc:
            exceeded = [f"{t.activity} > {_number(t.value)} {t.unit}" for t in agg.thresholds if t.exceeded]
            cwc.add_row(
                agg.site_id or agg.site,
                str(agg.year),
                f"{agg.name or ''} ({agg.substance})",
                f"{agg.schedule} {agg.entry}",
                _number(agg.produced),
                _number(agg.processed),
                _number(agg.consumed),
                _number(agg.imported),
                _number(agg.exported),
                "; ".join(exceeded) if exceeded else "no",
            )
        console.print(cwc)
    for note in report.notes:
        console.print(f"note: {note}", highlight=False, markup=False)
    if report.excluded_events:
        console.print(f"{report.excluded_events} event(s) withdrawn by error declarations were left out.")


def balance_command(
    site: Annotated[str | None, typer.Option(help="Site id, GLN or location URI.")] = None,
    product: Annotated[str | None, typer.Option(help="Product id or GTIN.")] = None,
    substance: Annotated[str | None, typer.Option(help="Substance CAS number or name.")] = None,
    transit_days: Annotated[
        float, typer.Option(help="Days after which an unreceived shipment is reported.", min=0)
    ] = DEFAULT_TRANSIT_DAYS,
    year: Annotated[int | None, typer.Option(help="Also the CWC aggregates of this calendar year.")] = None,
    as_of: Annotated[
        str | None, typer.Option(help="Ignore events after this ISO 8601 time (default: now).")
    ] = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Mass balance per site × product × lot and per substance, transit issues, CWC aggregates."""
    moment = None
    if as_of is not None:
        try:
            moment = dt.datetime.fromisoformat(as_of)
        except ValueError:
            raise fail(f"--as-of {as_of!r} is not an ISO 8601 date-time") from None
        if moment.tzinfo is None:
            raise fail(f"--as-of {as_of!r} needs a time-zone offset (e.g. 2026-12-31T23:59:59+00:00)")
    if year is not None and not 1997 <= year <= 9999:
        raise fail(f"--year {year} is outside 1997 (entry into force of the CWC) to 9999")
    with opened_node() as node:
        try:
            report = compute_balance(
                node.engine,
                site=site,
                product=product,
                substance=substance,
                transit_days=transit_days,
                year=year,
                as_of=moment,
            )
        except VigichemError as error:
            raise fail(error.message, error.details) from None
    if output is OutputFormat.json:
        typer.echo(json.dumps(report.as_dict(), default=str))
    else:
        _print_balance(report)


def import_csv_command(
    file: Annotated[Path, typer.Argument(help="CSV file in the vigichem column template (docs/events.md).")],
    output: FormatOption = OutputFormat.table,
) -> None:
    """Import movements from a CSV file as EPCIS events (all rows or nothing)."""
    with opened_node(require_key=True) as node:
        try:
            result = import_csv(node.engine, file, signer=node.signer)
        except VigichemError as error:
            if output is OutputFormat.json:
                typer.echo(json.dumps({"file": str(file), "error": error.to_dict()}))
                raise typer.Exit(EXIT_UNUSABLE) from None
            raise fail(error.message, error.details) from None
    if output is OutputFormat.json:
        typer.echo(json.dumps({"file": str(file), **result.to_dict()}))
    else:
        typer.echo(
            f"ok {file}: {len(result.new)} new event(s), {len(result.duplicates)} duplicate(s), "
            f"log size {result.tree_size}"
        )


def erase_party_command(
    ref: Annotated[str, typer.Argument(help="The party's pseudonymous reference.")],
    reason: Annotated[str, typer.Option(help="Why (end of retention period, court order…).")],
    actor: Annotated[str, typer.Option(help="Who erases (recorded in the access log).")] = "cli",
    override_retention: Annotated[
        bool, typer.Option(help="Erase before the end of the retention period (say why in --reason).")
    ] = False,
) -> None:
    """Erase a party's personal data from the vault, leaving a tombstone; the ledger still verifies."""
    with opened_node() as node:
        try:
            record = Vault(node.engine).erase_party(
                ref, reason, actor=actor, override_retention=override_retention
            )
        except VigichemError as error:
            raise fail(error.message, error.details) from None
    typer.echo(f"erased {record.ref} at {record.erased_at:%Y-%m-%d %H:%M:%S} UTC ({record.erasure_reason})")


masterdata_app = typer.Typer(help="Organisations, sites, products (screened) and lots.", no_args_is_help=True)


@masterdata_app.command("load")
def masterdata_load_command(
    file: Annotated[Path, typer.Argument(help="YAML or JSON master-data file (docs/events.md).")],
    jurisdiction: Annotated[
        str | None, typer.Option(help="Screen products for this jurisdiction (default: all).")
    ] = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Register everything in a master-data file (all or nothing); products are screened."""
    with opened_node() as node:
        try:
            report = MasterData(node.engine).load(file, jurisdiction=jurisdiction)
        except VigichemError as error:
            raise fail(error.message, error.details) from None
    if output is OutputFormat.json:
        typer.echo(report.model_dump_json())
        return
    typer.echo(
        f"ok {file}: {report.organisations} organisation(s), {report.sites} site(s), "
        f"{report.products} product(s), {report.lots} lot(s)"
    )
    if report.controlled_products:
        typer.echo(f"controlled products: {', '.join(report.controlled_products)}")


@masterdata_app.command("show")
def masterdata_show_command(output: FormatOption = OutputFormat.table) -> None:
    """Show the registered sites and products with their screening findings."""
    with opened_node() as node:
        masterdata = MasterData(node.engine)
        sites = masterdata.sites()
        products = masterdata.products()
    if output is OutputFormat.json:
        payload = {"sites": sites, "products": [p.model_dump(mode="json") for p in products]}
        typer.echo(json.dumps(payload, default=str))
        return
    console = Console()
    site_table = Table(title="Sites")
    for column in ("id", "organisation", "country", "location"):
        site_table.add_column(column)
    for site in sites:
        site_table.add_row(site["id"], site["organisation_id"], site["country"], site["location_uri"])
    console.print(site_table)
    product_table = Table(title="Products")
    for column in ("id", "GTIN", "component", "% w/w", "findings"):
        product_table.add_column(column)
    for product in products:
        for component in product.components or ():
            findings = "; ".join(f"{f.list} {f.entry} ({f.status})" for f in component.findings)
            product_table.add_row(
                product.id,
                product.gtin or "",
                component.name or component.substance,
                f"{component.percent:g}",
                findings or "-",
            )
    console.print(product_table)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `vigichem` app."""
    app.command("balance")(balance_command)
    app.command("import-csv")(import_csv_command)
    app.command("erase-party")(erase_party_command)
    app.add_typer(masterdata_app, name="masterdata")
