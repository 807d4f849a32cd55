"""CLI commands ``vigichem simulate`` (a synthetic supply chain with planted, labelled cases) and
``vigichem load-parties`` (its fake parties into the node's vault).

Exit codes: 0 success; 2 when an option is unusable (bad days, scale or date, a directory that already
holds a run).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from vigichem.errors import VigichemError

__all__ = ["register"]

EXIT_UNUSABLE = 2


def _parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)") from None


def register(app: typer.Typer) -> None:
    """Add ``simulate`` to the ``vigichem`` app."""

    @app.command()
    def simulate(
        seed: Annotated[int, typer.Option(help="random seed: the same seed gives byte-identical output")],
        days: Annotated[int, typer.Option(help="number of simulated days (1-3660)")],
        out: Annotated[Path, typer.Option(help="output directory (created; must not hold a run)")],
        scale: Annotated[float, typer.Option(help="population multiplier (1: ~60 events/day)")] = 1.0,
        start: Annotated[str, typer.Option(help="first simulated day (YYYY-MM-DD)")] = "2023-01-02",
        jurisdiction: Annotated[
            str, typer.Option(help="jurisdiction of the designer-precursor check")
        ] = "FR",
        events_per_document: Annotated[int, typer.Option(help="events per EPCIS document")] = 1000,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
    ) -> None:
        """Simulate a national supply chain of chemicals with planted suspicious cases (all data fake)."""
        from vigichem.sim import SimConfig
        from vigichem.sim import simulate as run
        from vigichem.sim.writer import check_output_dir

        console = Console(stderr=True)
        try:
            check_output_dir(out)
            config = SimConfig(
                seed=seed,
                days=days,
                start=_parse_date(start),
                scale=scale,
                jurisdiction=jurisdiction.upper(),
                events_per_document=events_per_document,
            )
            with Progress(
                TextColumn("simulating"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("days"),
                TimeElapsedColumn(),
                console=console,
                disable=quiet,
            ) as progress:
                task = progress.add_task("days", total=days)
                manifest, labels = run(config, out, lambda done, _: progress.update(task, completed=done))
        except VigichemError as error:
            typer.echo(f"error: {error.message}", err=True)
            raise typer.Exit(EXIT_UNUSABLE) from None
        typer.echo(
            f"{manifest.events} events in {manifest.documents} documents, {manifest.parties} fake parties, "
            f"{len(labels)} planted cases -> {out}"
        )
        for typology, count in sorted(manifest.cases.items()):
            typer.echo(f"  {typology}: {count}")
        for typology, reason in sorted(manifest.not_planted.items()):
            typer.echo(f"  {typology}: not planted ({reason})")

    @app.command("load-parties")
    def load_parties_command(
        file: Annotated[Path, typer.Argument(help="parties.jsonl of a simulation run")],
        actor: Annotated[
            str, typer.Option(help="who loads them (written to the vault access log)")
        ] = "simulation",
    ) -> None:
        """Register a simulation's fake parties in the node's vault under the references its events carry."""
        from vigichem.ledger.node import load_node
        from vigichem.settings import get_settings
        from vigichem.sim.vault_load import load_parties

        try:
            node = load_node(get_settings(), require_key=False)
        except VigichemError as error:
            typer.echo(f"error: {error.message}", err=True)
            raise typer.Exit(EXIT_UNUSABLE) from None
        try:
            count = load_parties(node.engine, file, actor=actor)
        except VigichemError as error:
            typer.echo(f"error: {error.message}", err=True)
            raise typer.Exit(EXIT_UNUSABLE) from None
        finally:
            node.close()
        typer.echo(f"{count} fake parties registered in the vault")
