"""CLI command ``vigichem demo`` (``make demo``): build a demo node, print its logins, serve it.

The node is a simulated year of a national supply chain (all data fake) captured through the real capture
path, with detection run and cases opened (:func:`vigichem.demo.build_demo_node`). A previous demo node in the
same directory is replaced; any other non-empty directory is refused (exit 2).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from vigichem.cli.common import fail
from vigichem.cli.serve import HostOption, PortOption, check_port, run_server
from vigichem.errors import VigichemError

if TYPE_CHECKING:
    from vigichem.demo import BuildProgress, DemoNode

__all__ = ["register"]

STEP_LABELS = {
    "simulate": "simulating days",
    "capture": "capturing documents",
    "detect": "running detection",
    "accounts": "creating accounts",
}


class _Bars:
    """One progress bar per build step, added as the step starts."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, report: BuildProgress) -> None:
        task = self.tasks.get(report.step)
        if task is None:
            label = STEP_LABELS.get(report.step, report.step)
            task = self.progress.add_task(label, total=report.total, events="")
            self.tasks[report.step] = task
        events = f"{report.events} events" if report.step == "capture" else ""
        self.progress.update(task, completed=report.done, total=report.total, events=events)


def _print_summary(console: Console, demo: DemoNode, url: str | None) -> None:
    manifest = demo.manifest
    console.print(
        f"\n[bold]Demo node ready[/bold] in {demo.data_dir} — ALL DATA IS FAKE "
        f"({manifest.days} simulated days from {manifest.start}, seed {manifest.seed})",
        highlight=False,
    )
    console.print(
        f"{demo.events_captured} events captured, {demo.duplicates} duplicates, {demo.alerts} alerts, "
        f"{demo.cases_opened} cases opened",
        highlight=False,
    )
    console.print(
        "timings: " + ", ".join(f"{t.step} {t.seconds:.1f} s" for t in demo.timings), highlight=False
    )
    table = Table(title="logins (also in demo-logins.txt, mode 0600)")
    # Logins and passwords are never folded, so that they can be copied from the terminal as they are.
    table.add_column("username", no_wrap=True, min_width=16)
    table.add_column("password", no_wrap=True, min_width=16)
    table.add_column("role", no_wrap=True)
    table.add_column("organisation", no_wrap=True)
    # In a narrow terminal the explanations would fold every row; the logins file keeps them.
    explain = console.width >= 140
    if explain:
        table.add_column("what for", overflow="fold")
    for account in demo.accounts:
        row = [account.username, account.password, str(account.role), account.organisation or "-"]
        table.add_row(*row, *([account.description] if explain else []))
    console.print(table)
    if url is not None:
        console.print(f"Open [bold]{url}[/bold] (Ctrl-C stops the node).", highlight=False)
    else:
        console.print(f"Serve it with: vigichem serve --data-dir {demo.data_dir}", highlight=False)


def demo_command(
    data_dir: Annotated[
        Path, typer.Option(help="where the demo node lives (a previous demo there is replaced)")
    ] = Path("var/demo"),
    seed: Annotated[int, typer.Option(help="simulation seed (the same seed gives the same data)")] = 7,
    days: Annotated[int, typer.Option(help="simulated days (1-3660)", min=1, max=3660)] = 365,
    start: Annotated[str | None, typer.Option(help="first simulated day (YYYY-MM-DD)")] = None,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="build and print the logins only")] = False,
) -> None:
    """Build a demo node (a simulated year, all data fake), print its logins and serve it."""
    from vigichem.demo import build_demo_node

    first_day = None
    if start is not None:
        try:
            first_day = dt.date.fromisoformat(start)
        except ValueError:
            raise fail(f"--start {start!r} is not a date (YYYY-MM-DD)") from None
    if not no_serve:
        check_port(host, port)  # before the build, not after it
    console = Console(highlight=False)
    try:
        with Progress(
            TextColumn("{task.description:<20}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[events]}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
        ) as progress:
            demo = build_demo_node(data_dir, seed=seed, days=days, start=first_day, progress=_Bars(progress))
    except VigichemError as error:
        raise fail(error.message) from None
    url = None if no_serve else f"http://{host}:{port}"
    _print_summary(console, demo, url)
    if not no_serve:
        run_server(demo.settings, host, port)


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the ``vigichem`` app."""
    app.command("demo")(demo_command)
