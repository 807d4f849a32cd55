"""The ``vigichem`` command. Each domain registers its commands from its own module."""

from __future__ import annotations

import typer

from vigichem import __version__
from vigichem.cli import (
    accounts,
    cases,
    demo,
    demo_screening,
    detect,
    inventory,
    ledger,
    screen,
    serve,
    simulate,
)

app = typer.Typer(
    name="vigichem",
    help="Chemical security along the supply chain: screen, record, detect, decide, share.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Chemical security along the supply chain: screen, record, detect, decide, share."""


for _module in (screen, ledger, inventory, simulate, detect, cases, accounts, serve, demo, demo_screening):
    _module.register(app)


@app.command()
def version() -> None:
    """Print vigichem's version."""
    typer.echo(__version__)


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["app", "main"]
